"""Dates as Entra's date functions see them: .NET format strings, loose date parsing, AD file times.

Entra's provisioning service is a .NET service: ``FormatDateTime`` takes .NET
custom date and time format strings (``yyyyMMddHHmmss.fZ``, ``M/d/yyyy hh:mm:ss tt``),
``CDate`` accepts ISO 8601 with or without time and offset (``2020-03-16-07:00``)
as well as its own output (``3/16/2020 7:00:00 AM``), and Active Directory dates
are 100-nanosecond ticks since 1601-01-01 UTC. All formatting and parsing here
uses the invariant culture, and every moment is an aware UTC ``datetime``: an
input with an offset is converted to UTC, as the documented examples show.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

MONTHS = list(calendar.month_name)[1:]
MONTHS_ABBR = list(calendar.month_abbr)[1:]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
DAYS_ABBR = [d[:3] for d in DAYS]

#: 1601-01-01 UTC, the epoch of Active Directory's file times.
AD_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)

#: .NET standard format strings (one letter) as custom patterns of the invariant culture.
STANDARD_FORMATS = {
    "d": "MM/dd/yyyy", "D": "dddd, dd MMMM yyyy", "f": "dddd, dd MMMM yyyy HH:mm", "F": "dddd, dd MMMM yyyy HH:mm:ss",
    "g": "MM/dd/yyyy HH:mm", "G": "MM/dd/yyyy HH:mm:ss", "m": "MMMM dd", "M": "MMMM dd",
    "o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK", "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
    "r": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'", "R": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
    "s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss", "t": "HH:mm", "T": "HH:mm:ss", "u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
    "U": "dddd, dd MMMM yyyy HH:mm:ss", "y": "yyyy MMMM", "Y": "yyyy MMMM",
}

#: .NET DateTimeStyles names FormatDateTime accepts in its second argument.
DATETIME_STYLES = {"None", "AllowLeadingWhite", "AllowTrailingWhite", "AllowInnerWhite", "AllowWhiteSpaces",
                   "NoCurrentDateDefault", "AdjustToUniversal", "AssumeLocal", "AssumeUniversal", "RoundtripKind"}

#: What FormatDateTime uses when its dateTimeStyles argument is left empty.
DEFAULT_STYLES = frozenset({"RoundtripKind", "AllowLeadingWhite", "AllowTrailingWhite"})


class DateFormatError(ValueError):
    """A format string or a date text that cannot be used; the message says which and why."""


# ------------------------------------------------------------------ format strings


@dataclass(frozen=True)
class _Part:
    kind: str  # a specifier letter ("y", "M", "d", "h", "H", "m", "s", "f", "F", "t", "z", "K", "g") or "literal"
    count: int
    text: str = ""


_SPECIFIERS = set("yMdhHmsfFtzKg")


def _tokenize_format(fmt: str) -> list[_Part]:
    if len(fmt) == 1:
        if fmt not in STANDARD_FORMATS:
            raise DateFormatError(f"'{fmt}' is not a .NET standard date format")
        fmt = STANDARD_FORMATS[fmt]
    parts: list[_Part] = []
    i, n = 0, len(fmt)
    while i < n:
        ch = fmt[i]
        if ch in "'\"":
            end = fmt.find(ch, i + 1)
            if end == -1:
                raise DateFormatError(f"unterminated quoted text in date format '{fmt}'")
            parts.append(_Part("literal", 0, fmt[i + 1:end]))
            i = end + 1
        elif ch == "\\":
            if i + 1 >= n:
                raise DateFormatError(f"date format '{fmt}' ends with a lone backslash")
            parts.append(_Part("literal", 0, fmt[i + 1]))
            i += 2
        elif ch == "%":
            i += 1  # "%d": a single custom specifier
        elif ch in _SPECIFIERS:
            j = i
            while j < n and fmt[j] == ch:
                j += 1
            count = j - i
            if ch in "fF" and count > 7:
                raise DateFormatError(f"date format '{fmt}' has more than 7 '{ch}' characters")
            parts.append(_Part(ch, count))
            i = j
        elif ch == ":":
            parts.append(_Part("literal", 0, ":"))
            i += 1
        elif ch == "/":
            parts.append(_Part("literal", 0, "/"))
            i += 1
        else:
            parts.append(_Part("literal", 0, ch))
            i += 1
    return parts


def _offset_text(moment: datetime, count: int) -> str:
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    hours, mins = divmod(minutes, 60)
    if count == 1:
        return f"{sign}{hours}"
    if count == 2:
        return f"{sign}{hours:02d}"
    return f"{sign}{hours:02d}:{mins:02d}"


def format_net(moment: datetime, fmt: str) -> str:
    """Format ``moment`` with a .NET custom (or one-letter standard) date format, invariant culture."""
    out: list[str] = []
    for part in _tokenize_format(fmt):
        k, c = part.kind, part.count
        if k == "literal":
            out.append(part.text)
        elif k == "y":
            out.append(f"{moment.year % 100}" if c == 1 else f"{moment.year % 100:02d}" if c == 2 else f"{moment.year:0{c}d}")
        elif k == "M":
            out.append(str(moment.month) if c == 1 else f"{moment.month:02d}" if c == 2
                       else MONTHS_ABBR[moment.month - 1] if c == 3 else MONTHS[moment.month - 1])
        elif k == "d":
            out.append(str(moment.day) if c == 1 else f"{moment.day:02d}" if c == 2
                       else DAYS_ABBR[moment.weekday()] if c == 3 else DAYS[moment.weekday()])
        elif k == "h":
            h12 = moment.hour % 12 or 12
            out.append(str(h12) if c == 1 else f"{h12:02d}")
        elif k == "H":
            out.append(str(moment.hour) if c == 1 else f"{moment.hour:02d}")
        elif k == "m":
            out.append(str(moment.minute) if c == 1 else f"{moment.minute:02d}")
        elif k == "s":
            out.append(str(moment.second) if c == 1 else f"{moment.second:02d}")
        elif k in "fF":
            digits = f"{moment.microsecond:06d}0"[:c]
            out.append(digits if k == "f" else digits.rstrip("0"))
        elif k == "t":
            ampm = "AM" if moment.hour < 12 else "PM"
            out.append(ampm[:1] if c == 1 else ampm)
        elif k == "z":
            out.append(_offset_text(moment, c))
        elif k == "K":
            offset = moment.utcoffset()
            out.append("" if offset is None else "Z" if offset == timedelta(0) else _offset_text(moment, 3))
        elif k == "g":
            out.append("A.D.")
    return "".join(out)


def parse_net(text: str, fmt: str, styles: set[str] | frozenset[str] | None = None) -> datetime:
    """Parse ``text`` exactly as .NET's ``ParseExact(text, fmt, invariant, styles)`` would; return UTC.

    Unless ``AssumeLocal`` is given (local time is UTC in the simulator anyway),
    a text without an offset is taken as UTC; a text with one is converted to UTC.
    """
    styles = DEFAULT_STYLES if styles is None else styles
    if styles & {"AllowLeadingWhite", "AllowWhiteSpaces"}:
        text = text.lstrip()
    if styles & {"AllowTrailingWhite", "AllowWhiteSpaces"}:
        text = text.rstrip()
    pattern: list[str] = []
    groups: list[_Part] = []
    for part in _tokenize_format(fmt):
        k, c = part.kind, part.count
        if k == "literal":
            pattern.append(r"\s*" if part.text == " " and "AllowInnerWhite" in styles else re.escape(part.text))
            continue
        if k == "y":
            rx = r"(\d{1,2})" if c == 1 else r"(\d{2})" if c == 2 else rf"(\d{{{c}}})"
        elif k == "M":
            rx = r"(\d{1,2})" if c == 1 else r"(\d{2})" if c == 2 else "(" + "|".join(MONTHS_ABBR if c == 3 else MONTHS) + ")"
        elif k == "d":
            rx = r"(\d{1,2})" if c == 1 else r"(\d{2})" if c == 2 else "(" + "|".join(DAYS_ABBR if c == 3 else DAYS) + ")"
        elif k in "hHms":
            rx = r"(\d{1,2})" if c == 1 else r"(\d{2})"
        elif k == "f":
            rx = rf"(\d{{{c}}})"
        elif k == "F":
            rx = rf"(\d{{0,{c}}})"
        elif k == "t":
            rx = "(A|P)" if c == 1 else "(AM|PM)"
        elif k == "z":
            rx = r"([+-]\d{1,2})" if c == 1 else r"([+-]\d{2})" if c == 2 else r"([+-]\d{2}:\d{2})"
        elif k == "K":
            rx = r"(Z|[+-]\d{2}:\d{2}|)"
        else:  # era
            rx = r"(A\.D\.|AD)"
        pattern.append(rx)
        groups.append(part)
    match = re.fullmatch("".join(pattern), text, re.IGNORECASE)
    if match is None:
        raise DateFormatError(f"'{text}' does not match the date format '{fmt}'")
    fields = {"year": 1, "month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0, "micro": 0}
    hour12: int | None = None
    pm: bool | None = None
    offset: timedelta | None = None
    for part, value in zip(groups, match.groups()):
        k, c = part.kind, part.count
        if k == "y":
            year = int(value)
            fields["year"] = (2000 + year if year < 30 else 1900 + year) if c <= 2 else year
        elif k == "M":
            fields["month"] = int(value) if c <= 2 else (MONTHS_ABBR if c == 3 else MONTHS).index(value.title()) + 1
        elif k == "d" and c <= 2:
            fields["day"] = int(value)
        elif k == "h":
            hour12 = int(value)
        elif k == "H":
            fields["hour"] = int(value)
        elif k == "m":
            fields["minute"] = int(value)
        elif k == "s":
            fields["second"] = int(value)
        elif k in "fF":
            fields["micro"] = int((value + "000000")[:6]) if value else 0
        elif k == "t":
            pm = value.upper().startswith("P")
        elif k in "zK" and value:
            offset = _parse_offset(value)
    if hour12 is not None:
        fields["hour"] = hour12 % 12 + (12 if pm else 0)
    elif pm is not None and fields["hour"] < 12 and pm:
        fields["hour"] += 12
    try:
        moment = datetime(fields["year"], fields["month"], fields["day"], fields["hour"], fields["minute"],
                          fields["second"], fields["micro"], tzinfo=timezone(offset) if offset is not None else timezone.utc)
    except ValueError as exc:
        raise DateFormatError(f"'{text}' is not a valid date: {exc}") from None
    return moment.astimezone(timezone.utc)


def _parse_offset(text: str) -> timedelta:
    if text.upper() == "Z":
        return timedelta(0)
    sign = -1 if text[0] == "-" else 1
    hours, _, minutes = text[1:].partition(":")
    return sign * timedelta(hours=int(hours), minutes=int(minutes or 0))


# ------------------------------------------------------------------ loose parsing (CDate)

_ISO = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[T ](?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,7}))?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?")
_US = re.compile(
    r"(?P<mo>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})"
    r"(?:\s+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?\s*(?P<ampm>AM|PM)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?", re.IGNORECASE)


def parse_loose(text: str) -> datetime:
    """Read a date the way ``CDate`` documents: ISO 8601 (time and offset optional) or ``M/d/yyyy h:mm:ss tt``."""
    text = text.strip()
    match = _ISO.fullmatch(text) or _US.fullmatch(text)
    if match is None:
        raise DateFormatError(f"'{text}' is not a date and time CDate can read")
    parts = match.groupdict()
    hour = int(parts["h"] or 0)
    ampm = parts.get("ampm")
    if ampm:
        if not 1 <= hour <= 12:
            raise DateFormatError(f"'{text}' has hour {hour} with {ampm.upper()}")
        hour = hour % 12 + (12 if ampm.upper() == "PM" else 0)
    micro = int(((parts.get("f") or "") + "000000")[:6])
    tz = parts["tz"]
    offset = timedelta(0)
    if tz and tz.upper() != "Z":
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    try:
        moment = datetime(int(parts["y"]), int(parts["mo"]), int(parts["d"]), hour, int(parts["mi"] or 0),
                          int(parts["s"] or 0), micro, tzinfo=timezone(offset))
    except ValueError as exc:
        raise DateFormatError(f"'{text}' is not a valid date: {exc}") from None
    return moment.astimezone(timezone.utc)


# ------------------------------------------------------------------ calendar arithmetic


def add_months(moment: datetime, months: int) -> datetime:
    """Add calendar months, clamping the day to the target month's length (as .NET's AddMonths)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _week_start(moment: datetime) -> datetime:
    """The Sunday that starts ``moment``'s calendar week (VBA weeks start on Sunday)."""
    days_since_sunday = (moment.weekday() + 1) % 7
    return (moment - timedelta(days=days_since_sunday)).replace(hour=0, minute=0, second=0, microsecond=0)


def date_diff(interval: str, first: datetime, second: datetime) -> int:
    """VBA ``DateDiff``: how many interval boundaries lie between ``first`` and ``second`` (negative if earlier)."""
    if interval == "yyyy":
        return second.year - first.year
    if interval == "m":
        return (second.year - first.year) * 12 + second.month - first.month
    if interval == "d":
        return (second.date() - first.date()).days
    if interval == "ww":
        return (_week_start(second) - _week_start(first)).days // 7
    unit = {"h": 3600, "n": 60, "s": 1}[interval]
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    return int((second - epoch).total_seconds() // unit) - int((first - epoch).total_seconds() // unit)


def date_add(interval: str, number: int, moment: datetime) -> datetime:
    """VBA ``DateAdd`` over the intervals Entra documents."""
    if interval == "yyyy":
        return add_months(moment, 12 * number)
    if interval == "m":
        return add_months(moment, number)
    step = {"d": timedelta(days=1), "ww": timedelta(weeks=1), "h": timedelta(hours=1),
            "n": timedelta(minutes=1), "s": timedelta(seconds=1)}[interval]
    return moment + step * number


INTERVALS = ("yyyy", "m", "d", "ww", "h", "n", "s")


def from_file_time(ticks: int) -> datetime:
    """An Active Directory date (100 ns ticks since 1601-01-01 UTC) as a UTC datetime."""
    return AD_EPOCH + timedelta(microseconds=ticks // 10)


def to_file_time(moment: datetime) -> int:
    """A UTC datetime as an Active Directory date."""
    delta = moment - AD_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10
