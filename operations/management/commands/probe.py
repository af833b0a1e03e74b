"""Container healthchecks: `manage.py probe` runs the readiness checks in this process (exit 1
when one fails, naming it); `manage.py probe --url /healthz` asks the local web server, with a
Host header it accepts."""

import json
import os
import sys
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Exit 0 when ready (or when --url answers 2xx), 1 otherwise."

    def add_arguments(self, parser):
        parser.add_argument("--url", help="a path on the local web server, e.g. /healthz")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def handle(self, *args, url=None, port=8000, **options):
        if url:
            host = next(
                (h.lstrip(".") for h in settings.ALLOWED_HOSTS if h not in ("*", "")), "localhost"
            )
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{url}", headers={"Host": host}
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                    ok = 200 <= response.status < 300
            except OSError as exc:
                self.stderr.write(f"{url}: {exc}")
                sys.exit(1)
            sys.exit(0 if ok else 1)

        from operations.health import run_checks

        checks = run_checks()
        failing = [name for name, result in checks.items() if result["ok"] is False]
        self.stdout.write(json.dumps({"failing": failing, "checks": checks}))
        if failing:
            sys.exit(1)
