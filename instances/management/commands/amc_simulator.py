"""`python manage.py amc_simulator --port N`: serve the local AMC simulator until stopped."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from recomamp.amc_simulator import cli


class Command(BaseCommand):
    help = "Serve the AMC simulator (AMC reporting API + LWA token endpoint) with demo data."

    def add_arguments(self, parser):
        var_dir = Path(getattr(settings, "VAR_DIR", Path(settings.BASE_DIR) / "var"))
        cli.add_arguments(parser, default_data_dir=var_dir / "amc_simulator")
        # The product and the simulator must agree on the LWA client.
        parser.set_defaults(
            client_id=getattr(settings, "AMC_CLIENT_ID", None) or cli.DEFAULT_CLIENT_ID,
            client_secret=getattr(settings, "AMC_CLIENT_SECRET", None) or cli.DEFAULT_CLIENT_SECRET,
        )

    def handle(self, *args, **options):
        cli.run(options, out=self.stdout)
