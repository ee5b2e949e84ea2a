"""``${name}`` in scenario files: declared variables, values saved by earlier steps, and ``${env.NAME}``.

Substitution happens when a step runs, not when the file is read, so that a
step can use what an earlier one saved (``save: {ann_id: Resources.0.id}``).
A string that is exactly one reference takes the variable's own value (a
number stays a number); a reference inside longer text is formatted into it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from .errors import VariableError

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\}")


def references(text: str) -> list[str]:
    return REFERENCE.findall(text)


def _lookup(name: str, values: Mapping[str, Any]) -> Any:
    if name.startswith("env."):
        key = name[4:]
        if key not in os.environ:
            raise VariableError(f"environment variable {key} is not set (referenced as ${{{name}}})")
        return os.environ[key]
    if name not in values:
        if name.startswith("id."):
            raise VariableError(f"${{{name}}}: no group or app has the key '{name[3:]}' in this scenario's tenant")
        raise VariableError(f"variable '{name}' is not defined (declare it under variables: or save it in an earlier step)")
    return values[name]


def substitute(value: Any, values: Mapping[str, Any]) -> Any:
    """``value`` with every ``${...}`` replaced, through lists and mappings (keys included)."""
    if isinstance(value, str):
        whole = REFERENCE.fullmatch(value)
        if whole:
            return _lookup(whole.group(1), values)
        return REFERENCE.sub(lambda m: str(_lookup(m.group(1), values)), value)
    if isinstance(value, list):
        return [substitute(item, values) for item in value]
    if isinstance(value, dict):
        return {substitute(k, values): substitute(v, values) for k, v in value.items()}
    return value
