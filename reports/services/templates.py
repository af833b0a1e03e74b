"""Writes for the template catalogue."""

from django.db import transaction

from reports.catalogue import TEMPLATES
from reports.models import QueryTemplate


@transaction.atomic
def upsert_catalogue() -> list[QueryTemplate]:
    """Create or refresh the built-in templates (idempotent)."""
    templates = []
    for spec in TEMPLATES:
        fields = {key: value for key, value in spec.items() if key != "template_id"}
        template, _ = QueryTemplate.objects.update_or_create(
            template_id=spec["template_id"], defaults=fields
        )
        templates.append(template)
    return templates
