"""Validating values and rendering them into a template, knowing each placeholder's context."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from .definitions import DefinitionsInput, parse_definitions
from .errors import ParameterError, ParameterErrors, TemplateError
from .model import NUMERIC_TYPES, ParameterDefinition, ParameterType, thaw
from .template import (
    CompiledTemplate,
    Context,
    Placeholder,
    Severity,
    TemplateIssue,
    compile_template,
)
from .text import short_repr
from .values import BLANK, INVALID, MISSING, blank_value, coerce, to_json

# --- definitions and values ------------------------------------------------------------------


def ensure_definitions(definitions: DefinitionsInput) -> tuple[ParameterDefinition, ...]:
    """Parsed definitions; JSON definitions (as stored on a template) are parsed once per
    distinct content and then served from a cache."""
    if isinstance(definitions, tuple) and all(
        isinstance(d, ParameterDefinition) for d in definitions
    ):
        return definitions
    if isinstance(definitions, list):
        try:
            key = json.dumps(definitions, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError):  # not plain JSON (a Decimal, a date, a definition ...)
            return parse_definitions(definitions)
        return _parse_json_definitions(key)
    return parse_definitions(definitions)


@lru_cache(maxsize=512)
def _parse_json_definitions(key: str) -> tuple[ParameterDefinition, ...]:
    return parse_definitions(json.loads(key))


def _today(today: date) -> date:
    if isinstance(today, datetime):
        return today.date()
    if not isinstance(today, date):
        raise TypeError(f"today must be a date, not {type(today).__name__}")
    return today


def _validate(
    definitions: tuple[ParameterDefinition, ...], values: Mapping[str, Any], today: date
) -> tuple[dict[str, Any], list[ParameterError]]:
    if not isinstance(values, Mapping):
        raise TypeError(f"values must be a mapping, not {type(values).__name__}")
    typed: dict[str, Any] = {}
    errors: list[ParameterError] = []
    for defn in definitions:
        name = defn.name
        before = len(errors)
        value = coerce(defn, values.get(name, MISSING), name, today, errors)
        if value is BLANK:
            if defn.has_default:
                scratch: list[ParameterError] = []
                value = coerce(defn, defn.default, name, today, scratch)
                shown = short_repr(thaw(defn.default), 60)
                for error in scratch:
                    errors.append(
                        ParameterError(
                            error.field,
                            "invalid_default",
                            f"{name}: the template's default {shown} does not work today "
                            f"({error.message}); enter a value",
                        )
                    )
            elif defn.required:
                what = "at least one item is required" if defn.is_list else "a value is required"
                errors.append(ParameterError(name, "required", f"{name}: {what}"))
                continue
            else:
                value = blank_value(defn)
        if value is INVALID or len(errors) > before:
            continue
        typed[name] = value
    known = {defn.name for defn in definitions}
    for key in values:
        if key not in known:
            errors.append(
                ParameterError(
                    str(key),
                    "unknown_parameter",
                    f"{key}: this template has no such parameter",
                )
            )
    return typed, errors


def validate_parameters(
    *, definitions: DefinitionsInput, values: Mapping[str, Any], today: date
) -> dict[str, Any]:
    """Typed values by name (defaults applied), or ParameterErrors with every problem found.

    Types: date -> date, datetime -> naive datetime (whole seconds), date_range -> DateRange,
    integer -> int, number/percentage -> Decimal (a percentage as entered: 12.5 for 12.5%),
    string/enum -> str, lists -> tuple[str, ...] (de-duplicated, order kept), boolean -> bool.
    An optional parameter left empty is None, or () for a list."""
    defs = ensure_definitions(definitions)
    typed, errors = _validate(defs, values, _today(today))
    if errors:
        raise ParameterErrors(errors)
    return typed


def snapshot_parameters(
    *, definitions: DefinitionsInput, values: Mapping[str, Any]
) -> dict[str, Any]:
    """The JSON form of typed values (from validate_parameters), for the execution record.

    Validating a snapshot again gives the same typed values, so it re-renders the same SQL."""
    defs = ensure_definitions(definitions)
    return {defn.name: to_json(defn, values[defn.name]) for defn in defs if defn.name in values}


# --- template checks -------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateCheck:
    """What check_template found. `ok` is False when render_sql would refuse the template."""

    placeholders: tuple[Placeholder, ...]
    undefined: tuple[str, ...]
    unused: tuple[str, ...]
    issues: tuple[TemplateIssue, ...]

    @property
    def errors(self) -> tuple[TemplateIssue, ...]:
        return tuple(issue for issue in self.issues if issue.is_error)

    @property
    def warnings(self) -> tuple[TemplateIssue, ...]:
        return tuple(issue for issue in self.issues if not issue.is_error)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "placeholders": [
                {"placeholder": p.key, "context": p.context.value, "line": p.line}
                for p in self.placeholders
            ],
            "undefined": list(self.undefined),
            "unused": list(self.unused),
            "issues": [issue.as_dict() for issue in self.issues],
        }


def _slot_issue(slot: Placeholder, defn: ParameterDefinition | None) -> TemplateIssue | None:
    """Why `slot` cannot be rendered with `defn` (an error), or a warning, or None."""
    where = f"line {slot.line}: {slot.text}"
    if defn is None:
        return None  # reported once per name by the caller
    if slot.context is Context.IDENTIFIER:
        return _slot_error(
            slot,
            "unsupported_context",
            f"{where} is inside double quotes or backticks; use single quotes for text",
        )
    if slot.attribute not in defn.attributes:
        if slot.attribute is None:
            attributes = sorted(defn.attributes - {None})
            allowed = " or ".join(f"{{{{{defn.name}.{a}}}}}" for a in attributes)
            return _slot_error(
                slot, "attribute_required", f"{where}: a {defn.type.value} is used as {allowed}"
            )
        return _slot_error(
            slot,
            "unknown_attribute",
            f"{where}: a {defn.type.value} has no .{slot.attribute}",
        )
    if slot.attribute == "is_empty" or defn.type is ParameterType.BOOLEAN:
        if slot.context is Context.QUOTED:
            return _slot_warning(slot, "quoted_value", f"{where} renders as text (true/false)")
        return None
    if defn.is_list:
        if slot.context is not Context.IN_LIST:
            return _slot_error(
                slot,
                "unsupported_context",
                f"{where}: a list can only be used alone inside IN (...)",
            )
        return None
    if defn.type in NUMERIC_TYPES and slot.context is Context.QUOTED:
        return _slot_warning(
            slot, "quoted_value", f"{where} is a number inside quotes: it renders as text"
        )
    return None


def _slot_error(slot: Placeholder, code: str, message: str) -> TemplateIssue:
    return TemplateIssue(code, message, Severity.ERROR, slot.name, slot.line, slot.column)


def _slot_warning(slot: Placeholder, code: str, message: str) -> TemplateIssue:
    return TemplateIssue(code, message, Severity.WARNING, slot.name, slot.line, slot.column)


@lru_cache(maxsize=512)
def _check(sql: str, definitions: tuple[ParameterDefinition, ...]) -> TemplateCheck:
    compiled = compile_template(sql)
    by_name = {defn.name: defn for defn in definitions}
    issues = list(compiled.issues)
    undefined: dict[str, None] = {}
    used: set[str] = set()
    for placeholder in compiled.placeholders:
        if placeholder.context is Context.COMMENT:
            issues.append(
                _slot_warning(
                    placeholder,
                    "placeholder_in_comment",
                    f"line {placeholder.line}: {placeholder.text} is in a comment and is left "
                    "as it is",
                )
            )
            continue
        defn = by_name.get(placeholder.name)
        if defn is None:
            if placeholder.name not in undefined:
                undefined[placeholder.name] = None
                close = difflib.get_close_matches(placeholder.name, list(by_name), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                issues.append(
                    _slot_error(
                        placeholder,
                        "undefined_placeholder",
                        f"line {placeholder.line}: {placeholder.text} has no parameter "
                        f"definition{hint}",
                    )
                )
            continue
        used.add(defn.name)
        issue = _slot_issue(placeholder, defn)
        if issue is not None:
            issues.append(issue)
    unused = tuple(defn.name for defn in definitions if defn.name not in used)
    for name in unused:
        issues.append(
            TemplateIssue(
                "unused_definition",
                f"parameter {name} is defined but the SQL never uses it",
                Severity.WARNING,
                name,
            )
        )
    return TemplateCheck(compiled.placeholders, tuple(undefined), unused, tuple(issues))


def check_template(sql: str, definitions: DefinitionsInput) -> TemplateCheck:
    """Placeholders without a definition, definitions without a placeholder, placeholders in a
    context their type cannot fill, and SQL that Spark and Presto would read differently."""
    return _check(sql, ensure_definitions(definitions))


# --- rendering -------------------------------------------------------------------------------


def _scalar(defn: ParameterDefinition, value: Any) -> tuple[str, bool]:
    """The text of a scalar value and whether it is SQL text (quoted) rather than a number."""
    kind = defn.type
    if kind in (ParameterType.DATE, ParameterType.RELATIVE_DATE, ParameterType.DATE_RANGE):
        return value.isoformat(), True
    if kind is ParameterType.DATETIME:
        return value.isoformat(timespec="seconds"), True
    if kind is ParameterType.INTEGER:
        return str(value), False
    if kind is ParameterType.NUMBER:
        return format(value, "f"), False
    if kind is ParameterType.PERCENTAGE:
        if defn.render_as == "percent":
            return format(value, "f"), False
        return format(value.scaleb(-2).normalize(), "f"), False
    return value, True  # string, enum


def render_value(defn: ParameterDefinition, slot: Placeholder, value: Any) -> str:
    """The SQL text that replaces one placeholder; `value` is typed and validated."""
    context = slot.context
    if slot.attribute == "is_empty":
        empty = not value
        if context is Context.QUOTED:
            return "true" if empty else "false"
        return "TRUE" if empty else "FALSE"
    if defn.is_list:
        if not value:
            # An optional list left empty: `col IN (NULL)` matches no row (and so does
            # `col NOT IN (NULL)`); see the package documentation for the optional-filter idiom.
            return "NULL"
        if defn.type is ParameterType.ASIN_LIST:
            return "'" + "', '".join(value) + "'"  # validated: [0-9A-Z]{10}, nothing to escape
        return ", ".join("'" + item.replace("'", "''") + "'" for item in value)
    if slot.attribute is not None and value is not None:
        value = getattr(value, slot.attribute)  # date_range .start / .end
    if value is None:
        return "" if context is Context.QUOTED else "NULL"
    if defn.type is ParameterType.BOOLEAN:
        if context is Context.QUOTED:
            return "true" if value else "false"
        return "TRUE" if value else "FALSE"
    text, is_text = _scalar(defn, value)
    if context is Context.QUOTED:
        return text.replace("'", "''") if is_text else text
    if is_text:
        return "'" + text.replace("'", "''") + "'"
    if text.startswith("-"):
        # `x -{{n}}` with n = -5 must not become `x --5`, which starts a comment.
        return "(" + text + ")"
    return text


def _fill(
    compiled: CompiledTemplate,
    by_name: Mapping[str, ParameterDefinition],
    typed: Mapping[str, Any],
    skip: frozenset[int] = frozenset(),
) -> str:
    chunks = compiled.chunks
    parts = [chunks[0]]
    for index, slot in enumerate(compiled.slots):
        if slot.start in skip or slot.name not in typed:
            parts.append(slot.text)
        else:
            parts.append(render_value(by_name[slot.name], slot, typed[slot.name]))
        parts.append(chunks[index + 1])
    return "".join(parts)


@dataclass(frozen=True)
class RenderedQuery:
    """The SQL to send to AMC and what it was rendered from.

    `parameters` is the JSON snapshot for the execution record; `values` the typed values."""

    sql: str
    parameters: dict[str, Any] = field(hash=False)
    values: dict[str, Any] = field(hash=False, repr=False)


def render_sql(
    *,
    sql: str,
    definitions: DefinitionsInput,
    values: Mapping[str, Any],
    today: date,
) -> RenderedQuery:
    """Validate `values` and render them into `sql`.

    Raises DefinitionError (broken definitions), TemplateError (a placeholder without definition,
    in an unsupported context, or SQL the dialects read differently) or ParameterErrors."""
    defs = ensure_definitions(definitions)
    check = _check(sql, defs)
    if not check.ok:
        raise TemplateError(check.errors)
    typed, errors = _validate(defs, values, _today(today))
    if errors:
        raise ParameterErrors(errors)
    by_name = {defn.name: defn for defn in defs}
    rendered = _fill(compile_template(sql), by_name, typed)
    snapshot = {defn.name: to_json(defn, typed[defn.name]) for defn in defs}
    return RenderedQuery(rendered, snapshot, typed)


@dataclass(frozen=True)
class PreviewQuery:
    """A best-effort rendering for the UI: every placeholder that can be filled is, the others
    stay as written (`{{name}}`), and everything in the way is listed."""

    sql: str
    parameters: dict[str, Any] = field(hash=False)
    errors: tuple[ParameterError, ...]
    issues: tuple[TemplateIssue, ...]

    @property
    def complete(self) -> bool:
        """True when render_sql would succeed with the same input."""
        return not self.errors and not any(issue.is_error for issue in self.issues)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sql": self.sql,
            "complete": self.complete,
            "parameters": self.parameters,
            "errors": [error.as_dict() for error in self.errors],
            "issues": [issue.as_dict() for issue in self.issues],
        }


def preview_sql(
    *,
    sql: str,
    definitions: DefinitionsInput,
    values: Mapping[str, Any],
    today: date,
) -> PreviewQuery:
    """Render what can be rendered, never raising for values or the template's SQL."""
    defs = ensure_definitions(definitions)
    check = _check(sql, defs)
    typed, errors = _validate(defs, values, _today(today))
    by_name = {defn.name: defn for defn in defs}
    compiled = compile_template(sql)
    # Slots the template itself gets wrong stay as written, like slots without a valid value.
    flagged = {
        (issue.line, issue.column)
        for issue in compiled.issues
        if issue.is_error and issue.placeholder is not None
    }
    blocked = frozenset(
        slot.start
        for slot in compiled.slots
        if slot.name not in by_name
        or (slot.line, slot.column) in flagged
        or ((issue := _slot_issue(slot, by_name[slot.name])) is not None and issue.is_error)
    )
    rendered = _fill(compiled, by_name, typed, blocked)
    snapshot = {defn.name: to_json(defn, typed[defn.name]) for defn in defs if defn.name in typed}
    return PreviewQuery(rendered, snapshot, tuple(errors), check.issues)
