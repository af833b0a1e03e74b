#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys

#: Commands that read only the code and the migrations: they sign, encrypt and decrypt nothing,
#: so they run without production keys (a developer's or a CI job's `makemigrations --check`).
KEYLESS_COMMANDS = {"makemigrations", "sqlmigrate", "spectacular", "help", "version"}


def main():
    """Run administrative tasks."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recomamp.settings")
    if len(sys.argv) > 1 and sys.argv[1] in KEYLESS_COMMANDS:
        os.environ["RECOMAMP_KEYLESS_COMMAND"] = "1"
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise ImportError(
            "Couldn't import Django. Are you sure it's installed and "
            "available on your PYTHONPATH environment variable? Did you "
            "forget to activate a virtual environment?"
        ) from exc
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.INSTALLED_APPS  # noqa: B018 (reading it loads the settings)
    except ImproperlyConfigured as exc:
        # Django's command runner would swallow this and fail later with an unrelated
        # "AppRegistryNotReady"; say what is wrong with the settings instead.
        sys.exit(f"manage.py: {exc}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
