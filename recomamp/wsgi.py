"""
WSGI config for recomamp project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recomamp.settings")

application = get_wsgi_application()

# A request allocates thousands of short-lived objects: at Python's default threshold (700)
# the cyclic collector ran every few requests and now and then walked the whole heap (up to a
# tenth of a run request's CPU). The objects loaded at start-up are frozen out of collections,
# and young objects are collected every 20,000 allocations instead.
gc.freeze()
gc.set_threshold(20_000, 10, 10)
