"""Date expressions in questions: "in January 2026", "before December", "the latest on …"."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

Span = tuple[int, int]

_MONTHS = {
    name.lower(): number
    for number in range(1, 13)
    for name in (calendar.month_name[number], calendar.month_abbr[number])
}
_MONTHS["sept"] = 9
_MONTH = r"(?P<{g}>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<{g}>(?:19|20)\d\d)"
_DAY = r"(?P<{g}>[0-3]?\d)(?:st|nd|rd|th)?"

# One calendar point: an ISO date, a day with month (and year), a month (and year), a year.
_POINT = (
    r"(?:"
    + r"(?P<{p}iso>(?:19|20)\d\d-[01]\d-[0-3]\d)"
    + r"|"
    + _DAY.format(g="{p}d1")
    + r"\s+"
    + _MONTH.format(g="{p}m1")
    + r"(?:,?\s+"
    + _YEAR.format(g="{p}y1")
    + r")?"
    + r"|"
    + _MONTH.format(g="{p}m2")
    + r"\s+"
    + _DAY.format(g="{p}d2")
    + r"(?:,\s*|\s+)"
    + _YEAR.format(g="{p}y2")
    + r"|"
    + _MONTH.format(g="{p}m3")
    + r"(?:,?\s+(?:of\s+)?"
    + _YEAR.format(g="{p}y3")
    + r")?"
    + r"|"
    + _YEAR.format(g="{p}y4")
    + r")"
)
_RANGE_RE = re.compile(
    r"\b(?:between|from)\s+"
    + _POINT.format(p="a")
    + r"\s+(?:and|to|until|till)\s+"
    + _POINT.format(p="b")
    + r"(?![\w-])",
    re.I,
)
_PREPOSITION = (
    r"(?P<prep>before|prior\s+to|earlier\s+than|after|later\s+than|since|from|until|till|up\s+to"
    r"|by|in|during|on|of|as\s+of)"
)
_POINT_RE = re.compile(r"\b" + _PREPOSITION + r"\s+" + _POINT.format(p="x") + r"(?![\w-])", re.I)
_BARE_RE = re.compile(
    r"\b(?:(?P<iso>(?:19|20)\d\d-[01]\d-[0-3]\d)|"
    + _MONTH.format(g="month")
    + r"\s+"
    + _YEAR.format(g="year")
    + r")(?![\w-])",
    re.I,
)
_LATEST_RE = re.compile(r"\b(?:latest|newest|most\s+recent|recent(?:ly)?|lately)\b", re.I)
_EARLIEST_RE = re.compile(
    r"\b(?:earliest|oldest|first)\b(?=\s+(?:news|report|source|article|on|about|mention))", re.I
)
# Words that only say "something was written" once a date is given.
FILLER = frozenset(
    """say said says saying tell told written write wrote published publish reported report
    reports happen happened happening news article articles source sources story stories
    anything mentioned mention new""".split()
)


@dataclass(frozen=True)
class DateQuery:
    """A date range and order asked for in a question, and where it was written."""

    start: dt.date | None
    end: dt.date | None
    order: str | None
    spans: tuple[Span, ...]
    label: str

    @property
    def has_range(self) -> bool:
        """Whether the question names dates (not only an order)."""
        return self.start is not None or self.end is not None


def parse(question: str, newest: dt.date | None) -> DateQuery | None:
    """The date range and order in a question, or None when it names no date."""
    reference = newest or dt.date.today()
    spans: list[Span] = []
    start: dt.date | None = None
    end: dt.date | None = None
    label = ""
    match = _RANGE_RE.search(question)
    if match:
        first = _period(match, "a", reference)
        last = _period(match, "b", reference)
        if first and last:
            start, end = first[0], last[1]
            label = f"{first[2]} to {last[2]}"
            spans.append(match.span())
    if not spans:
        match = _POINT_RE.search(question)
        if match:
            period = _period(match, "x", reference)
            if period:
                start, end, label = _apply(match.group("prep"), period)
                spans.append(match.span())
    if not spans:
        match = _BARE_RE.search(question)
        if match:
            period = _bare_period(match, reference)
            if period:
                start, end, label = period
                spans.append(match.span())
    order = None
    for regex, name in ((_LATEST_RE, "latest"), (_EARLIEST_RE, "earliest")):
        found = regex.search(question)
        if found:
            order = name
            spans.append(found.span())
            break
    if not spans:
        return None
    return DateQuery(start, end, order, tuple(sorted(spans)), label)


def remove(question: str, spans: tuple[Span, ...]) -> str:
    """The question with the date expressions blanked out."""
    out = question
    for s, e in sorted(spans, reverse=True):
        out = out[:s] + " " * (e - s) + out[e:]
    return out


def _apply(
    preposition: str, period: tuple[dt.date, dt.date, str]
) -> tuple[dt.date | None, dt.date | None, str]:
    first, after, label = period
    prep = " ".join(preposition.lower().split())
    if prep in ("before", "prior to", "earlier than"):
        return None, first, f"before {label}"
    if prep in ("after", "later than"):
        return after, None, f"after {label}"
    # "News from 2025" asks for 2025; "from … to …" is a range, read elsewhere.
    if prep in ("since", "as of"):
        return first, None, f"since {label}"
    if prep in ("until", "till", "up to", "by"):
        return None, after, f"until {label}"
    return first, after, label


def _period(
    match: re.Match[str], p: str, reference: dt.date
) -> tuple[dt.date, dt.date, str] | None:
    """The first day and the day after of the point matched under prefix p."""
    g = match.groupdict()
    try:
        if g.get(f"{p}iso"):
            day = dt.date.fromisoformat(g[f"{p}iso"])
            return day, day + dt.timedelta(days=1), day.isoformat()
        for i in (1, 2):
            if g.get(f"{p}m{i}") and g.get(f"{p}d{i}"):
                month = _MONTHS[g[f"{p}m{i}"].lower().rstrip(".")]
                year = int(g[f"{p}y{i}"]) if g.get(f"{p}y{i}") else _recent_year(month, reference)
                day = dt.date(year, month, int(g[f"{p}d{i}"]))
                return day, day + dt.timedelta(days=1), day.isoformat()
        if g.get(f"{p}m3"):
            month = _MONTHS[g[f"{p}m3"].lower().rstrip(".")]
            year = int(g[f"{p}y3"]) if g.get(f"{p}y3") else _recent_year(month, reference)
            return _month(year, month)
        if g.get(f"{p}y4"):
            year = int(g[f"{p}y4"])
            return dt.date(year, 1, 1), dt.date(year + 1, 1, 1), str(year)
    except ValueError:
        return None
    return None


def _bare_period(match: re.Match[str], reference: dt.date) -> tuple[dt.date, dt.date, str] | None:
    try:
        if match.group("iso"):
            day = dt.date.fromisoformat(match.group("iso"))
            return day, day + dt.timedelta(days=1), day.isoformat()
        month = _MONTHS[match.group("month").lower().rstrip(".")]
        return _month(int(match.group("year")), month)
    except ValueError:
        return None


def _month(year: int, month: int) -> tuple[dt.date, dt.date, str]:
    first = dt.date(year, month, 1)
    after = dt.date(year + (month == 12), month % 12 + 1, 1)
    return first, after, f"{calendar.month_name[month]} {year}"


def _recent_year(month: int, reference: dt.date) -> int:
    """The year of the latest such month not after the reference date."""
    return reference.year if month <= reference.month else reference.year - 1
