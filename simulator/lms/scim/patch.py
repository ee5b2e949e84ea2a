"""PATCH (RFC 7644 §3.5.2): reading a PatchOp body and applying its operations to a working copy.

The service applies every operation to a copy of the resource and commits
only if all of them succeed, so a failing operation changes nothing (the
members of a group are copied lazily, see ``members.MemberView``).

What the RFC leaves to the server, decided here:
- ``add`` and ``replace`` on a complex attribute merge the given sub-attributes;
  ``replace`` on a multi-valued attribute without filter replaces all values.
- ``add`` or ``replace`` with a value filter that selects nothing is
  ``noTarget`` (§3.5.2.3); a ``remove`` that selects nothing changes nothing.
- Removing a required attribute is ``mutability``; changing a readOnly
  attribute, or an immutable one that has a value, is ``mutability``.
- A value marked ``primary`` unmarks the other values of the attribute.

Entra's dialect (``PatchOptions``) is read only when the profile says so; the
strict reading refuses each habit with the scimType the RFC gives it and a
detail that names the strict form.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from .errors import InvalidFilter, InvalidPath, InvalidSyntax, InvalidValue, Mutability, NoTarget
from .filters import And, Compare, FilterOptions, Node, compile_filter, equality_terms
from .members import MemberView
from .paths import PatchPath, parse_path
from .schemas import PATCH_OP_URN, Attribute, ResourceType, SchemaRegistry
from .validation import ValueOptions, coerce, coerce_single, strip_read_only

OPS = ("add", "remove", "replace")


@dataclass
class PatchOptions:
    """Entra habits a profile accepts in PATCH requests (all off: strict RFC 7644)."""

    #: "Add", "Replace", "Remove" (Entra without aadOptscim062020).
    case_insensitive_ops: bool = False
    #: {"op": "Remove", "path": "members", "value": [{"value": "id"}]} removes those members only.
    remove_members_with_value: bool = False
    #: emails[type eq "work"].value on a user without a work email creates {"type": "work", "value": ...}.
    create_missing_filtered_element: bool = False
    #: path-less add/replace whose value has "name.givenName" or "urn:...:User:employeeNumber" keys.
    pathless_dotted_keys: bool = False
    #: a value filter on a single-valued complex attribute, e.g. remove manager[value eq "id"].
    value_filter_on_single_valued: bool = False
    #: an extension attribute named without its schema URN ("manager" for the enterprise manager).
    unqualified_extension_paths: bool = False


@dataclass
class Operation:
    index: int
    op: str
    path: PatchPath | None
    value: Any
    has_value: bool


def _key(body: dict[str, Any], name: str) -> Any:
    for key, value in body.items():
        if key.lower() == name.lower():
            return value
    return None


def _lowered(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` by lower-cased key, the first spelling winning: ``_key`` for every name in one pass."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        out.setdefault(key.lower(), value)
    return out


def read_patch_request(body: Any, rtype: ResourceType, registry: SchemaRegistry,
                       opts: PatchOptions) -> list[Operation]:
    """Check the PatchOp envelope and parse every operation's path; nothing is applied yet."""
    if not isinstance(body, dict):
        raise InvalidSyntax("a PATCH body must be a JSON object: {\"schemas\": [\"" + PATCH_OP_URN
                            + "\"], \"Operations\": [...]}")
    schemas = _key(body, "schemas")
    if not isinstance(schemas, list) or PATCH_OP_URN.lower() not in [str(s).lower() for s in schemas]:
        raise InvalidSyntax(f"'schemas' must be [\"{PATCH_OP_URN}\"] in a PATCH request (RFC 7644 §3.5.2)")
    operations = _key(body, "Operations")
    if not isinstance(operations, list) or not operations:
        raise InvalidSyntax("'Operations' must be a non-empty array of operations (RFC 7644 §3.5.2)")
    result = []
    for index, raw in enumerate(operations):
        if not isinstance(raw, dict):
            raise InvalidSyntax(f"Operations[{index}] must be a JSON object with 'op', 'path' and 'value'")
        fields = _lowered(raw)
        op = fields.get("op")
        if not isinstance(op, str):
            raise InvalidSyntax(f"Operations[{index}] has no 'op': expected \"add\", \"remove\" or \"replace\"")
        if op not in OPS:
            if opts.case_insensitive_ops and op.lower() in OPS:
                op = op.lower()
            elif op.lower() in OPS:
                raise InvalidSyntax(f"Operations[{index}].op is \"{op}\": PATCH ops are lower case, "
                                    f"\"{op.lower()}\" (RFC 7644 §3.5.2). Entra sends capitalised ops without the "
                                    "aadOptscim062020 flag; the entra-tolerant profile accepts them")
            else:
                raise InvalidSyntax(f"Operations[{index}].op \"{op}\" is not an operation: expected \"add\", "
                                    "\"remove\" or \"replace\"")
        raw_path = fields.get("path")
        has_value = "value" in fields
        value = fields.get("value")
        path = None
        if raw_path is not None:
            if not isinstance(raw_path, str):
                raise InvalidPath(f"Operations[{index}].path must be a string")
            path = parse_path(raw_path, rtype, registry, opts.unqualified_extension_paths)
        if op in ("add", "replace") and not has_value:
            raise InvalidValue(f"Operations[{index}] ({op}) has no 'value' (RFC 7644 §3.5.2.{1 if op == 'add' else 3})")
        result.append(Operation(index, op, path, value, has_value))
    return result


def working_copy(record: dict[str, Any]) -> dict[str, Any]:
    """A copy safe to mutate; a group's members become a copy-on-write view instead of a copy.

    ``meta`` is shared, not copied: it is readOnly to every operation (changing it is ``mutability``)
    and ``ScimStore.commit`` builds the new one from the stored record, never from the copy.
    """
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key == "members" and isinstance(value, dict):
            out[key] = MemberView(value)
        elif key == "meta":
            out[key] = value
        else:
            out[key] = _copy_json(value)
    return out


def _copy_json(value: Any) -> Any:
    """A deep copy of JSON data (dicts, lists, scalars), several times cheaper than ``copy.deepcopy``.

    Anything that is not plain JSON still goes through ``copy.deepcopy``.
    """
    kind = type(value)
    if kind is dict:
        return {k: _copy_json(v) for k, v in value.items()}
    if kind is list:
        return [_copy_json(v) for v in value]
    if kind in _IMMUTABLE_SCALARS:
        return value
    return copy.deepcopy(value)


_IMMUTABLE_SCALARS = frozenset({str, int, float, bool, type(None)})


class PatchEngine:
    """Applies parsed operations to a working copy of one resource."""

    def __init__(self, rtype: ResourceType, registry: SchemaRegistry, patch_opts: PatchOptions,
                 value_opts: ValueOptions, filter_opts: FilterOptions):
        self.rtype = rtype
        self.registry = registry
        self.opts = patch_opts
        self.values = value_opts
        self.filter_opts = filter_opts

    # ---------------------------------------------------------------- entry points

    def apply(self, working: dict[str, Any], operations: list[Operation]) -> None:
        for op in operations:
            try:
                if op.path is None:
                    self._apply_pathless(working, op)
                else:
                    self._apply_path(working, op.op, op.path, op.value, op.has_value)
            except (InvalidPath, InvalidValue, Mutability, NoTarget, InvalidSyntax) as exc:
                if not exc.detail.startswith("Operations["):
                    exc.detail = f"Operations[{op.index}]: {exc.detail}"
                    exc.args = (exc.detail,)
                raise

    def _apply_pathless(self, working: dict[str, Any], op: Operation) -> None:
        if op.op == "remove":
            raise NoTarget("a remove operation needs a 'path' (RFC 7644 §3.5.2.2)")
        if not isinstance(op.value, dict):
            raise InvalidValue(f"without a 'path', the value of {op.op} must be a JSON object of attributes")
        for key, value in op.value.items():
            low = key.lower()
            if low in ("schemas", "id", "meta"):
                continue  # echoed server attributes: nothing to change
            ext = self.rtype.extension(key)
            if ext is not None or low == self.rtype.schema.id.lower():
                if not isinstance(value, dict):
                    raise InvalidValue(f"'{key}' must be a JSON object of that schema's attributes")
                if ext is not None and not value and op.op == "replace":
                    self._apply_path(working, op.op, parse_path(ext.id, self.rtype, self.registry), value, True)
                    continue
                for sub_key, sub_value in value.items():
                    if "." in sub_key and not self.opts.pathless_dotted_keys:
                        raise self._dotted_key_error(op.op, f"{key}:{sub_key}")
                    path = parse_path(f"{(ext.id if ext else self.rtype.schema.id)}:{sub_key}", self.rtype, self.registry)
                    self._apply_path(working, op.op, path, sub_value, True)
                continue
            if "." in key or low.startswith("urn:"):
                if not self.opts.pathless_dotted_keys:
                    raise self._dotted_key_error(op.op, key)
                self._apply_path(working, op.op, self._path(key), value, True)
                continue
            found = self.registry.lookup(self.rtype, None, key, self.opts.unqualified_extension_paths)
            if found is None:
                raise InvalidValue(f"'{key}' is not an attribute of {self.rtype.name}")
            self._apply_path(working, op.op, self._path(key), value, True)

    def _path(self, text: str) -> PatchPath:
        return parse_path(text, self.rtype, self.registry, self.opts.unqualified_extension_paths)

    @staticmethod
    def _dotted_key_error(op: str, key: str) -> InvalidPath:
        return InvalidPath(f"'{key}' in a path-less {op} value is a path, not an attribute name; RFC 7644 §3.5.2 "
                           f"expects attribute names (or nested objects) there: send {{\"op\": \"{op}\", \"path\": "
                           f"\"{key}\", \"value\": ...}}. Entra sends this form with aadOptscim062020; the "
                           "entra-tolerant profile accepts it")

    # ---------------------------------------------------------------- containers

    def _container(self, working: dict[str, Any], path: PatchPath, create: bool) -> dict[str, Any] | None:
        if path.container_urn is None:
            return working
        container = working.get(path.container_urn)
        if container is None and create:
            container = {}
            working[path.container_urn] = container
            schemas = working.setdefault("schemas", [self.rtype.schema.id])
            if path.container_urn not in schemas:
                schemas.append(path.container_urn)
        return container

    def _drop_empty_container(self, working: dict[str, Any], path: PatchPath) -> None:
        urn = path.container_urn
        if urn is not None and not working.get(urn):
            working.pop(urn, None)
            if urn in working.get("schemas", []):
                working["schemas"].remove(urn)

    # ---------------------------------------------------------------- one path

    def _apply_path(self, working: dict[str, Any], kind: str, path: PatchPath, value: Any, has_value: bool) -> None:
        if path.whole_extension:
            self._apply_extension(working, kind, path, value)
            return
        attr = path.attr
        assert attr is not None
        if attr.mutability == "readOnly":
            raise Mutability(f"'{path.text}' is readOnly and cannot be changed (RFC 7643 §2.2)")
        if path.sub is not None and path.sub.mutability == "readOnly":
            raise Mutability(f"'{path.text}' is readOnly and cannot be changed (RFC 7643 §2.2)")
        if path.value_filter is not None:
            self._apply_filtered(working, kind, path, value, has_value)
            return
        if kind == "remove":
            self._remove(working, path, value, has_value)
            return
        container = self._container(working, path, create=True)
        assert container is not None
        if path.sub is not None:
            self._set_sub(container, attr, path.sub, value, path.text)
        elif attr.multi_valued:
            items = coerce(attr, value, self.values, path.text)
            if kind == "add":
                self._add_elements(container, attr, items or [])
            else:
                self._replace_all(container, attr, items or [])
        elif attr.is_complex:
            new = strip_read_only(attr, coerce(attr, value, self.values, path.text))
            current = container.get(attr.name) or {}
            merged = dict(current)
            for sub_name, sub_value in (new or {}).items():
                self._check_immutable(attr.sub(sub_name), current.get(sub_name), sub_value, f"{path.text}.{sub_name}")
                merged[sub_name] = sub_value
            if new is None and kind == "replace":
                merged = {}
            self._store(container, attr, merged or None)
        else:
            new = coerce(attr, value, self.values, path.text)
            self._check_immutable(attr, container.get(attr.name), new, path.text)
            if new is None and attr.required:
                raise Mutability(f"'{path.text}' is required and cannot be set to null")
            self._store(container, attr, new)
        self._drop_empty_container(working, path)

    def _apply_extension(self, working: dict[str, Any], kind: str, path: PatchPath, value: Any) -> None:
        urn = path.container_urn
        assert urn is not None and path.schema is not None
        if kind == "remove":
            working.pop(urn, None)
            if urn in working.get("schemas", []):
                working["schemas"].remove(urn)
            return
        if not isinstance(value, dict):
            raise InvalidValue(f"'{path.text}' names a whole extension: the value must be a JSON object of its attributes")
        if kind == "replace":
            kept = {a.name: v for a in path.schema.attributes if a.mutability == "readOnly"
                    and (v := (working.get(urn) or {}).get(a.name)) is not None}
            working.pop(urn, None)
            if kept:
                working[urn] = kept
        for key, sub_value in value.items():
            if key.lower() == "schemas":
                continue  # some clients serialise the extension object with its own "schemas"
            attr = path.schema.attribute(key)
            if attr is None:
                raise InvalidValue(f"'{key}' is not an attribute of {urn}")
            if attr.mutability == "readOnly":
                continue
            self._apply_path(working, "add" if kind == "add" else "replace",
                             PatchPath(f"{urn}:{attr.name}", path.schema, urn, attr), sub_value, True)
        self._drop_empty_container(working, path)

    def _store(self, container: dict[str, Any], attr: Attribute, value: Any) -> None:
        if value is None or value == [] or value == {}:
            container.pop(attr.name, None)
        else:
            container[attr.name] = value

    def _check_immutable(self, attr: Attribute | None, old: Any, new: Any, where: str) -> None:
        if attr is not None and attr.mutability == "immutable" and old is not None and old != new:
            raise Mutability(f"'{where}' is immutable: it has a value and cannot be changed (RFC 7643 §2.2)")

    def _set_sub(self, container: dict[str, Any], attr: Attribute, sub: Attribute, value: Any, where: str) -> None:
        new = coerce(sub, value, self.values, where)
        if attr.multi_valued:
            elements = self._elements(container, attr)
            if not elements:
                if new is not None:
                    self._add_elements(container, attr, [{sub.name: new}])
                return
            for key, element in elements:
                self._check_immutable(sub, element.get(sub.name), new, where)
                updated = dict(element)
                if new is None:
                    updated.pop(sub.name, None)
                else:
                    updated[sub.name] = new
                self._put(container, attr, key, updated)
            if sub.name == "primary" and new is True:
                self._single_primary(container, attr, keep=None)
            return
        current = dict(container.get(attr.name) or {})
        self._check_immutable(sub, current.get(sub.name), new, where)
        if new is None:
            current.pop(sub.name, None)
        else:
            current[sub.name] = new
        self._store(container, attr, current or None)

    # ---------------------------------------------------------------- multi-valued helpers

    def _elements(self, container: dict[str, Any], attr: Attribute) -> list[tuple[Any, Any]]:
        value = container.get(attr.name)
        if value is None:
            return []
        if isinstance(value, (MemberView, dict)) and attr.multi_valued:
            return list(value.items())
        if attr.multi_valued:
            return list(enumerate(value))
        return [(None, value)]

    def _put(self, container: dict[str, Any], attr: Attribute, key: Any, element: Any) -> None:
        value = container[attr.name]
        if isinstance(value, (MemberView, dict)) and attr.multi_valued:
            if isinstance(element, dict) and element.get("value") != key:
                raise Mutability(f"'{attr.name}.value' is immutable: a member's value cannot be changed")
            value[key] = element
        elif attr.multi_valued:
            value[key] = element
        else:
            container[attr.name] = element

    def _delete(self, container: dict[str, Any], attr: Attribute, keys: list[Any]) -> None:
        value = container.get(attr.name)
        if value is None:
            return
        if isinstance(value, (MemberView, dict)) and attr.multi_valued:
            for key in keys:
                value.pop(key, None)
            return
        if not attr.multi_valued:
            container.pop(attr.name, None)
            return
        drop = set(keys)
        kept = [e for i, e in enumerate(value) if i not in drop]
        self._store(container, attr, kept)

    def _add_elements(self, container: dict[str, Any], attr: Attribute, items: list[Any]) -> None:
        if not items:
            return
        value = container.get(attr.name)
        if isinstance(value, (MemberView, dict)):
            for item in items:
                if not isinstance(item, dict) or not isinstance(item.get("value"), str):
                    raise InvalidValue(f"each '{attr.name}' value needs a 'value' (the member's id)")
                if item["value"] not in value:
                    value[item["value"]] = item
            return
        current = list(value or [])
        for item in items:
            if item not in current:
                if isinstance(item, dict) and item.get("primary") is True:
                    current = [self._unmark(e) for e in current]
                current.append(item)
        self._store(container, attr, current)

    def _replace_all(self, container: dict[str, Any], attr: Attribute, items: list[Any]) -> None:
        value = container.get(attr.name)
        if isinstance(value, (MemberView, dict)):
            value.clear()
            self._add_elements(container, attr, items)
            return
        self._store(container, attr, items)

    @staticmethod
    def _unmark(element: Any) -> Any:
        if isinstance(element, dict) and element.get("primary") is True:
            element = dict(element)
            element["primary"] = False
        return element

    def _single_primary(self, container: dict[str, Any], attr: Attribute, keep: Any) -> None:
        """After a value became primary, no other value stays primary (RFC 7643 §2.4)."""
        elements = self._elements(container, attr)
        primaries = [k for k, e in elements if isinstance(e, dict) and e.get("primary") is True]
        if len(primaries) <= 1:
            return
        winner = keep if keep in primaries else primaries[-1]
        for key, element in elements:
            if key != winner and isinstance(element, dict) and element.get("primary") is True:
                self._put(container, attr, key, self._unmark(element))

    # ---------------------------------------------------------------- remove

    def _remove(self, working: dict[str, Any], path: PatchPath, value: Any, has_value: bool) -> None:
        attr = path.attr
        assert attr is not None
        container = self._container(working, path, create=False)
        if has_value and value is not None:
            if attr.multi_valued and path.sub is None and self.opts.remove_members_with_value:
                if container is not None:
                    self._remove_listed(container, attr, value, path.text)
                    self._drop_empty_container(working, path)
                return
            hint = ""
            if attr.multi_valued and path.sub is None:
                hint = (f"; to remove one value use path '{attr.name}[value eq \"<id>\"]'. Entra sends this form "
                        "without the aadOptscim062020 flag; the entra-tolerant profile accepts it")
            raise InvalidSyntax(f"a remove operation takes no 'value' (RFC 7644 §3.5.2.2), and '{path.text}' "
                                f"without a filter would remove every value{hint}")
        if path.sub is None and attr.required:
            raise Mutability(f"'{path.text}' is required and cannot be removed (RFC 7644 §3.5.2.2)")
        if container is None:
            return
        if path.sub is not None:
            if path.sub.required:
                raise Mutability(f"'{path.text}' is required and cannot be removed")
            self._set_sub(container, attr, path.sub, None, path.text)
        elif attr.multi_valued and isinstance(container.get(attr.name), (MemberView, dict)):
            container[attr.name].clear()
        else:
            container.pop(attr.name, None)
        self._drop_empty_container(working, path)

    def _remove_listed(self, container: dict[str, Any], attr: Attribute, value: Any, where: str) -> None:
        """Entra's member removal: the listed values go, the others stay."""
        items = coerce(attr, value, self.values, where) or []
        current = container.get(attr.name)
        if isinstance(current, (MemberView, dict)):  # members: one lookup per listed id, not a scan of the group
            self._delete(container, attr, [i["value"] for i in items
                                           if isinstance(i, dict) and i.get("value") in current])
            return
        keys = []
        for key, element in self._elements(container, attr):
            for item in items:
                if isinstance(item, dict) and isinstance(element, dict):
                    if item.get("value") is not None and item.get("value") == element.get("value"):
                        keys.append(key)
                        break
                elif item == element:
                    keys.append(key)
                    break
        self._delete(container, attr, keys)

    # ---------------------------------------------------------------- value filters

    def _select(self, container: dict[str, Any] | None, path: PatchPath) -> list[tuple[Any, dict[str, Any]]]:
        attr = path.attr
        assert attr is not None and path.value_filter is not None
        if container is None:
            return []
        try:
            predicate = compile_filter(path.value_filter, self.rtype, self.registry, options=self.filter_opts,
                                       parent=attr)
        except InvalidFilter as exc:  # the filter is part of the path: report it as a bad path
            raise InvalidPath(f"'{path.text}': {exc.detail}") from None
        value = container.get(attr.name)
        if isinstance(value, (MemberView, dict)) and attr.multi_valued:
            terms = equality_terms(path.value_filter) or []
            ids = [v for k, v in terms if k.lower() == "value"]
            if ids:  # members[value eq "id"]: one lookup, not a scan of the group
                element = value.get(ids[0]) if ids[0] in value else None
                return [(ids[0], element)] if element is not None and predicate(element) else []
        return [(k, e) for k, e in self._elements(container, attr) if isinstance(e, dict) and predicate(e)]

    def _apply_filtered(self, working: dict[str, Any], kind: str, path: PatchPath, value: Any, has_value: bool) -> None:
        attr = path.attr
        assert attr is not None
        if not attr.multi_valued and not self.opts.value_filter_on_single_valued:
            raise InvalidPath(f"'{path.text}': a value filter selects values of a multi-valued attribute, and "
                              f"'{attr.name}' is single-valued (RFC 7644 §3.5.2). Entra removes a manager this "
                              "way; the entra-tolerant profile accepts it")
        container = self._container(working, path, create=kind != "remove")
        matches = self._select(container, path)
        if kind == "remove":
            if has_value and value is not None:
                raise InvalidSyntax("a remove operation takes no 'value' (RFC 7644 §3.5.2.2)")
            if not matches:
                return
            if path.sub is not None:
                if path.sub.required:
                    raise Mutability(f"'{path.text}' is required and cannot be removed")
                for key, element in matches:
                    self._check_immutable(path.sub, element.get(path.sub.name), None, path.text)
                    updated = {k: v for k, v in element.items() if k != path.sub.name}
                    if updated:
                        self._put(container, attr, key, updated)
                    else:
                        self._delete(container, attr, [key])
            else:
                self._delete(container, attr, [k for k, _ in matches])
            self._drop_empty_container(working, path)
            return
        assert container is not None
        if not matches:
            seed = self._element_from_filter(path) if self.opts.create_missing_filtered_element else None
            if seed is None:
                hint = ""
                if self.opts.create_missing_filtered_element:
                    hint = " (an element can be created only from a filter of 'eq' comparisons joined by 'and')"
                elif path.sub is not None:
                    hint = (". Entra sends such paths before the element exists; the entra-tolerant profile "
                            "creates it")
                raise NoTarget(f"'{path.text}' selects no value of '{attr.name}' (RFC 7644 §3.5.2.3){hint}")
            if path.sub is not None:
                new = coerce(path.sub, value, self.values, path.text)
                if new is not None:
                    seed[path.sub.name] = new
            else:
                extra = coerce_single(attr, value, self.values, path.text) or {}
                seed.update(extra)
            if attr.multi_valued:
                self._add_elements(container, attr, [seed])
                if seed.get("primary") is True:
                    self._single_primary(container, attr, keep=len(self._elements(container, attr)) - 1)
            else:
                self._store(container, attr, seed)
            self._drop_empty_container(working, path)
            return
        made_primary = None
        for key, element in matches:
            if path.sub is not None:
                new = coerce(path.sub, value, self.values, path.text)
                self._check_immutable(path.sub, element.get(path.sub.name), new, path.text)
                updated = dict(element)
                if new is None:
                    updated.pop(path.sub.name, None)
                else:
                    updated[path.sub.name] = new
            else:
                new_element = coerce_single(attr, value, self.values, path.text) or {}
                for sub in attr.sub_attributes:
                    if sub.mutability == "immutable" and element.get(sub.name) is not None \
                            and sub.name in new_element and new_element[sub.name] != element[sub.name]:
                        raise Mutability(f"'{path.text}.{sub.name}' is immutable and cannot be changed")
                if kind == "add":
                    updated = {**element, **new_element}
                else:
                    keep = {s.name: element[s.name] for s in attr.sub_attributes
                            if s.mutability == "immutable" and s.name in element}
                    updated = {**keep, **new_element}
            if updated.get("primary") is True:
                made_primary = key
            if attr.multi_valued:
                self._put(container, attr, key, updated)
            else:
                self._store(container, attr, updated or None)
        if attr.multi_valued and made_primary is not None:
            self._single_primary(container, attr, keep=made_primary)

    def _element_from_filter(self, path: PatchPath) -> dict[str, Any] | None:
        """Build the element a filter of equalities describes: [type eq "work"] -> {"type": "work"}."""
        attr = path.attr
        assert attr is not None and path.value_filter is not None
        seed: dict[str, Any] = {}

        def collect(node: Node) -> bool:
            if isinstance(node, And):
                return collect(node.left) and collect(node.right)
            if isinstance(node, Compare) and node.op == "eq" and node.path.urn is None and node.path.sub is None:
                sub = attr.sub(node.path.attr)
                if sub is None or node.value is None:
                    return False
                seed[sub.name] = coerce(sub, node.value, ValueOptions(string_booleans=True), path.text)
                return True
            return False

        return seed if collect(path.value_filter) else None
