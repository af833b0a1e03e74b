"""Dashboard exports: PDF, PNG, CSV and Excel files built in the background, owner-only, expiring.

- `content`: what a dashboard shows, as one plain structure every renderer reads.
- `renderers/`: one module per format, pure (content in, file out).
- `services`: request, build, reuse, expire; `tasks`: the Celery side (queue `exports`).
- `api`: `POST /api/dashboards/{id}/exports/`, status and the owner-checked download.
"""
