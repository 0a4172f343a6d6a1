"""BM25 over the postings of index segments: df, which passages hold a term, the k best.

The score is BM25 with Lucene's idf, ``log(1 + (N - df + 0.5) / (df + 0.5))``: the BM25 of
Lucene, Elasticsearch, OpenSearch and tantivy. It needs no statistic of the whole vocabulary
(BM25Okapi's idf floor is a mean over every term), so an index updated in place scores
exactly as one built afresh; and it is never negative, where BM25Okapi scores a term found
in half of the passages or more 0 or less. Measured against BM25Okapi in BENCHMARKS.md.

Two engines give the same scores: rank-bm25 (its BM25Okapi with this idf: the reference,
and the scorer of small corpora) and the sparse engine, which reads the segments' postings
and finds the k best passages without scoring every passage that holds a common word
(MaxScore: rare terms first, common ones only where a rare one matched, once no passage
without a rare term can reach the k best).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from rank_bm25 import BM25Okapi

from .errors import ConfigurationError
from .segments import Postings, Segment
from .weights import idf

AUTO = "auto"
RANK_BM25 = "rank-bm25"
SPARSE = "sparse"
ENGINES = (AUTO, RANK_BM25, SPARSE)
# From this many passages on, "auto" scores with the sparse engine (same scores): rank-bm25
# loops in Python over every passage for every query term, about 1.3 ms per question at 1000
# passages and 6 ms at 5000 on a 2-core EPYC, where the sparse engine takes 0.1 ms.
SPARSE_FROM = 1000

# Memory for the columns of recently used terms (each gathered from every segment).
_COLUMN_CACHE_BYTES = 32 << 20
# A common term is left out of the exact pass while the k-th best score beats its bound by
# this relative margin (room for rounding).
_BOUND_MARGIN = 1e-9

Rows = NDArray[np.signedinteger[Any]]
Mask = NDArray[np.bool_]


class TermIds(Protocol):
    """The index's vocabulary: a global id for each index term."""

    def id(self, term: str) -> int | None:
        """The term's id, or None when no segment ever held it."""
        ...

    def with_prefix(self, prefix: str) -> list[str]:
        """Every known term that starts with prefix."""
        ...

    def names(self, ids: Iterable[int]) -> dict[int, str]:
        """The terms of some ids."""
        ...


class MemoryTerms:
    """A vocabulary held in memory, for segments built in memory."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    def add(self, terms: Iterable[str]) -> NDArray[np.int64]:
        """Ids of terms, new ones numbered as they come."""
        ids = self._ids
        return np.array([ids.setdefault(t, len(ids)) for t in terms], dtype=np.int64)

    def id(self, term: str) -> int | None:
        """The term's id, or None when it is unknown."""
        return self._ids.get(term)

    def with_prefix(self, prefix: str) -> list[str]:
        """Every known term that starts with prefix."""
        return sorted(t for t in self._ids if t.startswith(prefix))

    def names(self, ids: Iterable[int]) -> dict[int, str]:
        """The terms of some ids."""
        wanted = set(ids)
        return {i: t for t, i in self._ids.items() if i in wanted}


@dataclass(frozen=True, eq=False)
class Part:
    """A segment as one index reads it: where its rows start, and which are deleted."""

    segment: Segment
    # Sorted local rows of passages deleted since the segment was written.
    deleted: NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class _Column:
    """A term's live postings over every part: rows in the index's row space, ascending."""

    term: str
    # 32-bit: half the memory, and searched without widening.
    rows: NDArray[np.int32]
    tf: NDArray[np.unsignedinteger[Any]]
    max_tf: int
    min_length: int

    @property
    def df(self) -> int:
        """Live passages holding the term."""
        return len(self.rows)

    @property
    def nbytes(self) -> int:
        """Memory the column takes."""
        return int(self.rows.nbytes + self.tf.nbytes)


_NO_ROWS = np.zeros(0, dtype=np.int32)
_NO_COUNTS = np.zeros(0, dtype=np.uint8)


@dataclass(frozen=True)
class _Planned:
    """A query term with its idf, repeats, and the bound of its score in any passage."""

    term: _Column
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


class _Postings:
    """Term look-ups over the parts of an index, in one row space (parts one after another)."""

    def __init__(
        self, parts: Sequence[Part], vocabulary: TermIds, k1: float = 1.2, b: float = 0.75
    ) -> None:
        self._parts = tuple(parts)
        self._vocabulary = vocabulary
        self._k1, self._b = k1, b
        sizes = [p.segment.size for p in self._parts]
        self._bases = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=self._bases[1:])
        self.rows = int(self._bases[-1])
        self.live = np.ones(self.rows, dtype=bool)
        for base, part in zip(self._bases.tolist(), self._parts, strict=False):
            self.live[base + part.deleted] = False
        self.size = int(self.live.sum())
        lengths = (
            np.concatenate([p.segment.table.lengths for p in self._parts])
            if self._parts
            else np.zeros(0, dtype=np.int32)
        )
        total = int(lengths[self.live].sum())
        self._avgdl = total / self.size if total else 1.0
        self.mean_length = total / self.size if self.size else 0.0
        # k1 (1 - b + b * length / avgdl) of every row, in rank-bm25's order of operations.
        self._norm = k1 * (1 - b + b * lengths / self._avgdl)
        self._columns: OrderedDict[tuple[str, str], _Column] = OrderedDict()
        self._cached_bytes = 0
        self._lock = threading.Lock()

    def with_prefix(self, prefix: str) -> list[str]:
        """Indexed terms that start with prefix (some may be held by no live passage)."""
        return self._vocabulary.with_prefix(prefix)

    def _column(self, term: str, field: str = "body") -> _Column:
        """The term's live postings in a field, gathered from the parts once and kept while
        they are used: the parts are looked at once per term, not once per question."""
        key = (field, term)
        with self._lock:
            column = self._columns.get(key)
            if column is not None:
                self._columns.move_to_end(key)
                return column
        column = self._gather(term, field)
        with self._lock:
            self._columns[key] = column
            self._cached_bytes += column.nbytes
            while self._cached_bytes > _COLUMN_CACHE_BYTES and len(self._columns) > 1:
                _, old = self._columns.popitem(last=False)
                self._cached_bytes -= old.nbytes
        return column

    def _gather(self, term: str, field: str) -> _Column:
        term_id = self._vocabulary.id(term)
        rows: list[NDArray[np.int32]] = []
        tfs: list[NDArray[Any]] = []
        max_tf, min_length = 0, 1 << 62
        for base, part in zip(self._bases.tolist(), self._parts, strict=False):
            if term_id is None:
                break
            postings: Postings = getattr(part.segment, field)
            at = postings.find(term_id)
            if at is None:
                continue
            local, tf = postings.column(at)
            if len(part.deleted):
                kept = ~_member(local, part.deleted)
                local, tf = local[kept], tf[kept]
            rows.append(local + np.int32(base))
            tfs.append(tf)
            max_tf = max(max_tf, int(postings.max_tf[at]))
            min_length = min(min_length, int(postings.min_length[at]))
        if not rows:
            return _Column(term, _NO_ROWS, _NO_COUNTS, 0, 0)
        if len(rows) == 1:
            return _Column(term, rows[0], tfs[0], max_tf, min_length)
        return _Column(term, np.concatenate(rows), np.concatenate(tfs), max_tf, min_length)

    def df(self, stems: Iterable[str]) -> int:
        """How many live passages hold any of the stems."""
        columns = [c for c in map(self._column, dict.fromkeys(stems)) if c.df]
        if len(columns) <= 1:
            return columns[0].df if columns else 0
        return len(np.unique(np.concatenate([c.rows for c in columns])))

    def holds(self, stems: Iterable[str], rows: NDArray[np.integer[Any]]) -> Mask:
        """Which of the (live) rows hold any of the stems."""
        out = np.zeros(len(rows), dtype=bool)
        asked = np.asarray(rows).astype(np.int32)
        for stem in stems:
            out |= _member(asked, self._column(stem).rows)
        return out

    def title_holds(self, stems: Iterable[str], rows: NDArray[np.integer[Any]]) -> Mask:
        """Which of the rows are the first passage of a source with a stem in its title."""
        out = np.zeros(len(rows), dtype=bool)
        asked = np.asarray(rows).astype(np.int32)
        for stem in stems:
            out |= _member(asked, self._column(stem, "title").rows)
        return out

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


class SparseEngine(_Postings):
    """BM25 from the segments' postings, the k best found without scoring every match."""

    name = SPARSE

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
            if len(rows) >= k and _kth(scores, k) > rest[used] * (1 + _BOUND_MARGIN):
                break  # no row outside `rows` can reach the k best any more
        for planned in plan[used:]:
            scores += self._on(planned, rows)
        return _head(rows, scores, k)

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


class LuceneBM25Okapi(BM25Okapi):  # type: ignore[misc]
    """rank-bm25's BM25Okapi with Lucene's idf: the reference scorer."""

    def _calc_idf(self, nd: dict[str, int]) -> None:
        self.idf = {word: idf(freq, self.corpus_size) for word, freq in nd.items()}


class Bm25Engine(_Postings):
    """rank-bm25 scoring every live passage in Python; postings for everything else."""

    name = RANK_BM25

    def __init__(
        self, parts: Sequence[Part], vocabulary: TermIds, k1: float = 1.2, b: float = 0.75
    ) -> None:
        super().__init__(parts, vocabulary, k1, b)
        self._scored = np.flatnonzero(self.live)
        docs = _docs(self._parts, vocabulary, self.rows)
        live_docs = [docs[r] for r in self._scored.tolist()]
        # BM25Okapi divides by the corpus size and the mean length: both must be non-zero.
        self._bm25 = LuceneBM25Okapi(live_docs, k1=k1, b=b) if any(live_docs) else None

    def scores(self, stems: Sequence[str]) -> NDArray[np.float64]:
        """The score of every row for the stems (0 for deleted rows)."""
        out = np.zeros(self.rows)
        if self._bm25 is None:
            return out
        live = np.zeros(len(self._scored))
        # BM25Okapi divides 0 by 0 for a passage without the term when k1 is 0, or when the
        # passage is empty and b is 1: there the term adds nothing, as in the sparse engine.
        with np.errstate(invalid="ignore"):
            for stem in stems:
                live += np.nan_to_num(self._bm25.get_scores([stem]), nan=0.0)
        out[self._scored] = live
        return out

    def scores_at(
        self, stems: Sequence[str], rows: NDArray[np.integer[Any]]
    ) -> NDArray[np.float64]:
        """The score of each of some live rows for the stems."""
        return self.scores(stems)[np.asarray(rows, dtype=np.int64)]

    def top(
        self, stems: Sequence[str], k: int, allowed: Mask | None
    ) -> tuple[Rows, NDArray[np.float64]]:
        """Up to k live rows holding any stem (repeats count again), by score, then row."""
        scores = self.scores(stems)
        rows = np.flatnonzero(self.holds(dict.fromkeys(stems), np.arange(self.rows)))
        if allowed is not None:
            rows = rows[allowed[rows]]
        return _head(rows.astype(np.int64), scores[rows], k)


def _docs(parts: Sequence[Part], vocabulary: TermIds, rows: int) -> list[list[str]]:
    """Each row as a bag of its index terms (sorted by term id, repeated by count)."""
    docs: list[list[str]] = [[] for _ in range(rows)]
    base = 0
    for part in parts:
        postings = part.segment.body
        names = vocabulary.names(postings.terms.tolist())
        terms, local = postings.entries()
        for term_id, row, tf in zip(
            terms.tolist(), local.tolist(), np.asarray(postings.tf).tolist(), strict=True
        ):
            docs[base + row].extend([names[term_id]] * tf)
        base += part.segment.size
    return docs


def _member(values: NDArray[np.integer[Any]], column: NDArray[np.integer[Any]]) -> Mask:
    """Which values occur in an ascending array."""
    if not len(values) or not len(column):
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(column, values)
    at[at == len(column)] = 0
    return np.asarray(column[at] == values)


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


def _kth(scores: NDArray[np.float64], k: int) -> float:
    """The k-th largest score."""
    return float(np.partition(scores, len(scores) - k)[len(scores) - k])


def _head(rows: Rows, scores: NDArray[np.float64], k: int) -> tuple[Rows, NDArray[np.float64]]:
    """The k best rows (ascending) by score, ties to the lower row, best first."""
    if k < 1:
        return rows[:0], scores[:0]
    if len(rows) > k:
        kth = _kth(scores, k)
        keep = scores > kth
        keep[np.flatnonzero(scores == kth)[: k - int(keep.sum())]] = True
        rows, scores = rows[keep], scores[keep]
    order = np.lexsort((rows, -scores))
    return rows[order], scores[order]


def open_engine(
    parts: Sequence[Part],
    vocabulary: TermIds,
    kind: str = AUTO,
    k1: float = 1.2,
    b: float = 0.75,
) -> Engine:
    """The scorer for an index's parts: kind is auto, rank-bm25 or sparse."""
    if kind not in ENGINES:
        raise ConfigurationError(
            f"retrieval.engine: unknown engine {kind!r}; use one of: {', '.join(ENGINES)}"
        )
    engine = SparseEngine(parts, vocabulary, k1, b)
    if kind == RANK_BM25 or (kind == AUTO and engine.size < SPARSE_FROM):
        return Bm25Engine(parts, vocabulary, k1, b)
    return engine
