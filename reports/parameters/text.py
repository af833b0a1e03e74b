"""Which characters a text value may carry into a SQL string literal, and how it is escaped.

The one escape is the standard one: a single quote is doubled. That is lexically safe in every
dialect AMC's SQL resembles: Presto/Trino and Spark >= 4 read `''` as one quote; older Spark
reads `'it''s'` as the two adjacent literals `'it'` `'s'` (which it concatenates to `its`): the
apostrophe is lost there, but the text after it is still inside a literal, so a value can never
close a quote. What cannot be made safe by doubling is rejected, with a message saying why:

- backslash: Spark reads `\\'` as an escaped quote, Presto as a backslash then a closing quote;
  no escaping of a backslash is right in both, so it is refused.
- control characters (NUL, newline, tab, ...), lone surrogates, the Unicode line and paragraph
  separators, and the invisible bidi controls (a "Trojan source" value reads differently from
  what it is).
- `${`: Spark substitutes `${var}` / `${env:X}` in the whole SQL text before lexing, literals
  included, so a value could pull a configuration or environment value into the query.
- `{{` and `}}`: rendering is single-pass, so they would be inert, but refusing them keeps
  "any `{{` in rendered SQL is an unfilled placeholder" true (the preview relies on it) and makes
  a second pass by some other tool harmless.
- characters that Unicode compatibility normalisation (NFKC) turns into a quote, a backtick, a
  backslash or one of the above (full-width apostrophe U+FF07, full-width and small reverse
  solidus U+FF3C/U+FE68, ...): harmless to AMC as sent, but a layer that normalises text later
  would turn them into live syntax.

Deliberately kept, because inside a single-quoted literal they are plain characters in every
dialect: typographic quotes (U+2018/U+2019 as in "Men’s", U+02BC), double quotes, backticks,
semicolons, `--` and `/*` (comment markers are inert inside a literal), `%` and `_` (they keep
their LIKE meaning: a value is not a pattern-escaped string), and emoji.
"""

from __future__ import annotations

import re
import unicodedata

_FORBIDDEN = re.compile(
    r"[\x00-\x1f\x7f-\x9f\\\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
    r"|\$\{|\{\{|\}\}"
)
_BIDI = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")
_QUOTES = ("'", '"', "`")


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def _forbidden_reason(found: str) -> str:
    if found == "\\":
        return (
            "backslashes are not allowed (Spark reads them as escape characters, Presto does "
            "not, so no escaping is right in both)"
        )
    if found == "${":
        return "'${' is not allowed (Spark substitutes ${...} variables before reading the SQL)"
    if found in ("{{", "}}"):
        return "template braces '{{' and '}}' are not allowed"
    if "\ud800" <= found <= "\udfff":
        return "it contains invalid Unicode (a lone surrogate)"
    if found in _BIDI:
        return f"invisible text-direction characters are not allowed ({_describe(found)})"
    if found in ("\u2028", "\u2029"):
        return f"line separators are not allowed ({_describe(found)})"
    if found in ("\n", "\r"):
        return "line breaks are not allowed"
    if found == "\t":
        return "tab characters are not allowed"
    return f"control characters are not allowed ({_describe(found)})"


def text_problem(value: str) -> str | None:
    """Why `value` may not go into a SQL string literal, or None when it may."""
    match = _FORBIDDEN.search(value)
    if match is not None:
        return _forbidden_reason(match.group())
    if value.isascii():
        return None
    normalised = unicodedata.normalize("NFKC", value)
    if normalised == value:
        return None
    if _FORBIDDEN.search(normalised) is not None or any(
        normalised.count(q) != value.count(q) for q in _QUOTES
    ):
        for char in value:
            if char.isascii():
                continue
            folded = unicodedata.normalize("NFKC", char)
            if folded != char and (
                _FORBIDDEN.search(folded) is not None or any(q in folded for q in _QUOTES)
            ):
                return (
                    f"the character {_describe(char)} is not allowed: Unicode normalisation "
                    f"turns it into {folded!r}; type the plain character instead"
                )
        return "it contains characters that Unicode normalisation turns into SQL syntax"
    return None


def escape_literal_content(value: str) -> str:
    """The content of a single-quoted SQL literal holding `value` (already checked)."""
    return value.replace("'", "''")


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def short_repr(value: object, limit: int = 40) -> str:
    """A value as echoed in an error message: repr, shortened."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
