"""OpenAPI conventions shared by every app: the error envelope and the error codes per operation.

Every operation documents the errors it can answer, each with the one error envelope
(`{"errors": [{"field", "code", "message"}]}`, recomamp/errors.py). `AutoSchema` adds the
ones that follow from the operation's shape:

- 400 when it takes parameters or a body; 413 and 415 when it takes a body;
- 401 and 403 unless it is open to anyone without authentication;
- 404 with a path parameter, on a paginated list, or with a body (it may name an object);
- 409 on writes (a constraint may catch a race); 429 when the view has DRF throttles.

An operation that can answer anything else (a service raising `RateLimited` or `Conflict`
on a read, ...) says so: `@extend_schema(responses={200: X, **error_responses(429)})`.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny

ERROR_DESCRIPTIONS = {
    400: "Invalid input; each error names its field (a dotted path).",
    401: "Not signed in (no or an invalid token).",
    403: "Signed in, but not allowed to do this on this instance.",
    404: "No such object on your instances (or no such page).",
    409: "Conflicts with the object's current state or with other data.",
    413: "The request body is larger than the limit.",
    415: "The request body is not JSON (or another accepted media type).",
    429: "Too many requests; `Retry-After` says when to try again.",
}

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(
        help_text="The field as a dotted path (`parameters.start_date`), or `non_field_errors`."
    )
    code = serializers.CharField(help_text="A stable, machine-readable code (`required`, ...).")
    message = serializers.CharField(help_text="What is wrong, for a person.")


class ErrorResponseSerializer(serializers.Serializer):
    """The one error envelope of the API."""

    errors = ErrorItemSerializer(many=True)


def error_response(code: int, description: str | None = None) -> OpenApiResponse:
    return OpenApiResponse(
        response=ErrorResponseSerializer, description=description or ERROR_DESCRIPTIONS[code]
    )


def error_responses(*codes: int, **descriptions: str) -> dict:
    """`{(code, "application/json"): OpenApiResponse}` to merge into `extend_schema(responses=)`.

    `descriptions` override the default text per code: `error_responses(409, d409="...")`.
    """
    return {
        (code, "application/json"): error_response(code, descriptions.get(f"d{code}"))
        for code in codes
    }


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, plus the error responses each operation can give."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for code in self._error_codes(operation):
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    error_response(code), str(code), media_types=["application/json"]
                )
        return operation

    def _error_codes(self, operation: dict) -> list[int]:
        parameters = operation.get("parameters") or []
        has_body = "requestBody" in operation
        codes = []
        if parameters or has_body:
            codes.append(400)
        if not self._open_to_anyone():
            codes += [401, 403]
        paginated = any(p.get("name") == "page" and p.get("in") == "query" for p in parameters)
        if paginated or has_body or any(p.get("in") == "path" for p in parameters):
            codes.append(404)
        if self.method in WRITE_METHODS:
            codes.append(409)
        if has_body:
            codes += [413, 415]
        if self.view.get_throttles():
            codes.append(429)
        return codes

    def _open_to_anyone(self) -> bool:
        """No authentication is tried and every permission allows anyone: never 401/403."""
        if self.view.get_authenticators():
            return False  # a bad token or a CSRF failure is refused even where anyone may go
        return all(isinstance(p, AllowAny) for p in self.view.get_permissions())
