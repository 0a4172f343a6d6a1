"""Each passage's document context: its source's title, the source's lead passage and the
passage before it. A word there is about the passage too: a speech names its speaker once,
at the top; a report names its subject in the title and the first paragraph."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray


def member(values: NDArray[np.integer], sorted_items: NDArray[np.integer]) -> NDArray[np.bool_]:
    """Which values occur in an ascending array (vectorised `in`)."""
    if not len(sorted_items) or not len(values):
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(sorted_items, values)
    at[at >= len(sorted_items)] = 0
    return np.asarray(sorted_items[at] == values)


class DocumentContext:
    """Where each passage row sits in its source, and the words of every source's title."""

    def __init__(
        self,
        source_of: NDArray[np.int64],
        ordinals: NDArray[np.int64],
        titles: Mapping[int, frozenset[str]],
    ) -> None:
        rows = np.arange(len(source_of), dtype=np.int64)
        self._source_of = source_of
        self._lead = rows - ordinals
        self._previous = np.where(ordinals > 0, rows - 1, -1)
        by_term: dict[str, list[int]] = {}
        for source_id, terms in titles.items():
            for term in terms:
                by_term.setdefault(term, []).append(source_id)
        self._titles = {t: np.array(sorted(ids), dtype=np.int64) for t, ids in by_term.items()}

    def presence(
        self, rows: NDArray[np.intp], postings: NDArray[np.int32], stems: frozenset[str]
    ) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
        """For each row: does it hold a term (postings: rows that do); if not, does its
        source's title; if not, does its nearby context (lead passage, previous passage)?

        A word of the title is about every passage of the source; a word nearby may be.
        """
        direct = member(rows, postings)
        sources = self._source_of[rows]
        titled = np.zeros(len(rows), dtype=bool)
        for stem in stems:
            holders = self._titles.get(stem)
            if holders is not None:
                titled |= member(sources, holders)
        nearby = member(self._lead[rows], postings) | member(self._previous[rows], postings)
        titled &= ~direct
        return direct, titled, nearby & ~direct & ~titled

    def title_df(self, stems: frozenset[str]) -> int:
        """How many sources have one of the stems in their title."""
        return sum(len(self._titles.get(s, ())) for s in stems)
