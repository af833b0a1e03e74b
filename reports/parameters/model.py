"""The vocabulary: parameter types, the frozen definition of one parameter, a date range."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class ParameterType(StrEnum):
    DATE = "date"
    DATETIME = "datetime"
    RELATIVE_DATE = "relative_date"
    DATE_RANGE = "date_range"
    INTEGER = "integer"
    NUMBER = "number"
    PERCENTAGE = "percentage"
    STRING = "string"
    STRING_LIST = "string_list"
    ASIN_LIST = "asin_list"
    CAMPAIGN_LIST = "campaign_list"
    ENUM = "enum"
    BOOLEAN = "boolean"


LIST_TYPES = frozenset(
    {ParameterType.STRING_LIST, ParameterType.ASIN_LIST, ParameterType.CAMPAIGN_LIST}
)
NUMERIC_TYPES = frozenset({ParameterType.INTEGER, ParameterType.NUMBER, ParameterType.PERCENTAGE})
DATE_TYPES = frozenset({ParameterType.DATE, ParameterType.RELATIVE_DATE, ParameterType.DATETIME})

#: Sub-placeholders a type offers (`{{period.start}}`); None means the bare `{{name}}`.
ATTRIBUTES: dict[ParameterType, frozenset[str | None]] = {
    ParameterType.DATE_RANGE: frozenset({"start", "end"}),
    **{t: frozenset({None, "is_empty"}) for t in LIST_TYPES},
}
DEFAULT_ATTRIBUTES: frozenset[str | None] = frozenset({None})

DEFAULT_MAX_LENGTH = 1_000  # a `string` value
DEFAULT_MAX_ITEM_LENGTH = 256  # one item of a string_list or campaign_list
DEFAULT_MAX_ITEMS = 10_000
HARD_MAX_ITEMS = 100_000
HARD_MAX_LENGTH = 10_000
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class DateRange:
    start: date
    end: date

    @property
    def days(self) -> int:
        """Days covered, both ends included."""
        return (self.end - self.start).days + 1


def freeze(value: Any) -> Any:
    """A JSON value made immutable (lists become tuples, objects read-only mappings)."""
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict | MappingProxyType):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    return value


def thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    if isinstance(value, MappingProxyType | dict):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


@dataclass(frozen=True, slots=True)
class ParameterDefinition:
    """One typed parameter of a template, as parsed from `parameter_definitions`.

    `required` defaults to True: a placeholder with no value is an error unless the author says
    the parameter is optional. `default` is kept as given (raw, e.g. "today-14d") and validated
    like a user's value, against the `today` of each render."""

    name: str
    type: ParameterType
    label: str = ""
    description: str = ""
    required: bool = True
    default: Any = field(default=None, hash=False)
    options: tuple[str, ...] = ()
    min: int | Decimal | None = None
    max: int | Decimal | None = None
    max_items: int | None = None
    max_length: int | None = None
    max_days: int | None = None
    render_as: str | None = None

    @property
    def has_default(self) -> bool:
        return self.default is not None

    @property
    def is_list(self) -> bool:
        return self.type in LIST_TYPES

    @property
    def attributes(self) -> frozenset[str | None]:
        return ATTRIBUTES.get(self.type, DEFAULT_ATTRIBUTES)

    def item_limit(self) -> int:
        return self.max_items if self.max_items is not None else DEFAULT_MAX_ITEMS

    def length_limit(self) -> int:
        if self.max_length is not None:
            return self.max_length
        return DEFAULT_MAX_LENGTH if self.type is ParameterType.STRING else DEFAULT_MAX_ITEM_LENGTH

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as stored on the template (only keys that carry something)."""
        data: dict[str, Any] = {"name": self.name, "type": self.type.value}
        if self.label:
            data["label"] = self.label
        if self.description:
            data["description"] = self.description
        data["required"] = self.required
        if self.default is not None:
            data["default"] = thaw(self.default)
        if self.options:
            data["options"] = list(self.options)
        for key in ("min", "max"):
            value = getattr(self, key)
            if value is not None:
                data[key] = thaw(value)
        for key in ("max_items", "max_length", "max_days", "render_as"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data
