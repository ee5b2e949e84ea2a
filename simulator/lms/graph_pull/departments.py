"""Departments and who may change an account's department.

The document's precedence rule, by the source that last set the value:

- set by an Azure import: any later source (Azure import, CSV import, an
  administrator) may change it;
- set by a CSV import: an Azure import may not change it; a CSV import or an
  administrator may;
- assigned by an administrator: no import may change it, only an administrator.

A department that an import (Azure or CSV) creates is not yet enrolled in any
category or course; the LMS reports it so the admin can enroll it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

AZURE = "azure"
CSV = "csv"
ADMIN = "admin"
SOURCES = (AZURE, CSV, ADMIN)
_RANK = {AZURE: 1, CSV: 2, ADMIN: 3}


def may_set_department(current_source: str | None, new_source: str) -> bool:
    """True when ``new_source`` may overwrite a department last set by ``current_source``."""
    if current_source is None or new_source == ADMIN:
        return True
    return _RANK[new_source] >= _RANK[current_source]


@dataclass
class Department:
    name: str
    created_by: str  # azure, csv or admin
    created_at: str
    #: enrolled in categories and courses: false for a department an import created, until an admin enrolls it.
    enrolled: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


NOT_ENROLLED_NOTICE = "Departments created by this import are not yet enrolled in categories and courses"
