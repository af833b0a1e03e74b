"""CSV: the raw result rows, written as they are read (constant memory, any size)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO


def write_csv(out: IO[str], *, columns: list[str], rows: Iterable[dict]) -> int:
    """Write a header and the rows; returns the number of rows written."""
    writer = csv.writer(out)
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
        count += 1
    return count
