"""Excel with XlsxWriter in constant-memory mode: one sheet per table widget and a sheet of the
raw rows, number formats per column, frozen header rows. Rows are written in order and flushed,
so memory does not grow with the row count."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from dashboards.exports.content import DashboardContent

EXCEL_MAX_ROWS = 1_048_576
NUMBER_FORMATS = {
    "integer": "#,##0",
    "number": "#,##0.00",
    "currency": "#,##0.00",
    "ratio": "0.00",
    "percent": "0.0%",
}
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(title: str, used: set[str]) -> str:
    base = (_BAD_SHEET_CHARS.sub(" ", title).strip() or "Sheet")[:31]
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name


def _column_format(values: list[Any]) -> str:
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if not numbers:
        return "text"
    return "integer" if all(float(v).is_integer() for v in numbers) else "number"


def write_workbook(
    path: str,
    content: DashboardContent,
    *,
    raw_columns: list[str],
    raw_rows: Iterable[dict],
) -> int:
    """Write the workbook to `path`; returns the number of raw rows written."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        path, {"constant_memory": True, "strings_to_numbers": False, "strings_to_urls": False}
    )
    header = workbook.add_format({"bold": True, "bottom": 1})
    formats = {key: workbook.add_format({"num_format": fmt}) for key, fmt in NUMBER_FORMATS.items()}
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    used: set[str] = set()

    def write_cell(sheet, r, c, value, fmt):
        if value is None:
            return
        if isinstance(value, datetime | date):
            sheet.write_datetime(r, c, value, date_format)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            sheet.write_number(r, c, value, formats.get(fmt))
        else:
            sheet.write_string(r, c, str(value))

    if content.cards:
        sheet = workbook.add_worksheet(_sheet_name("Summary", used))
        sheet.write_row(0, 0, ["Metric", "Value"], header)
        sheet.freeze_panes(1, 0)
        sheet.set_column(0, 0, 28)
        sheet.set_column(1, 1, 18)
        for r, card in enumerate(content.cards, start=1):
            sheet.write_string(r, 0, card.title)
            write_cell(sheet, r, 1, card.value, "number")

    for table in content.tables:
        sheet = workbook.add_worksheet(_sheet_name(table.title, used))
        sheet.write_row(0, 0, [c.label for c in table.columns], header)
        sheet.freeze_panes(1, 0)
        for c, column in enumerate(table.columns):
            sheet.set_column(c, c, 14 if column.format in NUMBER_FORMATS else 24)
        for r, row in enumerate(table.rows[: EXCEL_MAX_ROWS - 1], start=1):
            for c, (value, column) in enumerate(zip(row, table.columns, strict=False)):
                write_cell(sheet, r, c, value, column.format)

    written = 0
    if raw_columns:
        sheet = workbook.add_worksheet(_sheet_name("Data", used))
        sheet.write_row(0, 0, raw_columns, header)
        sheet.freeze_panes(1, 0)
        sheet.set_column(0, len(raw_columns) - 1, 16)
        column_formats: list[str] | None = None
        pending: list[dict] = []
        for row in raw_rows:
            if written >= EXCEL_MAX_ROWS - 1:
                break
            if column_formats is None:
                # Decide each column's number format from the first rows, then stream.
                pending.append(row)
                if len(pending) < 100:
                    continue
                column_formats = [_column_format([p.get(c) for p in pending]) for c in raw_columns]
                for buffered in pending:
                    written += 1
                    for c, key in enumerate(raw_columns):
                        write_cell(sheet, written, c, buffered.get(key), column_formats[c])
                pending = []
                continue
            written += 1
            for c, key in enumerate(raw_columns):
                write_cell(sheet, written, c, row.get(key), column_formats[c])
        if column_formats is None:
            column_formats = [_column_format([p.get(c) for p in pending]) for c in raw_columns]
            for buffered in pending:
                written += 1
                for c, key in enumerate(raw_columns):
                    write_cell(sheet, written, c, buffered.get(key), column_formats[c])
    if not used:
        workbook.add_worksheet("Empty").write_string(0, 0, "This dashboard has no data yet.")
    workbook.close()
    return written
