"""API plumbing shared by every app: pagination and the one error format.

Every error response is `{"errors": [{"field": ..., "code": ..., "message": ...}]}` with a 4xx
status, whatever raised it: DRF validation, a domain exception from a service, a database
constraint, or a malformed request.
"""

import logging
from datetime import UTC

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404, JsonResponse
from django_filters import rest_framework as filters
from rest_framework import exceptions, status
from rest_framework.filters import SearchFilter
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


#: Longest `?search=` accepted: a longer term is a 400, not a slow scan.
MAX_SEARCH_LENGTH = 200


class CappedSearchFilter(SearchFilter):
    """DRF's search, refusing terms longer than MAX_SEARCH_LENGTH with a 400 naming `search`."""

    def get_search_terms(self, request):
        value = request.query_params.get(self.search_param, "")
        if len(value) > MAX_SEARCH_LENGTH:
            raise exceptions.ValidationError(
                {
                    self.search_param: exceptions.ErrorDetail(
                        f"At most {MAX_SEARCH_LENGTH} characters.", code="max_length"
                    )
                }
            )
        return super().get_search_terms(request)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["maxLength"] = MAX_SEARCH_LENGTH
        return parameters


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


def _envelope(errors: list[FieldError]) -> dict:
    return {"errors": [{"field": e.field, "code": e.code, "message": e.message} for e in errors]}


def error_response(errors: list[FieldError], status_code: int, headers=None) -> Response:
    return Response(_envelope(errors), status=status_code, headers=headers)


def _too_large() -> FieldError:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return FieldError(
        "non_field_errors", "request_too_large", f"The request body is larger than {limit} bytes."
    )


class FieldsBuiltOnce:
    """For read-only model serializers on hot paths (a run request's answer): DRF builds every
    field from the model again for each serializer; here they are built once per class and
    each serializer binds its own shallow copies."""

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built_once")
        if built is None:
            built = super().get_fields()
            cls._fields_built_once = built
        return {name: _shallow_copy(field) for name, field in built.items()}


def _shallow_copy(field):
    """copy.copy(field) without its generic protocol (a few times faster on a field)."""
    copied = type(field).__new__(type(field))
    copied.__dict__.update(field.__dict__)
    return copied


class RequestBodyLimitMiddleware:
    """API requests whose declared body is over DATA_UPLOAD_MAX_MEMORY_SIZE: 413, before any
    parser reads it (DRF's JSON parser reads the stream without Django's limit)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                return JsonResponse(_envelope([_too_large()]), status=413)
        return self.get_response(request)


def api_not_found(request, exception=None):
    """Django's 404 for a URL no route matches: the JSON envelope under /api/."""
    if request.path.startswith("/api/"):
        error = FieldError("non_field_errors", "not_found", "Not found.")
        return JsonResponse(_envelope([error]), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return error_response(exc.errors, exc.status_code, headers)
    if isinstance(exc, RequestDataTooBig):
        return error_response([_too_large()], status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
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
