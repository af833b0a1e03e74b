"""The parameter engine: typed template parameters rendered into AMC SQL, injection-proof.

A template is SQL with `{{name}}` placeholders and a list of parameter definitions (JSON, stored
on the template). Values are typed and validated first; then each placeholder is filled
according to where it sits in the SQL, so a value becomes exactly one SQL literal (or one list
of literals) and can never close a quote, end a statement or add SQL.

Entry points (pure Python, no Django, no database):

    parse_definitions(raw)                                  -> tuple[ParameterDefinition, ...]
    validate_parameters(definitions=, values=, today=)      -> dict[str, typed value]
    snapshot_parameters(definitions=, values=)              -> JSON-serialisable dict
    check_template(sql, definitions)                        -> TemplateCheck
    render_sql(sql=, definitions=, values=, today=)         -> RenderedQuery(sql, parameters)
    preview_sql(sql=, definitions=, values=, today=)        -> PreviewQuery (values may be bad)

Definitions: `{"name", "type", "label", "description", "required", "default"}` plus, by type,
`options` (enum), `min`/`max` (integer, number, percentage), `render_as` (percentage),
`max_items` (lists), `max_length` (string, string_list, campaign_list items), `max_days`
(date_range). Unknown keys, unknown types, bad or duplicate names (ignoring case) and invalid
defaults raise DefinitionError. `required` defaults to true.

Values (a JSON list or a comma/newline separated string for lists):

- date: `YYYY-MM-DD`, or a relative expression (so a default like `today-14d` works).
- relative_date: `today`, `yesterday`, `today-14d`, `today - 14 days`, `today-2w`, `today-1m`
  (months), `today+1y`, or a plain date; resolved against the injected `today`.
- datetime: ISO 8601; rendered `YYYY-MM-DDTHH:MM:SS` (AMC's format: no `Z`, whole seconds).
  `Z`/`+00:00` is accepted and dropped; any other offset is refused (AMC times carry no zone).
- date_range: `{"start": ..., "end": ...}`, each a date or relative date, start <= end; used
  as `{{name.start}}` and `{{name.end}}`.
- integer (64-bit), number (at most 15 significant digits and 12 decimals, so snapshots stay
  exact JSON numbers), percentage: 0..100, `12.5` or `"12.5%"`. A percentage renders as the
  fraction **0.125** by default (it compares directly with ratios such as clicks/impressions);
  `"render_as": "percent"` renders 12.5 instead. The typed value and snapshot keep 12.5.
- string: kept exactly (not trimmed); string_list, campaign_list (digit ids or names; rendered
  as text literals), asin_list (`B0` + 8 letters/digits, or a 10-digit ISBN; upper-cased):
  items trimmed, de-duplicated, order kept. A string list containing a line break is split on
  lines only, so names with commas survive a paste; otherwise on commas. ASINs split on commas,
  semicolons and white space.
- enum: one of `options` (case-insensitive match returns the option as written).
- boolean: true/false, yes/no, on/off, 1/0.

A value for a name the template does not define is an error (`unknown_parameter`), so a typo
in an API call or a parameter dropped from a template is never silently ignored.

Empty values (absent, null, "", [], {}) take the default; without one a required parameter is
an error (`required`; for a list: at least one item). An optional parameter left empty renders
`NULL` bare and in `IN (...)`, and nothing inside quotes (`'%{{term}}%'` becomes `'%%'`).
Careful: `col IN (NULL)` matches no row, and so does `col NOT IN (NULL)`. To make a list filter
optional, write `({{asins.is_empty}} OR tracked_asin IN ({{asins}}))`: every list type offers
`{{name.is_empty}}`, rendered TRUE or FALSE.

Rendering by context (see template.py for how the context is found):

    type          bare                    inside '...'       alone in IN (...)
    text, enum    'it''s'                 it''s              'it''s'
    date/datetime '2026-10-01'            2026-10-01         '2026-10-01'
    number        12.5, (-3)              12.5, -3           12.5
    boolean       TRUE / FALSE            true / false       TRUE
    list          refused                 refused            'a', 'b'   (empty optional: NULL)
    date_range    refused (use .start / .end)

Negative numbers are parenthesised so that `x -{{n}}` can never form a `--` comment. Numbers
inside quotes render as text and check_template warns about it. Placeholders inside comments
are left as written; inside double quotes or backticks they are refused. Templates that Spark
and Presto would split differently (a backslash before a quote, a backslash in a literal holding
a placeholder, a `--` comment ending in a backslash, nested `/*`) are refused by render_sql.

Text safety (what is refused and why, what is deliberately kept): see text.py. In short, single
quotes are doubled (Spark before 4.0 reads 'it''s' as 'it' 's' and so drops the apostrophe, but
the rest stays inside the literal); backslashes, control characters, `${`, `{{`/`}}`,
invisible bidi controls and characters that NFKC-normalise into quotes or backslashes are
refused; typographic quotes, double quotes, semicolons and comment markers are kept as inert
text inside the literal.

Errors: every problem is a ParameterError(field, code, message) with fields such as
`start_date`, `asins[3]`, `period.end`; validate_parameters and render_sql collect all of them
into ParameterErrors. Broken definitions raise DefinitionError and templates that cannot be
rendered raise TemplateError; both carry the same kind of errors in `.errors`.
"""

from .dates import add_months, resolve_relative
from .definitions import parse_definition, parse_definitions
from .errors import (
    DefinitionError,
    ParameterEngineError,
    ParameterError,
    ParameterErrors,
    TemplateError,
)
from .model import DateRange, ParameterDefinition, ParameterType
from .rendering import (
    PreviewQuery,
    RenderedQuery,
    TemplateCheck,
    check_template,
    preview_sql,
    render_sql,
    render_value,
    snapshot_parameters,
    validate_parameters,
)
from .template import (
    CompiledTemplate,
    Context,
    Placeholder,
    Severity,
    TemplateIssue,
    compile_template,
)
from .text import text_problem

__all__ = [
    "CompiledTemplate",
    "Context",
    "DateRange",
    "DefinitionError",
    "ParameterDefinition",
    "ParameterEngineError",
    "ParameterError",
    "ParameterErrors",
    "ParameterType",
    "Placeholder",
    "PreviewQuery",
    "RenderedQuery",
    "Severity",
    "TemplateCheck",
    "TemplateError",
    "TemplateIssue",
    "add_months",
    "check_template",
    "compile_template",
    "parse_definition",
    "parse_definitions",
    "preview_sql",
    "render_sql",
    "render_value",
    "resolve_relative",
    "snapshot_parameters",
    "text_problem",
    "validate_parameters",
]
