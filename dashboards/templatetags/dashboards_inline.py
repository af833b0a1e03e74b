"""`{% inline_static "dashboards/dashboards.css" %}`: a small static file's text in the page.

The stylesheet is inlined so the first paint waits for no request: a cold load (a fresh
browser, nothing cached) would otherwise fetch it before drawing anything.
"""

from __future__ import annotations

from functools import lru_cache

from django import template
from django.conf import settings
from django.contrib.staticfiles import finders
from django.utils.safestring import mark_safe

register = template.Library()


@lru_cache(maxsize=8)
def _read(path: str) -> str:
    found = finders.find(path)
    if not found:
        raise template.TemplateSyntaxError(f"No static file {path!r} to inline.")
    with open(found, encoding="utf-8") as handle:
        return handle.read()


@register.simple_tag
def inline_static(path: str) -> str:
    text = _read.__wrapped__(path) if settings.DEBUG else _read(path)
    # Our own file, inlined between <style> tags: never user input.
    return mark_safe(text.replace("</", "<\\/"))
