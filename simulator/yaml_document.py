"""YAML files checked by a JSON Schema, every problem named by line and key path.

Job files and scenario files are written by hand, so a mistake must be reported
where the user made it: ``job.yaml:14: mappings.users.attributes[2].target:
unknown key 'taget' (did you mean 'target'?)``. The text is composed with
``yaml.compose`` so every node keeps its line; a jsonschema error's path is
walked through those nodes to the line of the key at fault.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jsonschema
import yaml

#: libyaml when PyYAML was built with it: about ten times faster, the same nodes and marks.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where (line, key path) and what."""

    line: int | None
    path: str
    message: str

    def format(self, filename: str | None = None) -> str:
        where = f"{filename}:" if filename else ""
        where += f"{self.line}:" if self.line else ""
        if self.path:
            return f"{where} {self.path}: {self.message}" if where else f"{self.path}: {self.message}"
        return f"{where} {self.message}" if where else self.message


def format_path(path: Iterable[Any]) -> str:
    """``("mappings", "users", "attributes", 2, "target")`` -> ``mappings.users.attributes[2].target``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def compose(text: str) -> yaml.Node | None:
    """Compose with libyaml; on a syntax error, again with the pure-Python loader, whose marks point at the broken line."""
    try:
        return yaml.compose(text, Loader=YAML_LOADER)
    except yaml.YAMLError:
        if YAML_LOADER is yaml.SafeLoader:
            raise
        return yaml.compose(text, Loader=yaml.SafeLoader)


class YamlDocument:
    """The YAML text both as data and as composed nodes; ``problems`` holds syntax errors and duplicate keys.

    ``what`` names the file in messages ("job file"); ``mapping_hint`` says what
    the top level should hold when it is not a mapping.
    """

    def __init__(self, text: str, *, what: str, mapping_hint: str):
        self.problems: list[Problem] = []
        self.root: yaml.Node | None = None
        self.data: Any = None
        try:
            self.root = compose(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or str(exc)
            self.problems.append(Problem(mark.line + 1 if mark else None, "", f"invalid YAML: {problem}"))
            return
        if self.root is None:
            self.problems.append(Problem(1, "", f"the {what} is empty"))
            return
        self._check_duplicate_keys(self.root, ())
        if self.problems:
            return
        self.data = yaml.load(text, Loader=YAML_LOADER)
        if not isinstance(self.data, dict):
            self.problems.append(Problem(1, "", f"a {what} is a mapping of keys ({mapping_hint})"))

    def _check_duplicate_keys(self, node: yaml.Node, path: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                name = str(key.value)
                if name in seen:
                    self.problems.append(Problem(key.start_mark.line + 1, format_path(path + (name,)),
                                                 f"duplicate key (first at line {seen[name]})"))
                else:
                    seen[name] = key.start_mark.line + 1
                self._check_duplicate_keys(value, path + (name,))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._check_duplicate_keys(item, path + (index,))

    def line(self, path: Iterable[Any]) -> int:
        """The line of the key (or list item) ``path`` names, or of the deepest part of it that exists."""
        node, line = self.root, 1
        for part in path:
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                        line, node = key.start_mark.line + 1, value
                        break
                else:
                    return line
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                return line
        return line

    def problem(self, path: tuple, message: str) -> Problem:
        return Problem(self.line(path), format_path(path), message)

    def schema_problems(self, schema: dict) -> list[Problem]:
        """Every place the data breaks ``schema`` (JSON Schema 2020-12), in words a hand-editor understands."""
        validator = jsonschema.Draft202012Validator(schema)
        problems: list[Problem] = []
        for error in validator.iter_errors(self.data):
            problems.extend(self._translate(error))
        return problems

    def _translate(self, error: jsonschema.ValidationError) -> list[Problem]:
        path = tuple(error.absolute_path)
        kind, instance, schema, wanted = error.validator, error.instance, error.schema, error.validator_value
        if kind == "additionalProperties":
            known = list(schema.get("properties", {}))
            out = []
            for key in instance:
                if key in known:
                    continue
                hint = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
                message = f"unknown key '{key}'" + (f" (did you mean '{hint[0]}'?)" if hint else f"; known keys: {', '.join(known)}")
                out.append(self.problem(path + (key,), message))
            return out
        if kind == "required":
            return [self.problem(path, f"missing required key '{name}'") for name in wanted if name not in instance]
        return [self.problem(path, _message(kind, instance, schema, wanted, error.message))]


_TYPE_NAMES = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
               "array": "a list", "object": "a mapping of keys", "null": "nothing"}


def _message(kind: str, instance: Any, schema: dict, wanted: Any, fallback: str) -> str:
    if kind == "type":
        types = wanted if isinstance(wanted, list) else [wanted]
        return f"expected {' or '.join(_TYPE_NAMES.get(t, t) for t in types)}, got {describe(instance)}"
    if kind == "enum":
        return f"{describe(instance)} is not one of: {', '.join(str(v) for v in wanted)}"
    if kind == "const":
        return f"must be {wanted}"
    if kind in ("minimum", "maximum"):
        return f"must be at {'least' if kind == 'minimum' else 'most'} {wanted}, got {instance}"
    if kind == "exclusiveMinimum":
        return f"must be greater than {wanted}, got {instance}"
    if kind == "minItems":
        return f"needs at least {wanted} item{'s' if wanted != 1 else ''}"
    if kind in ("minLength", "minProperties"):
        return "must not be empty"
    if kind == "uniqueItems":
        return "lists an item twice"
    if kind == "pattern":
        return f"{describe(instance)} {schema.get('x-message', 'has the wrong form')}"
    if kind == "oneOf":
        return f"{describe(instance)} is not valid here: {schema.get('description', fallback)}"
    return fallback


def describe(value: Any) -> str:
    """A value as a sentence names it: ``the text 'x'``, ``the number 3``, ``a list``."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
