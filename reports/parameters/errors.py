"""Errors of the parameter engine.

Every error names a field (`start_date`, `asins[3]`, `period.end`, or for a broken definition
`parameter_definitions[2].type`), a stable machine code and a message for people. The
attributes match `recomamp.errors.FieldError`, so the API layer can pass them through as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class ParameterEngineError(Exception):
    """Base of every error this package raises on purpose."""

    status_code = 400


class ParameterError(ParameterEngineError):
    """One problem with one field: a user's value, a definition, or a template."""

    def __init__(self, field: str, code: str, message: str):
        super().__init__(message)
        self.field = field
        self.code = code
        self.message = message

    @property
    def errors(self) -> list[ParameterError]:
        return [self]

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParameterError):
            return NotImplemented
        return (self.field, self.code, self.message) == (other.field, other.code, other.message)

    def __hash__(self) -> int:
        return hash((self.field, self.code, self.message))

    def __repr__(self) -> str:
        return f"ParameterError({self.field!r}, {self.code!r}, {self.message!r})"

    def __str__(self) -> str:
        return self.message


class _ErrorList(ParameterEngineError):
    def __init__(self, errors: Iterable[ParameterError]):
        self.errors: list[ParameterError] = list(errors)
        super().__init__("; ".join(e.message for e in self.errors) or "invalid")

    def as_dicts(self) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.errors]

    def by_field(self) -> dict[str, list[ParameterError]]:
        grouped: dict[str, list[ParameterError]] = {}
        for error in self.errors:
            grouped.setdefault(error.field, []).append(error)
        return grouped

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.errors!r})"


class ParameterErrors(_ErrorList):
    """All problems with the values a user gave, collected in one go."""


class DefinitionError(_ErrorList):
    """The template's `parameter_definitions` are themselves wrong (an author's mistake)."""


class TemplateError(_ErrorList):
    """The SQL template cannot be rendered safely: unknown placeholder, unsupported context,
    or SQL that Spark and Presto would lex differently. `issues` holds the detailed findings."""

    def __init__(self, issues: Iterable[Any]):
        self.issues = list(issues)
        super().__init__(issue.as_error() for issue in self.issues)
