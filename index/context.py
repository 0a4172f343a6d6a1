"""Each passage's document context: its source's title, the source's lead passage and the
passage before it. A word there is about the passage too: a speech names its speaker once,
at the top; a report names its subject in the title and the first paragraph."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

# Which of some passage rows hold any of some stems (the index's postings, asked).
Holds = Callable[[frozenset[str], NDArray[np.intp]], NDArray[np.bool_]]


class DocumentContext:
    """Where each passage row sits in its source, and what passages and titles hold."""

    def __init__(self, ordinals: NDArray[np.integer], holds: Holds, title_holds: Holds) -> None:
        # A source's rows are consecutive, in reading order: its lead passage is `ordinal`
        # rows back, the previous passage one row back.
        self._ordinals = ordinals
        self._holds = holds
        # Title words are held by the row of the source's lead passage.
        self._title_holds = title_holds

    def presence(
        self, rows: NDArray[np.intp], stems: frozenset[str]
    ) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
        """For each row: does it hold a stem; if not, does its source's title; if not, does
        its nearby context (lead passage, previous passage)?

        A word of the title is about every passage of the source; a word nearby may be.
        """
        n = len(rows)
        ordinals = self._ordinals[rows]
        lead = rows - ordinals
        after_first = ordinals > 0
        held = self._holds(stems, np.concatenate((rows, lead, rows[after_first] - 1)))
        direct = held[:n]
        nearby = held[n : 2 * n].copy()
        nearby[after_first] |= held[2 * n :]
        titled = self._title_holds(stems, lead) & ~direct
        return direct, titled, nearby & ~direct & ~titled
