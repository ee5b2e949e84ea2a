"""Entra's expression functions, each with the behaviour Microsoft documents, quirks included.

The function list is the one in "Reference for writing expressions for attribute
mappings in Microsoft Entra ID", plus ``AssertiveAppRoleAssignmentsComplex``
from "Customize application attributes". Quirks reproduced on purpose:

- ``Mid`` and ``Item`` are 1-based; ``Mid`` past the end returns the rest;
- ``Left``: 0 gives "", a negative count the whole string, null gives "";
- ``Switch`` compares as case-sensitive text, a null source matches the key "",
  and a missing default gives null;
- ``IIF`` fails (an evaluation error) when an attribute its condition reads is
  null or empty, even inside ``IsNullOrEmpty``/``IsPresent``; it has no AND/OR;
- conditions and predicates return booleans, which leave as "True"/"False";
- ``Join`` expands multi-valued attributes and skips null and empty values;
- ``CDate``/``Now``/``DateAdd`` produce dates that leave as ``M/d/yyyy h:mm:ss tt`` (UTC);
- ``IgnoreFlowIfNullOrEmpty`` drops the attribute from the flow; ``Redact``
  passes its value but marks it to be logged as "[Redact]";
- ``SelectUniqueValue`` works only where a uniqueness check exists (Entra offers
  it for provisioning to Active Directory only); it must be outermost;
- ``SingleAppRoleAssignment`` returns one role of several (here the first).

Randomness (``Guid``, ``RandomString``) and time (``Now``) come from the
evaluation environment's seeded generator and clock, never from the system.

Each implementation receives the running evaluation (``run``) and either the
argument values (omitted arguments are ``None``) or, for ``lazy`` functions that
decide what to evaluate (``IIF``, ``Switch``, ``Coalesce``...), the argument nodes.
"""

from __future__ import annotations

import base64
import re
import string
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Callable

from . import dates
from .errors import ExpressionEvaluationError, ExpressionSyntaxError
from .nodes import Call, Literal, Omitted
from .values import as_list, is_null_or_empty, to_text

#: VBA constants the language knows (InStr's compareType), with their VBA values.
CONSTANTS = {"vbBinaryCompare": 0, "vbTextCompare": 1}

#: Characters RandomString may use as "special characters" (Windows password complexity rules).
SPECIAL_CHARACTERS = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/"


class FlowIgnored(Exception):
    """Raised by IgnoreFlowIfNullOrEmpty: the attribute leaves the flow, wherever the call sits."""


class SwitchNulled(Exception):
    """Raised by Switch under the optional "Switch evaluates to null when its source did not change" fault."""


@dataclass(frozen=True)
class FunctionSpec:
    """One function: its parameters (for messages and docs), how many arguments it takes, its code."""

    name: str
    params: tuple[str, ...]
    min_args: int
    max_args: int | None  # None: any number from min_args
    impl: Callable[..., Any]
    lazy: bool = False
    even: bool = False  # Switch: the argument count must be even
    check: Callable[[Call, str], None] | None = None  # parse-time rule beyond the count
    top_level_only: bool = False

    def accepts(self, count: int) -> bool:
        if count < self.min_args or (self.max_args is not None and count > self.max_args):
            return False
        return not (self.even and count % 2)

    def expected(self) -> str:
        """The accepted argument count in words, e.g. ``3 arguments (source, start, length)``."""
        names = ", ".join(self.params)
        if self.even:
            return f"an even number of arguments, at least {self.min_args} ({names})"
        if self.max_args is None:
            return f"at least {self.min_args} argument{'s' if self.min_args != 1 else ''} ({names})"
        if self.min_args == self.max_args:
            if self.min_args == 0:
                return "no arguments"
            return f"{self.min_args} argument{'s' if self.min_args != 1 else ''} ({names})"
        joiner = "or" if self.max_args == self.min_args + 1 else "to"
        return f"{self.min_args} {joiner} {self.max_args} arguments ({names})"

    @property
    def signature(self) -> str:
        return f"{self.name}({', '.join(self.params)})"


FUNCTIONS: dict[str, FunctionSpec] = {}


def function(name: str, params: str, min_args: int, max_args: int | None = -1, *, lazy: bool = False, even: bool = False,
             check: Callable[[Call, str], None] | None = None, top_level_only: bool = False):
    """Register an implementation; ``max_args=-1`` means "as many as min_args", None "unbounded"."""
    def register(impl):
        FUNCTIONS[name] = FunctionSpec(name, tuple(p.strip() for p in params.split(",")) if params else (), min_args,
                                       min_args if max_args == -1 else max_args, impl, lazy, even, check, top_level_only)
        return impl
    return register


# ------------------------------------------------------------------ argument helpers


def _fail(name: str, message: str) -> ExpressionEvaluationError:
    return ExpressionEvaluationError(f"{name}: {message}", name)


def _text(name: str, value: Any) -> str | None:
    return to_text(value, name)


def _integer(name: str, value: Any, what: str) -> int:
    """A whole number from a number or numeric text; anything else is an evaluation error."""
    if isinstance(value, bool) or value is None:
        raise _fail(name, f"{what} must be a number, got {'null' if value is None else to_text(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        if re.fullmatch(r"&[Hh][0-9A-Fa-f]+", text):
            return int(text[2:], 16)
    raise _fail(name, f"{what} must be a whole number, got '{to_text(value)}'")


def _datetime(name: str, value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    text = _text(name, value)
    try:
        return dates.parse_loose(text)
    except dates.DateFormatError as exc:
        raise _fail(name, str(exc)) from None


def _interval(name: str, value: Any) -> str:
    interval = _text(name, value)
    if interval not in dates.INTERVALS:
        raise _fail(name, f"interval must be one of {', '.join(dates.INTERVALS)}, got {interval!r}")
    return interval


def _truth(name: str, value: Any) -> bool:
    """A condition's truth: a boolean, or the text True/False in any case."""
    if isinstance(value, bool):
        return value
    text = _text(name, value)
    if text is not None and text.lower() in ("true", "false"):
        return text.lower() == "true"
    shown = "null" if text is None else f"'{text}'"
    raise _fail(name, f"the condition must be True or False, got {shown}")


def _upper_char(ch: str) -> str:
    up = ch.upper()
    return up if len(up) == 1 else ch


def _lower_char(ch: str) -> str:
    low = ch.lower()
    return low if len(low) == 1 else ch


_CULTURE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def _culture(name: str, value: Any) -> str:
    culture = _text(name, value)
    if culture is None or culture == "":
        return ""
    if not _CULTURE.match(culture):
        raise _fail(name, f"'{culture}' is not a culture name such as en-US or tr-TR")
    return culture.split("-")[0].lower()


def _check_literal_culture(call: Call, text: str) -> None:
    if len(call.args) > 1 and isinstance(call.args[1], Literal) and isinstance(call.args[1].value, str):
        value = call.args[1].value
        if value and not _CULTURE.match(value):
            raise ExpressionSyntaxError(f"{call.name}: '{value}' is not a culture name such as en-US or tr-TR", text,
                                        call.args[1].position)


# ------------------------------------------------------------------ text


@function("Append", "source, suffix", 2)
def _append(run, args):
    source = _text("Append", args[0])
    if source is None:
        return None
    return source + (_text("Append", args[1]) or "")


@function("Join", "separator, source1, source2, ...", 2, None)
def _join(run, args):
    separator = _text("Join", args[0]) or ""
    if all(value is None for value in args[1:]):
        return None
    parts = []
    for value in args[1:]:
        for item in as_list(value):
            text = _text("Join", item)
            if text:
                parts.append(text)
    return separator.join(parts)


@function("Left", "String, NumChars", 2)
def _left(run, args):
    source = _text("Left", args[0])
    count = _integer("Left", args[1], "NumChars")
    if source is None or count == 0:
        return ""
    if count < 0:
        return source
    return source[:count]


@function("Mid", "source, start, length", 3)
def _mid(run, args):
    source = _text("Mid", args[0])
    start = _integer("Mid", args[1], "start")
    length = _integer("Mid", args[2], "length")
    if start < 1:
        raise _fail("Mid", f"start is 1-based and must be 1 or more, got {start}")
    if length < 0:
        raise _fail("Mid", f"length must be 0 or more, got {length}")
    if source is None:
        return None
    return source[start - 1:start - 1 + length]


@function("Word", "String, WordNumber, Delimiters", 3)
def _word(run, args):
    source = _text("Word", args[0])
    number = _integer("Word", args[1], "WordNumber")
    delimiters = _text("Word", args[2]) or ""
    if source is None or number < 1:
        return ""
    if delimiters:
        words = [w for w in re.split("[" + re.escape(delimiters) + "]", source) if w]
    else:
        words = [source] if source else []
    return words[number - 1] if number <= len(words) else ""


@function("StripSpaces", "source", 1)
def _strip_spaces(run, args):
    source = _text("StripSpaces", args[0])
    return None if source is None else source.replace(" ", "")


@function("ToLower", "source, culture", 1, 2, check=_check_literal_culture)
def _to_lower(run, args):
    source = _text("ToLower", args[0])
    culture = _culture("ToLower", args[1] if len(args) > 1 else None)
    if source is None:
        return None
    if culture in ("tr", "az"):
        source = source.replace("I", "ı").replace("İ", "i")
    return "".join(_lower_char(ch) for ch in source)


@function("ToUpper", "source, culture", 1, 2, check=_check_literal_culture)
def _to_upper(run, args):
    source = _text("ToUpper", args[0])
    culture = _culture("ToUpper", args[1] if len(args) > 1 else None)
    if source is None:
        return None
    if culture in ("tr", "az"):
        source = source.replace("i", "İ").replace("ı", "I")
    return "".join(_upper_char(ch) for ch in source)


_APOSTROPHES = {"'", "\u2019"}


def _default_separator(ch: str) -> bool:
    """Word separators of .NET's ToTitleCase: spaces, controls, punctuation and symbols, apostrophes excepted."""
    return ch not in _APOSTROPHES and unicodedata.category(ch)[0] in "ZCPS"


@function("PCase", "source, wordSeparators", 1, 2)
def _pcase(run, args):
    source = _text("PCase", args[0])
    separators = _text("PCase", args[1]) if len(args) > 1 else None
    if source is None:
        return None
    is_separator = (lambda ch: ch in separators) if separators else _default_separator
    out, word_start = [], True
    for ch in source:
        if is_separator(ch):
            out.append(ch)
            word_start = True
        elif word_start:
            out.append(_upper_char(ch))
            word_start = False
        else:
            out.append(_lower_char(ch))
    return "".join(out)


_DIACRITIC_LETTERS = {"æ": "ae", "Æ": "AE", "ø": "oe", "Ø": "OE", "œ": "oe", "Œ": "OE", "ß": "ss",
                      "ł": "l", "Ł": "L", "ı": "i"}


def _is_latin(ch: str) -> bool:
    code = ord(ch)
    return code < 0x250 or 0x1E00 <= code <= 0x1EFF


def normalize_diacritics(text: str) -> str:
    """Latin letters without their accents (Zoë -> Zoe, Łukasz -> Lukasz, Æsa -> AEsa); other scripts untouched."""
    out: list[str] = []
    previous_latin = False
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.combining(ch):
            if previous_latin:
                continue
            out.append(ch)
            continue
        previous_latin = _is_latin(ch)
        out.append(_DIACRITIC_LETTERS.get(ch, ch))
    return unicodedata.normalize("NFC", "".join(out))


@function("NormalizeDiacritics", "source", 1)
def _normalize_diacritics(run, args):
    source = _text("NormalizeDiacritics", args[0])
    return None if source is None else normalize_diacritics(source)


@function("InStr", "value1, value2, start, compareType", 2, 4)
def _instr(run, args):
    haystack = _text("InStr", args[0])
    needle = _text("InStr", args[1])
    start = _integer("InStr", args[2], "start") if len(args) > 2 and args[2] is not None else 1
    compare = args[3] if len(args) > 3 else None
    if start < 1:
        raise _fail("InStr", f"start is 1-based and must be 1 or more, got {start}")
    if haystack is None or needle is None:
        return None
    if compare is not None:
        mode = CONSTANTS.get(compare, compare) if isinstance(compare, str) else compare
        if mode not in (0, 1) or isinstance(mode, bool):
            raise _fail("InStr", f"compareType must be vbBinaryCompare or vbTextCompare, got {to_text(compare)!r}")
        if mode == 1:
            haystack = "".join(_lower_char(ch) for ch in haystack)
            needle = "".join(_lower_char(ch) for ch in needle)
    return haystack.find(needle, start - 1) + 1


@function("ConvertToBase64", "source", 1)
def _to_base64(run, args):
    source = _text("ConvertToBase64", args[0])
    return None if source is None else base64.b64encode(source.encode("utf-16-le")).decode("ascii")


@function("ConvertToUTF8Hex", "source", 1)
def _to_utf8_hex(run, args):
    source = _text("ConvertToUTF8Hex", args[0])
    return None if source is None else source.encode("utf-8").hex().upper()


@function("Split", "source, delimiter", 2)
def _split(run, args):
    source = _text("Split", args[0])
    delimiter = _text("Split", args[1])
    if not delimiter:
        raise _fail("Split", "the delimiter is empty")
    return None if source is None else source.split(delimiter)


# ------------------------------------------------------------------ Replace


_NET_GROUP = re.compile(r"\(\?<([A-Za-z_][A-Za-z0-9_]*)>|\(\?'([A-Za-z_][A-Za-z0-9_]*)'|\\k<([A-Za-z_][A-Za-z0-9_]*)>")


@lru_cache(maxsize=256)
def compile_net_regex(pattern: str) -> re.Pattern:
    """Compile a .NET regular expression: ``(?<name>...)`` and ``\\k<name>`` become Python's spelling."""
    def translate(match: re.Match) -> str:
        if match.group(3):
            return f"(?P={match.group(3)})"
        return f"(?P<{match.group(1) or match.group(2)}>"
    return re.compile(_NET_GROUP.sub(translate, pattern))


_NET_SUBSTITUTION = re.compile(r"\$(\$|&|\{([A-Za-z_][A-Za-z0-9_]*|\d+)\}|(\d+))")


def _expand_net(template: str, match: re.Match) -> str:
    """Expand a .NET replacement string (``$1``, ``${name}``, ``$&``, ``$$``) for one match."""
    def substitute(sub: re.Match) -> str:
        token = sub.group(1)
        if token == "$":
            return "$"
        if token == "&":
            return match.group(0)
        key = sub.group(2) or sub.group(3)
        ref: int | str = int(key) if key.isdigit() else key
        try:
            return match.group(ref) or ""
        except IndexError:  # no such group: .NET leaves the text as written
            return sub.group(0)
    return _NET_SUBSTITUTION.sub(substitute, template)


_REPLACE_PARAMS = ("source", "oldValue", "regexPattern", "regexGroupName", "replacementValue",
                   "replacementAttributeName", "template")


def _replace_mode(present: list[bool]) -> str | None:
    _src, old, pattern, group, replacement, attribute, template = present
    if old and pattern:
        return None
    if old and template:
        return "template"
    if old and replacement:
        return "plain"
    if pattern and group and attribute:
        return "fallback"
    if pattern and group and replacement:
        return "group"
    if pattern and replacement:
        return "regex"
    return None


def _check_replace(call: Call, text: str) -> None:
    present = [not isinstance(arg, Omitted) for arg in call.args]
    if _replace_mode(present) is None:
        if present[1] and present[2]:
            reason = "Replace takes oldValue or regexPattern, not both"
        else:
            reason = ("Replace needs oldValue with replacementValue or template, or regexPattern with replacementValue, "
                      "or regexPattern and regexGroupName with replacementValue or replacementAttributeName")
        raise ExpressionSyntaxError(reason, text, call.position)
    pattern = call.args[2]
    if isinstance(pattern, Literal) and isinstance(pattern.value, str):
        try:
            compiled = compile_net_regex(pattern.value)
        except re.error as exc:
            raise ExpressionSyntaxError(f"Replace: invalid regular expression: {exc}", text, pattern.position) from None
        group = call.args[3]
        if isinstance(group, Literal) and isinstance(group.value, str) and group.value not in compiled.groupindex:
            raise ExpressionSyntaxError(f"Replace: the regular expression has no group named '{group.value}'", text,
                                        group.position)


def _regex(value: Any) -> re.Pattern:
    pattern = _text("Replace", value) or ""
    try:
        return compile_net_regex(pattern)
    except re.error as exc:
        raise _fail("Replace", f"invalid regular expression {pattern!r}: {exc}") from None


@function("Replace", ", ".join(_REPLACE_PARAMS), 7, lazy=True, check=_check_replace)
def _replace(run, nodes):
    present = [not isinstance(node, Omitted) for node in nodes]
    mode = _replace_mode(present)
    source = _text("Replace", run.eval(nodes[0]))
    if mode == "template":
        old = _text("Replace", run.eval(nodes[1])) or ""
        template = _text("Replace", run.eval(nodes[6])) or ""
        if source is None:
            return None
        return template.replace(old, source) if old else template
    if mode == "plain":
        old = _text("Replace", run.eval(nodes[1])) or ""
        new = _text("Replace", run.eval(nodes[4])) or ""
        if source is None:
            return None
        return source.replace(old, new) if old else source
    regex = _regex(run.eval(nodes[2]))
    if mode == "fallback":
        if source:
            return source
        group = _text("Replace", run.eval(nodes[3]))
        other = _text("Replace", run.eval(nodes[5]))
        if other is None:
            return None
        match = regex.search(other)
        if match is None or group not in regex.groupindex:
            return None
        return match.group(group)
    replacement = _text("Replace", run.eval(nodes[4])) or ""
    if source is None:
        return None
    if mode == "regex":
        return regex.sub(lambda m: _expand_net(replacement, m), source)
    group = _text("Replace", run.eval(nodes[3]))
    if group not in regex.groupindex:
        raise _fail("Replace", f"the regular expression has no group named '{group}'")
    out, last = [], 0
    for match in regex.finditer(source):
        begin, end = match.span(group)
        if begin < 0 or begin < last:
            continue
        out.append(source[last:begin])
        out.append(_expand_net(replacement, match))
        last = end
    out.append(source[last:])
    return "".join(out)


# ------------------------------------------------------------------ conditions and predicates


@function("IIF", "condition, valueIfTrue, valueIfFalse", 3, lazy=True)
def _iif(run, nodes):
    condition = nodes[0]
    for name in sorted(condition.attributes()):
        if is_null_or_empty(run.lookup(name)):
            raise _fail("IIF", f"the condition reads [{name}], which is null or empty; Entra fails the condition check "
                               "(use Switch with an \"\" key to handle empty values)")
    if _truth("IIF", run.eval(condition)):
        return run.eval(nodes[1])
    return run.eval(nodes[2])


@function("Switch", "source, defaultValue, key1, value1, ...", 4, None, lazy=True, even=True)
def _switch(run, nodes):
    source_node = nodes[0]
    if run.env.switch_nulls_unchanged_source and run.changed is not None and not (source_node.attributes() & run.changed):
        raise SwitchNulled()
    source = _text("Switch", run.eval(source_node)) or ""
    for index in range(2, len(nodes), 2):
        key = _text("Switch", run.eval(nodes[index])) or ""
        if key == source:
            return run.eval(nodes[index + 1])
    return run.eval(nodes[1])


@function("Coalesce", "source1, source2, ..., defaultValue", 1, None, lazy=True)
def _coalesce(run, nodes):
    for node in nodes:
        value = run.eval(node)
        if value is not None and value != []:
            return value
    return None


@function("IgnoreFlowIfNullOrEmpty", "expression", 1)
def _ignore_flow(run, args):
    if is_null_or_empty(args[0]):
        raise FlowIgnored()
    return args[0]


@function("IsNull", "Expression", 1)
def _is_null(run, args):
    return args[0] is None or args[0] == []


@function("IsNullOrEmpty", "Expression", 1)
def _is_null_or_empty(run, args):
    return is_null_or_empty(args[0])


@function("IsPresent", "Expression", 1)
def _is_present(run, args):
    return not is_null_or_empty(args[0])


@function("IsString", "Expression", 1)
def _is_string(run, args):
    return isinstance(args[0], str)


@function("Not", "source", 1)
def _not(run, args):
    value = args[0]
    if isinstance(value, bool):
        return not value
    text = _text("Not", value)
    return not (text is not None and text.lower() == "true")


@function("CBool", "Expression", 1)
def _cbool(run, args):
    value = args[0]
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    text = _text("CBool", value).strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    try:
        return float(text) != 0
    except ValueError:
        raise _fail("CBool", f"'{text}' is neither a number nor True/False") from None


# ------------------------------------------------------------------ conversion, numbers, multi-valued


@function("CStr", "value", 1)
def _cstr(run, args):
    return _text("CStr", args[0])


@function("BitAnd", "value1, value2", 2)
def _bitand(run, args):
    return _integer("BitAnd", args[0], "value1") & _integer("BitAnd", args[1], "value2")


@function("Count", "attribute", 1)
def _count(run, args):
    return len(as_list(args[0]))


@function("Item", "attribute, index", 2)
def _item(run, args):
    values = as_list(args[0])
    index = _integer("Item", args[1], "index")
    if index < 1:
        raise _fail("Item", f"index is 1-based and must be 1 or more, got {index}")
    return values[index - 1] if index <= len(values) else None


@function("RemoveDuplicates", "attribute", 1)
def _remove_duplicates(run, args):
    if args[0] is None:
        return None
    seen: list = []
    for item in as_list(args[0]):
        if item not in seen:
            seen.append(item)
    return seen


# ------------------------------------------------------------------ dates


@function("CDate", "expression", 1)
def _cdate(run, args):
    return _datetime("CDate", args[0])


@function("Now", "", 0)
def _now(run, args):
    return run.env.now().astimezone(timezone.utc).replace(microsecond=0)


@function("DateAdd", "interval, value, dateTime", 3)
def _date_add(run, args):
    interval = _interval("DateAdd", args[0])
    number = _integer("DateAdd", args[1], "value")
    moment = _datetime("DateAdd", args[2])
    if moment is None:
        return None
    try:
        return dates.date_add(interval, number, moment)
    except (OverflowError, ValueError):
        raise _fail("DateAdd", "the resulting date is out of range") from None


@function("DateDiff", "interval, date1, date2", 3)
def _date_diff(run, args):
    interval = _interval("DateDiff", args[0])
    first = _datetime("DateDiff", args[1])
    second = _datetime("DateDiff", args[2])
    if first is None or second is None:
        return None
    return dates.date_diff(interval, first, second)


@function("DateFromNum", "value", 1)
def _date_from_num(run, args):
    if args[0] is None:
        return None
    ticks = _integer("DateFromNum", args[0], "value")
    try:
        return dates.from_file_time(ticks)
    except OverflowError:
        raise _fail("DateFromNum", f"{ticks} is out of the range of dates") from None


@function("NumFromDate", "value", 1)
def _num_from_date(run, args):
    moment = _datetime("NumFromDate", args[0])
    return None if moment is None else dates.to_file_time(moment)


def _styles(value: Any) -> frozenset[str]:
    text = _text("FormatDateTime", value)
    if not text:
        return dates.DEFAULT_STYLES
    names = {name.strip() for name in text.replace("|", ",").split(",") if name.strip()}
    unknown = names - dates.DATETIME_STYLES
    if unknown:
        raise _fail("FormatDateTime", f"unknown dateTimeStyles {', '.join(sorted(unknown))}; "
                                      f"known: {', '.join(sorted(dates.DATETIME_STYLES))}")
    return frozenset(names)


@function("FormatDateTime", "source, dateTimeStyles, inputFormat, outputFormat", 3, 4)
def _format_date_time(run, args):
    if len(args) == 3:  # the older three-argument form: (source, inputFormat, outputFormat)
        source, styles, input_format, output_format = args[0], None, args[1], args[2]
    else:
        source, styles, input_format, output_format = args
    style_set = _styles(styles)
    input_text = _text("FormatDateTime", input_format)
    output_text = _text("FormatDateTime", output_format)
    if not input_text or not output_text:
        raise _fail("FormatDateTime", "inputFormat and outputFormat are required")
    if source is None:
        return None
    try:
        moment = source if isinstance(source, datetime) else dates.parse_net(_text("FormatDateTime", source), input_text, style_set)
        return dates.format_net(moment, output_text)
    except dates.DateFormatError as exc:
        raise _fail("FormatDateTime", str(exc)) from None


# ------------------------------------------------------------------ generated values


@function("Guid", "", 0)
def _guid(run, args):
    return str(uuid.UUID(int=run.env.rng.getrandbits(128), version=4))


@function("RandomString", "Length, MinimumNumbers, MinimumSpecialCharacters, MinimumCapital, MinimumLowerCase, "
                          "CharactersToAvoid", 5, 6)
def _random_string(run, args):
    names = ("Length", "MinimumNumbers", "MinimumSpecialCharacters", "MinimumCapital", "MinimumLowerCase")
    length, numbers, specials, capitals, lowers = (_integer("RandomString", args[i], names[i]) for i in range(5))
    avoid = set(_text("RandomString", args[5]) or "") if len(args) > 5 else set()
    if not 1 <= length <= 256:
        raise _fail("RandomString", f"Length must be between 1 and 256, got {length}")
    if min(numbers, specials, capitals, lowers) < 0:
        raise _fail("RandomString", "the minimum counts cannot be negative")
    if numbers + specials + capitals + lowers > length:
        raise _fail("RandomString", f"the minimum counts add up to {numbers + specials + capitals + lowers}, "
                                    f"more than Length {length}")
    pools = [([c for c in pool if c not in avoid], minimum, label) for pool, minimum, label in (
        (string.digits, numbers, "numbers"), (SPECIAL_CHARACTERS, specials, "special characters"),
        (string.ascii_uppercase, capitals, "capital letters"), (string.ascii_lowercase, lowers, "lower-case letters"))]
    rng = run.env.rng
    chars: list[str] = []
    for pool, minimum, label in pools:
        if minimum and not pool:
            raise _fail("RandomString", f"CharactersToAvoid leaves no {label}")
        chars.extend(rng.choice(pool) for _ in range(minimum))
    everything = [c for pool, _minimum, _label in pools for c in pool]
    if not everything:
        raise _fail("RandomString", "CharactersToAvoid leaves no characters")
    chars.extend(rng.choice(everything) for _ in range(length - len(chars)))
    rng.shuffle(chars)
    return "".join(chars)


@function("Redact", "attribute/value", 1)
def _redact(run, args):
    run.redacted = True
    return args[0]


@function("SelectUniqueValue", "uniqueValueRule1, uniqueValueRule2, ...", 2, None, lazy=True, top_level_only=True)
def _select_unique_value(run, nodes):
    check = run.env.unique_value_check
    if check is None:
        raise _fail("SelectUniqueValue", "Entra supports it only for provisioning to Active Directory "
                                         "(Workday, SuccessFactors, API-driven); this target cannot check uniqueness")
    tried = []
    for node in nodes:
        value = _text("SelectUniqueValue", run.eval(node))
        if not value:
            continue
        if check(value):
            return value
        tried.append(value)
    raise _fail("SelectUniqueValue", f"every generated value already exists in the target: {', '.join(tried)}")


# ------------------------------------------------------------------ app roles


def _role_assignments(name: str, value: Any) -> list[dict]:
    roles = []
    for item in as_list(value):
        if isinstance(item, dict):
            roles.append(item)
        elif item is not None:
            roles.append({"value": _text(name, item), "displayName": _text(name, item)})
    return roles


@function("SingleAppRoleAssignment", "[appRoleAssignments]", 1)
def _single_app_role_assignment(run, args):
    roles = _role_assignments("SingleAppRoleAssignment", args[0])
    return roles[0].get("value") if roles else None


def _complex_roles(name: str, value: Any) -> list[dict] | None:
    roles = _role_assignments(name, value)
    if not roles:
        return None
    return [{"primary": False, "type": "WindowsAzureActiveDirectoryRole", "display": role.get("displayName"),
             "value": role.get("value")} for role in roles]


@function("AppRoleAssignmentsComplex", "[appRoleAssignments]", 1)
def _app_role_assignments_complex(run, args):
    return _complex_roles("AppRoleAssignmentsComplex", args[0])


@function("AssertiveAppRoleAssignmentsComplex", "[appRoleAssignments]", 1)
def _assertive_app_role_assignments_complex(run, args):
    return _complex_roles("AssertiveAppRoleAssignmentsComplex", args[0])
