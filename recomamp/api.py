"""API plumbing shared by every app: pagination and the one error format.

Every error response is `{"errors": [{"field": ..., "code": ..., "message": ...}]}` with a 4xx
status, whatever raised it: DRF validation, a domain exception from a service, a database
constraint, or a malformed request.
"""

import logging
from datetime import UTC

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404
from django_filters import rest_framework as filters
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from recomamp.errors import DomainError, FieldError, RateLimited

logger = logging.getLogger(__name__)


class UTCDateTimeFilter(filters.IsoDateTimeFilter):
    """An ISO 8601 filter that compares in UTC, whatever offset the client sent."""

    def filter(self, qs, value):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return super().filter(qs, value)


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


def _flatten(detail, field: str = "non_field_errors") -> list[FieldError]:
    """DRF error details (nested dicts and lists) as a flat list of field errors."""
    if isinstance(detail, dict):
        errors = []
        for key, value in detail.items():
            name = key if field == "non_field_errors" else f"{field}.{key}"
            errors.extend(_flatten(value, name))
        return errors
    if isinstance(detail, list):
        errors = []
        for index, item in enumerate(detail):
            if isinstance(item, dict):
                errors.extend(_flatten(item, f"{field}[{index}]"))
            else:
                errors.extend(_flatten(item, field))
        return errors
    code = getattr(detail, "code", None) or "invalid"
    return [FieldError(field, code, str(detail))]


def error_response(errors: list[FieldError], status_code: int, headers=None) -> Response:
    body = {"errors": [{"field": e.field, "code": e.code, "message": e.message} for e in errors]}
    return Response(body, status=status_code, headers=headers)


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return error_response(exc.errors, exc.status_code, headers)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return error_response(_flatten(detail), status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DataError):
        # A value the database cannot hold (a NUL character, an out-of-range number) that
        # reached a lookup: bad input, not a server error.
        logger.info("Data error turned into 400: %s", exc)
        return error_response(
            [
                FieldError(
                    "non_field_errors",
                    "invalid",
                    "The request holds a value that cannot be stored or searched for "
                    "(for example a NUL character).",
                )
            ],
            status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, IntegrityError):
        # A constraint caught what validation did not (usually a race): a conflict, not a 500.
        logger.info("Integrity error turned into 409: %s", exc)
        return error_response(
            [
                FieldError(
                    "non_field_errors", "conflict", "This change conflicts with existing data."
                )
            ],
            status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        errors = [
            FieldError("non_field_errors", getattr(exc, "default_code", "error"), str(detail))
        ]
    return error_response(errors, response.status_code, headers=_retry_headers(response))


def _retry_headers(response: Response) -> dict[str, str] | None:
    headers = {}
    for name in ("Retry-After", "WWW-Authenticate", "Allow"):
        if name in response:
            headers[name] = response[name]
    return headers or None
