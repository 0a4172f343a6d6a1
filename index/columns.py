"""The postings of an index's parts read as one row space (parts one after another), the
part both BM25 engines share: a term's column of live rows gathered once from every part and
kept while it is used, document frequencies, which rows hold a term, the statistics of the
rows' lengths, and the k best of scored rows."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from .segments import Postings, Segment

# Memory for the columns of recently used terms (each gathered from every segment).
_COLUMN_CACHE_BYTES = 32 << 20

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
class Column:
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


class TermColumns:
    """Term look-ups over the parts of an index, in one row space (parts one after another),
    with the statistics of the rows' lengths that BM25 needs: what both engines share."""

    def __init__(self, parts: Sequence[Part], vocabulary: TermIds, k1: float, b: float) -> None:
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
        self._columns: OrderedDict[tuple[str, str], Column] = OrderedDict()
        self._cached_bytes = 0
        self._lock = threading.Lock()

    def with_prefix(self, prefix: str) -> list[str]:
        """Indexed terms that start with prefix (some may be held by no live passage)."""
        return self._vocabulary.with_prefix(prefix)

    def _column(self, term: str, field: str = "body") -> Column:
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

    def _gather(self, term: str, field: str) -> Column:
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
                kept = ~member(local, part.deleted)
                local, tf = local[kept], tf[kept]
            rows.append(local + np.int32(base))
            tfs.append(tf)
            max_tf = max(max_tf, int(postings.max_tf[at]))
            min_length = min(min_length, int(postings.min_length[at]))
        if not rows:
            return Column(term, _NO_ROWS, _NO_COUNTS, 0, 0)
        if len(rows) == 1:
            return Column(term, rows[0], tfs[0], max_tf, min_length)
        return Column(term, np.concatenate(rows), np.concatenate(tfs), max_tf, min_length)

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
            out |= member(asked, self._column(stem).rows)
        return out

    def title_holds(self, stems: Iterable[str], rows: NDArray[np.integer[Any]]) -> Mask:
        """Which of the rows are the first passage of a source with a stem in its title."""
        out = np.zeros(len(rows), dtype=bool)
        asked = np.asarray(rows).astype(np.int32)
        for stem in stems:
            out |= member(asked, self._column(stem, "title").rows)
        return out


def member(values: NDArray[np.integer[Any]], column: NDArray[np.integer[Any]]) -> Mask:
    """Which values occur in an ascending array."""
    if not len(values) or not len(column):
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(column, values)
    at[at == len(column)] = 0
    return np.asarray(column[at] == values)


def kth(scores: NDArray[np.float64], k: int) -> float:
    """The k-th largest score."""
    return float(np.partition(scores, len(scores) - k)[len(scores) - k])


def head(rows: Rows, scores: NDArray[np.float64], k: int) -> tuple[Rows, NDArray[np.float64]]:
    """The k best rows (ascending) by score, ties to the lower row, best first."""
    if k < 1:
        return rows[:0], scores[:0]
    if len(rows) > k:
        least = kth(scores, k)
        keep = scores > least
        keep[np.flatnonzero(scores == least)[: k - int(keep.sum())]] = True
        rows, scores = rows[keep], scores[keep]
    order = np.lexsort((rows, -scores))
    return rows[order], scores[order]
