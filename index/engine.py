"""BM25 over the postings of index segments: df, which passages hold a term, the k best.

The score is BM25 with Lucene's idf, ``log(1 + (N - df + 0.5) / (df + 0.5))``: the BM25 of
Lucene, Elasticsearch, OpenSearch and tantivy. It needs no statistic of the whole vocabulary
(BM25Okapi's idf floor is a mean over every term), so an index updated in place scores
exactly as one built afresh; and it is never negative, where BM25Okapi scores a term found
in half of the passages or more 0 or less. Measured against BM25Okapi in BENCHMARKS.md.

Two engines give the same scores: rank-bm25 (its BM25Okapi with this idf: the reference,
and the scorer of small corpora; bm25_reference.py) and the sparse engine here, which reads
the segments' postings (columns.py) and finds the k best passages without scoring every
passage that holds a common word (MaxScore: rare terms first, common ones only where a rare
one matched, once no passage without a rare term can reach the k best).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from .bm25_reference import Bm25Engine
from .columns import Column, Mask, Part, Rows, TermColumns, TermIds, head, kth
from .weights import idf

AUTO = "auto"
RANK_BM25 = Bm25Engine.name
SPARSE = "sparse"
ENGINES = (AUTO, RANK_BM25, SPARSE)
# From this many passages on, "auto" scores with the sparse engine (same scores): rank-bm25
# loops in Python over every passage for every query term, about 1.3 ms per question at 1000
# passages and 6 ms at 5000 on a 2-core EPYC, where the sparse engine takes 0.1 ms.
SPARSE_FROM = 1000

# A common term is left out of the exact pass while the k-th best score beats its bound by
# this relative margin (room for rounding).
_BOUND_MARGIN = 1e-9


@dataclass(frozen=True)
class _Planned:
    """A query term with its idf, repeats, and the bound of its score in any passage."""

    term: Column
    idf: float
    count: int
    bound: float


class Engine(Protocol):
    """What the index needs from a scorer."""

    name: str
    # Live passages.
    size: int
    # Rows of all segments, deleted ones too, and which of them are live.
    rows: int
    live: Mask

    @property
    def mean_length(self) -> float:
        """Index terms per live passage."""
        ...

    def df(self, stems: Iterable[str]) -> int:
        """How many live passages hold any of the stems."""
        ...

    def holds(self, stems: Iterable[str], rows: NDArray[np.integer[Any]]) -> Mask:
        """Which of the (live) rows hold any of the stems."""
        ...

    def title_holds(self, stems: Iterable[str], rows: NDArray[np.integer[Any]]) -> Mask:
        """Which of the rows are the first passage of a source with a stem in its title."""
        ...

    def top(
        self, stems: Sequence[str], k: int, allowed: Mask | None
    ) -> tuple[Rows, NDArray[np.float64]]:
        """Up to k live rows holding any stem (repeats count again), by score, then row."""
        ...

    def scores(self, stems: Sequence[str]) -> NDArray[np.float64]:
        """The score of every row for the stems (0 for deleted rows)."""
        ...

    def scores_at(
        self, stems: Sequence[str], rows: NDArray[np.integer[Any]]
    ) -> NDArray[np.float64]:
        """The score of each of some live rows for the stems, as top() gives it."""
        ...

    def with_prefix(self, prefix: str) -> list[str]:
        """Indexed terms that start with prefix (some may be held by no live passage)."""
        ...


class SparseEngine(TermColumns):
    """BM25 from the segments' postings, the k best found without scoring every match."""

    name = SPARSE

    def _plan(self, stems: Sequence[str]) -> list[_Planned]:
        """The distinct stems the index holds, highest score bound first."""
        counts: dict[str, int] = {}
        for stem in stems:
            counts[stem] = counts.get(stem, 0) + 1
        k1, b = self._k1, self._b
        plan: list[_Planned] = []
        for stem, count in counts.items():
            term = self._column(stem)
            if not term.df:
                continue
            weight = idf(term.df, self.size)
            norm = k1 * (1 - b + b * term.min_length / self._avgdl)
            top = term.max_tf * (k1 + 1) / (term.max_tf + norm)
            plan.append(_Planned(term, weight, count, count * weight * top))
        plan.sort(key=lambda p: (-p.bound, p.term.term))
        return plan

    def _weights(self, planned: _Planned, rows: Rows, tf: NDArray[Any]) -> NDArray[np.float64]:
        """Each entry's score, as rank-bm25's get_scores computes it, times the repeats."""
        counts = tf.astype(np.float64)
        out = counts * (self._k1 + 1)
        counts += self._norm[rows]
        out /= counts
        out *= planned.idf
        if planned.count != 1:
            out *= planned.count
        return out

    def scores(self, stems: Sequence[str]) -> NDArray[np.float64]:
        """The score of every row for the stems (0 for deleted rows)."""
        out = np.zeros(self.rows)
        for planned in self._plan(stems):
            column = planned.term
            out[column.rows] += self._weights(planned, column.rows, column.tf)
        return out

    def top(
        self, stems: Sequence[str], k: int, allowed: Mask | None
    ) -> tuple[Rows, NDArray[np.float64]]:
        """Up to k live rows holding any stem (repeats count again), by score, then row.

        Terms are added in order of their score bound, so a row's score is the same sum in
        the same order whichever way it is reached (as in scores()).
        """
        plan = self._plan(stems)
        if not plan or k < 1:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        rest = [*np.cumsum([p.bound for p in reversed(plan)])[::-1].tolist(), 0.0]
        rows: Rows = np.zeros(0, dtype=np.int64)
        scores: NDArray[np.float64] = np.zeros(0)
        used = 0
        for used, planned in enumerate(plan, start=1):
            found, tf = planned.term.rows, planned.term.tf
            if allowed is not None:
                keep = allowed[found]
                found, tf = found[keep], tf[keep]
            weights = self._weights(planned, found, tf)
            rows, scores = _union_add(rows, scores, found, weights)
            if len(rows) >= k and kth(scores, k) > rest[used] * (1 + _BOUND_MARGIN):
                break  # no row outside `rows` can reach the k best any more
        for planned in plan[used:]:
            scores += self._on(planned, rows)
        return head(rows, scores, k)

    def scores_at(
        self, stems: Sequence[str], rows: NDArray[np.integer[Any]]
    ) -> NDArray[np.float64]:
        """The score of each of some live rows for the stems, as top() gives it (the terms
        added in the same order)."""
        asked = np.asarray(rows, dtype=np.int64)
        out = np.zeros(len(asked))
        for planned in self._plan(stems):
            out += self._on(planned, asked)
        return out

    def _on(self, planned: _Planned, rows: Rows) -> NDArray[np.float64]:
        """The term's score in each of some rows (ascending), 0 where it is absent."""
        out = np.zeros(len(rows))
        column = planned.term.rows
        if len(column) and len(rows):
            asked = rows.astype(np.int32)
            at = np.searchsorted(column, asked)
            at[at == len(column)] = 0
            hit = np.flatnonzero(column[at] == asked)
            out[hit] = self._weights(planned, rows[hit], planned.term.tf[at[hit]])
        return out


def _union_add(
    rows: Rows, scores: NDArray[np.float64], more: Rows, weights: NDArray[np.float64]
) -> tuple[Rows, NDArray[np.float64]]:
    """Two ascending row sets joined, a row in both getting its score plus the weight."""
    if not len(rows):
        return more, weights
    joined = np.concatenate((rows, more))
    values = np.concatenate((scores, weights))
    # Two sorted runs: a stable sort merges them, and keeps the older entry of a row first.
    order = np.argsort(joined, kind="stable")
    joined, values = joined[order], values[order]
    twice = np.flatnonzero(joined[1:] == joined[:-1])
    if len(twice):
        values[twice] += values[twice + 1]
        keep = np.ones(len(joined), dtype=bool)
        keep[twice + 1] = False
        joined, values = joined[keep], values[keep]
    return joined, values


def open_engine(
    parts: Sequence[Part],
    vocabulary: TermIds,
    kind: str,
    k1: float,
    b: float,
) -> Engine:
    """The scorer for an index's parts: kind is auto, rank-bm25 or sparse (SearchSettings
    checks a configured one)."""
    if kind not in ENGINES:
        raise ValueError(f"unknown engine {kind!r}")
    engine = SparseEngine(parts, vocabulary, k1, b)
    if kind == RANK_BM25 or (kind == AUTO and engine.size < SPARSE_FROM):
        return Bm25Engine(parts, vocabulary, k1, b)
    return engine
