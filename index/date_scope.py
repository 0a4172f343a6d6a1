"""A question's dates applied to the passage rows: the sources dated in the asked range, the
newest or oldest first when it asks for the latest or earliest, and the opening passage of
each source when a date is all it asks. An undated source is in no range and comes last in
date order: a source is never given a guessed date."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .dates import DateQuery
from .passages import Passages
from .question import QueryTerm, Question

Days = NDArray[np.signedinteger[Any]]


@dataclass(frozen=True, eq=False)
class Scope:
    """What is searched for a question: its terms, and the rows its dates allow (None: all)."""

    terms: tuple[QueryTerm, ...]
    allowed: NDArray[np.bool_] | None
    # No source is dated as asked, and the question asks nothing but a date: its words, if
    # any, are all that is searched, and nothing found means no source of that date.
    date_only: bool = False


def scope(asked: Question, days: Days) -> Scope:
    """The terms and rows searched for a question, given each row's source date."""
    when = asked.dates
    terms = asked.terms
    if when is None or not when.has_range:
        return Scope(terms, None)
    allowed = in_range(days, when)
    if allowed.any():
        return Scope(terms, allowed)
    # No source is dated so; the date may be an event the text tells of ("what happened on
    # 4 January"), so its words are searched, alone or with the rest.
    return Scope((*terms, *asked.date_terms), None, date_only=not terms)


def in_range(days: Days, when: DateQuery) -> NDArray[np.bool_]:
    """Rows whose source date lies in the asked range; undated sources never do."""
    allowed = days > 0
    if when.start is not None:
        allowed &= days >= when.start.toordinal()
    if when.end is not None:
        allowed &= days < when.end.toordinal()
    return allowed


def by_date(
    days: Days, rows: NDArray[np.intp], keep: NDArray[np.intp], order: str
) -> NDArray[np.intp]:
    """Positions keep (into rows) by source date, newest or oldest first and undated last,
    then by position."""
    day = days[rows[keep]]
    undated = day == 0
    key = np.where(undated, 0, -day if order == "latest" else day)
    return keep[np.lexsort((keep, key, undated))]


def leads(
    passages: Passages, allowed: NDArray[np.bool_] | None, order: str | None
) -> NDArray[np.intp]:
    """The opening passage row of each dated source allowed, newest first (oldest first when
    order is "earliest"), then by row."""
    found = np.flatnonzero((passages.ordinals == 0) & (passages.days > 0) & passages.live)
    if allowed is not None:
        found = found[allowed[found]]
    days = passages.days[found]
    return found[np.lexsort((found, days if order == "earliest" else -days))]
