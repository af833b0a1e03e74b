"""Reading a SQL template: where each `{{placeholder}}` sits, lexically.

The template is lexed once (and cached per SQL text) the way both Spark and Presto lex it:
single-quoted literals with `''`, double-quoted and backtick-quoted names, `--` line comments
and `/* */` block comments. Each placeholder gets a context:

- QUOTED: inside a single-quoted literal (`'{{name}}'`, `'%{{term}}%'`): the value's escaped
  content is written there, nothing else.
- IN_LIST: alone between the parentheses of `IN ( ... )` / `NOT IN ( ... )`.
- BARE: anywhere else in the SQL code.
- IDENTIFIER: inside double quotes or backticks (never rendered: Spark reads "..." as a string,
  Presto as a name, so no rendering is right in both).
- COMMENT: inside a comment; left untouched and not counted as a use.

Where Spark and Presto would split the template differently the template is refused rather than
guessed: an odd run of backslashes before a quote (`'a\\'`), any backslash in a literal that
holds a placeholder, a `--` comment ending in a backslash (Spark continues it on the next line)
and a nested `/*` (Spark nests block comments, Presto does not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from .errors import ParameterError


class Context(StrEnum):
    BARE = "bare"
    QUOTED = "quoted"
    IN_LIST = "in_list"
    IDENTIFIER = "identifier"
    COMMENT = "comment"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class TemplateIssue:
    code: str
    message: str
    severity: Severity = Severity.ERROR
    placeholder: str | None = None
    line: int | None = None
    column: int | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def as_error(self) -> ParameterError:
        return ParameterError("sql_query", self.code, self.message)

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "severity": self.severity.value,
            "placeholder": self.placeholder,
            "line": self.line,
            "column": self.column,
        }


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One `{{name}}` or `{{name.attribute}}` occurrence in the template."""

    name: str
    attribute: str | None
    context: Context
    start: int
    end: int
    line: int
    column: int
    text: str

    @property
    def key(self) -> str:
        return self.name if self.attribute is None else f"{self.name}.{self.attribute}"


@dataclass(frozen=True, slots=True)
class CompiledTemplate:
    """A template split into fixed text and the placeholders to fill between it.

    `chunks` has one more element than `slots`; the rendered SQL is
    chunks[0] + value(slots[0]) + chunks[1] + ... Comment placeholders are part of the chunks."""

    sql: str
    chunks: tuple[str, ...]
    slots: tuple[Placeholder, ...]
    placeholders: tuple[Placeholder, ...]
    issues: tuple[TemplateIssue, ...]


_CODE_STOP = re.compile(r"'|\"|`|--|/\*")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\s*\}\}")
_OPEN = re.compile(r"\{\{")
_LINE_END = re.compile(r"[\r\n]")
_ODD_BACKSLASH_QUOTE = re.compile(r"(?<!\\)\\(?:\\\\)*['\"]")
_IN_KEYWORD = re.compile(r"(?<![A-Za-z0-9_$])IN", re.IGNORECASE)
_CLOSE_AFTER = re.compile(r"\s*\)")


def _position(sql: str, offset: int) -> tuple[int, int]:
    line = sql.count("\n", 0, offset) + 1
    column = offset - (sql.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _issue(
    sql: str,
    offset: int,
    code: str,
    message: str,
    severity: Severity = Severity.ERROR,
    placeholder: str | None = None,
) -> TemplateIssue:
    line, column = _position(sql, offset)
    return TemplateIssue(code, f"line {line}: {message}", severity, placeholder, line, column)


def _lex(sql: str) -> tuple[list[tuple[str, int, int]], list[TemplateIssue]]:
    """Regions (kind, start, end) covering the text, kinds: code, string, identifier, comment."""
    regions: list[tuple[str, int, int]] = []
    issues: list[TemplateIssue] = []
    i, n = 0, len(sql)
    while i < n:
        match = _CODE_STOP.search(sql, i)
        if match is None:
            regions.append(("code", i, n))
            break
        start = match.start()
        if start > i:
            regions.append(("code", i, start))
        token = match.group()
        if token in ("'", '"', "`"):
            end = _closing_quote(sql, start, token)
            if end is None:
                message = f"{token} is never closed"
                issues.append(_issue(sql, start, "unterminated_literal", message))
                end = n
            kind = "string" if token == "'" else "identifier"
            if token != "`" and _ODD_BACKSLASH_QUOTE.search(sql, start + 1, end):
                issues.append(
                    _issue(
                        sql,
                        start,
                        "ambiguous_backslash",
                        "a backslash before a quote inside a quoted text: Spark reads it as an "
                        "escape, Presto does not, so the SQL would split differently",
                    )
                )
            regions.append((kind, start, end))
        elif token == "--":
            line_end = _LINE_END.search(sql, start)
            end = n if line_end is None else line_end.start()
            if sql.endswith("\\", start, end) and sql.startswith("\n", end):
                issues.append(
                    _issue(
                        sql,
                        start,
                        "ambiguous_comment",
                        "a -- comment ends with a backslash: Spark continues it on the next line",
                    )
                )
            regions.append(("comment", start, end))
        else:
            close = sql.find("*/", start + 2)
            end = n if close == -1 else close + 2
            if close == -1:
                issues.append(_issue(sql, start, "unterminated_comment", "/* is never closed"))
            nested = sql.find("/*", start + 2, end)
            if nested != -1:
                issues.append(
                    _issue(
                        sql,
                        nested,
                        "nested_comment",
                        "/* inside a block comment: Spark nests block comments, Presto does not",
                    )
                )
            regions.append(("comment", start, end))
        i = end
    return regions, issues


def _closing_quote(sql: str, start: int, quote: str) -> int | None:
    """End offset (exclusive) of the quoted text opened at `start`; doubled quotes stay inside."""
    j = start + 1
    while True:
        k = sql.find(quote, j)
        if k == -1:
            return None
        if sql.startswith(quote, k + 1):
            j = k + 2
            continue
        return k + 1


def _is_in_list(masked: str, start: int, end: int) -> bool:
    """True when the placeholder is all there is between `IN (` and `)`."""
    before = masked[:start].rstrip()
    if not before.endswith("("):
        return False
    before = before[:-1].rstrip()
    return (
        _IN_KEYWORD.fullmatch(before, max(0, len(before) - 2)) is not None
        and _CLOSE_AFTER.match(masked, end) is not None
    )


def _masked(sql: str, regions: list[tuple[str, int, int]]) -> str:
    """The SQL with comments blanked out, to look at the tokens around a placeholder."""
    parts = []
    for kind, start, end in regions:
        text = sql[start:end]
        parts.append(re.sub(r"[^\n]", " ", text) if kind == "comment" else text)
    return "".join(parts)


@lru_cache(maxsize=512)
def compile_template(sql: str) -> CompiledTemplate:
    regions, issues = _lex(sql)
    masked = None
    placeholders: list[Placeholder] = []
    region_index = 0
    matched_starts = set()
    for match in _PLACEHOLDER.finditer(sql):
        start, end = match.span()
        while regions[region_index][2] <= start:
            region_index += 1
        kind, region_start, region_end = regions[region_index]
        matched_starts.add(start)
        line, column = _position(sql, start)
        name, attribute = match.group(1), match.group(2)
        if end > region_end:
            issues.append(
                _issue(
                    sql,
                    start,
                    "malformed_placeholder",
                    f"{match.group()!r} crosses a quote or comment boundary",
                    placeholder=name,
                )
            )
            continue
        if kind == "comment":
            context = Context.COMMENT
        elif kind == "identifier":
            context = Context.IDENTIFIER
        elif kind == "string":
            context = Context.QUOTED
            if "\\" in sql[region_start:region_end]:
                issues.append(
                    _issue(
                        sql,
                        start,
                        "backslash_in_literal",
                        f"the literal holding {{{{{name}}}}} contains a backslash, which Spark "
                        "and Presto read differently; remove it",
                        placeholder=name,
                    )
                )
        else:
            if masked is None:
                masked = _masked(sql, regions)
            context = Context.IN_LIST if _is_in_list(masked, start, end) else Context.BARE
        placeholders.append(
            Placeholder(name, attribute, context, start, end, line, column, match.group())
        )
    for match in _OPEN.finditer(sql):
        start = match.start()
        if start in matched_starts:
            continue
        if any(r[0] == "comment" and r[1] <= start < r[2] for r in regions):
            continue
        snippet = sql[start : start + 30].split("\n")[0]
        issues.append(
            _issue(
                sql,
                start,
                "malformed_placeholder",
                f"{snippet!r} is not a placeholder (write {{{{name}}}} with letters, digits and _)",
            )
        )
    slots = tuple(p for p in placeholders if p.context is not Context.COMMENT)
    chunks = []
    cursor = 0
    for slot in slots:
        chunks.append(sql[cursor : slot.start])
        cursor = slot.end
    chunks.append(sql[cursor:])
    return CompiledTemplate(sql, tuple(chunks), slots, tuple(placeholders), tuple(issues))
