"""The LMS's CSV user import: the other source of accounts, and of departments.

A CSV import matters to the Graph import because of department precedence: a
department set by CSV cannot be changed by a later Azure import. The file has a
header row; ``login`` and ``email`` are required columns, the others optional.
A bad file (no header, unknown column, bad status or role, a login on two
lines) is refused as a whole with a message naming the line and column, and
changes nothing.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from .errors import BadRequest

COLUMNS = ("login", "email", "first_name", "last_name", "department", "manager", "status", "preferred_language",
           "country", "role")
REQUIRED = ("login", "email")
STATUSES = ("enabled", "disabled")
ROLES = ("admin", "manager", "user")


def parse_csv(text: str) -> list[dict[str, Any]]:
    """Rows as dicts of the known columns (empty cells become None); raises BadRequest for a bad file."""
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("the CSV file is empty: expected a header row with at least login,email")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except csv.Error as exc:
        raise BadRequest(f"CSV line 1: {exc}") from None
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise BadRequest(f"CSV header: unknown column '{unknown[0]}'; known columns: {', '.join(COLUMNS)}")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise BadRequest(f"CSV header: required column '{missing[0]}' is missing")
    if len(set(header)) != len(header):
        raise BadRequest("CSV header: a column appears twice")
    rows = []
    first_line_of: dict[str, int] = {}  # lowercased login -> the line that first named it
    try:
        for line_no, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise BadRequest(f"CSV line {line_no}: expected {len(header)} cells, got {len(cells)}")
            row: dict[str, Any] = {c: None for c in COLUMNS}
            row.update({k: (v.strip() or None) for k, v in zip(header, cells)})
            if row["status"] is not None and row["status"].lower() not in STATUSES:
                raise BadRequest(f"CSV line {line_no}: status must be enabled or disabled, got '{row['status']}'")
            if row["role"] is not None and row["role"].lower() not in ROLES:
                raise BadRequest(f"CSV line {line_no}: role must be admin, manager or user, got '{row['role']}'")
            for key in ("status", "role"):
                if row[key] is not None:
                    row[key] = row[key].lower()
            if row["login"] is not None:
                seen = first_line_of.setdefault(row["login"].lower(), line_no)
                if seen != line_no:
                    raise BadRequest(f"CSV line {line_no}: login '{row['login']}' is already on line {seen}")
            row["line"] = line_no
            rows.append(row)
    except csv.Error as exc:
        raise BadRequest(f"CSV line {reader.line_num}: {exc}") from None
    return rows
