"""Write the vega-embed bundle served to browsers, from the installed vl-convert-python, so
the browser draws with the same Vega as the server (no CDN, no build step)."""

from importlib.metadata import version
from pathlib import Path

import vl_convert
from django.core.management.base import BaseCommand

BUNDLE = Path(__file__).resolve().parents[2] / "static/dashboards/vendor/vega-embed.bundle.js"


class Command(BaseCommand):
    help = "Regenerate dashboards/static/dashboards/vendor/vega-embed.bundle.js."

    def handle(self, *args, **options):
        header = (
            f"/* vega-embed, vega-lite and vega from vl-convert-python "
            f"{version('vl-convert-python')} (vl_convert.javascript_bundle()); regenerate with: "
            f"python manage.py vendor_vega */\n"
        )
        BUNDLE.write_text(header + vl_convert.javascript_bundle())
        self.stdout.write(self.style.SUCCESS(f"Wrote {BUNDLE} ({BUNDLE.stat().st_size:,} bytes)."))
