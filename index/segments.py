"""Index segments: immutable files of passage rows and their term postings.

A segment holds some sources' passages in row order (by source, then reading order), each
row's place in its source, and two inverted fields: the passages' index terms (body) and
the sources' title terms (title, on the row of each source's first passage). Terms are
global ids (the store's term table). A build writes new segments and never changes a
written one: a passage deleted later is listed apart (the store keeps each segment's
deleted rows), and merging segments writes a new one without those rows.

On disk a segment is one file (segment_files.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

# Packed (term, row, tf) keys are unpacked this many entries at a time.
_CHUNK = 1 << 16


@dataclass(frozen=True, eq=False)
class PassageTable:
    """Every passage row of a segment as parallel arrays."""

    ids: NDArray[np.int64]
    # Source ids and text offsets: 32-bit where they fit (they nearly always do).
    source_ids: NDArray[np.signedinteger[Any]]
    ordinals: NDArray[np.int32]
    starts: NDArray[np.signedinteger[Any]]
    ends: NDArray[np.signedinteger[Any]]
    # Index terms per passage, repeats included.
    lengths: NDArray[np.int32]
    # The source's date as a day number (date.toordinal()), 0 when undated.
    days: NDArray[np.int32]

    def __len__(self) -> int:
        return len(self.ids)

    @staticmethod
    def concat(tables: Sequence[PassageTable]) -> PassageTable:
        """The rows of several tables, one after the other."""
        if len(tables) == 1:
            return tables[0]
        return PassageTable(
            *(
                np.concatenate([getattr(t, f.name) for t in tables])
                if tables
                else np.zeros(0, _TABLE_TYPES[f.name])
                for f in fields(PassageTable)
            )
        )

    def take(self, keep: NDArray[np.bool_]) -> PassageTable:
        """The rows where keep is true."""
        return PassageTable(*(getattr(self, f.name)[keep] for f in fields(PassageTable)))


# (terms, rows, tf) of some postings entries.
Entries = tuple[NDArray[np.integer[Any]], NDArray[np.integer[Any]], NDArray[np.integer[Any]]]

_TABLE_TYPES: dict[str, type[np.generic]] = {
    "ids": np.int64,
    "source_ids": np.int64,
    "ordinals": np.int32,
    "starts": np.int64,
    "ends": np.int64,
    "lengths": np.int32,
    "days": np.int32,
}


# Rows are stored as 16-bit offsets within blocks of this many rows.
BLOCK_ROWS = 1 << 16


@dataclass(frozen=True, eq=False)
class Postings:
    """Which rows hold each term and how often: one column per term (CSC), terms ascending.

    A row is stored as its 16-bit offset in its block of BLOCK_ROWS rows, and each column
    is cut by block: 3 bytes an entry with its count, however large the segment.
    """

    terms: NDArray[np.int32]
    # Entries of the term at position p that lie in block b are bounds[p * B + b] to
    # bounds[p * B + b + 1] of rows and tf, B being the segment's number of blocks.
    bounds: NDArray[np.signedinteger[Any]]
    # Rows within their block, ascending within each term (read on demand when stored).
    rows: NDArray[np.uint16] | Stored
    tf: NDArray[np.unsignedinteger[Any]] | Stored
    # Per term: its largest count, and the fewest index terms of a passage holding it; an
    # upper bound of the term's BM25 weight, whatever k1, b and the mean length are.
    max_tf: NDArray[np.unsignedinteger[Any]]
    min_length: NDArray[np.int32]

    @property
    def blocks(self) -> int:
        """How many blocks of rows the columns are cut in."""
        return (len(self.bounds) - 1) // len(self.terms) if len(self.terms) else 1

    def find(self, term: int) -> int | None:
        """The term's position among the columns, or None when the segment lacks it."""
        at = int(np.searchsorted(self.terms, term))
        return at if at < len(self.terms) and int(self.terms[at]) == term else None

    def column(self, at: int) -> tuple[NDArray[np.int32], NDArray[np.unsignedinteger[Any]]]:
        """The rows (in the segment) and counts of the term at position `at`."""
        blocks = self.blocks
        edges: NDArray[np.int64] = np.asarray(
            self.bounds[at * blocks : (at + 1) * blocks + 1], dtype=np.int64
        )
        lo, hi = int(edges[0]), int(edges[-1])
        rows = self.rows[lo:hi].astype(np.int32)
        if blocks > 1:
            rows += np.repeat(
                np.arange(blocks, dtype=np.int32) * BLOCK_ROWS, edges[1:] - edges[:-1]
            )
        return rows, self.tf[lo:hi]

    def entries(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """The term id and the row of every entry, in storage order."""
        blocks = self.blocks
        bounds = np.asarray(self.bounds, dtype=np.int64)
        per_column = bounds[1:] - bounds[:-1]
        block = np.repeat(np.tile(np.arange(blocks, dtype=np.int64), len(self.terms)), per_column)
        per_term = per_column.reshape(-1, blocks).sum(axis=1) if len(self.terms) else per_column
        terms = np.repeat(np.asarray(self.terms, dtype=np.int64), per_term)
        return terms, block * BLOCK_ROWS + np.asarray(self.rows)

    def check(self, rows: int) -> None:
        """Raise ValueError unless the arrays are well shaped (checks that read few pages)."""
        n_terms, nnz = len(self.terms), len(self.rows)
        blocks = max(-(-rows // BLOCK_ROWS), 1)
        if len(self.tf) != nnz or len(self.bounds) != n_terms * blocks + 1:
            raise ValueError("postings arrays of different lengths")
        if len(self.max_tf) != n_terms or len(self.min_length) != n_terms:
            raise ValueError("postings bounds of the wrong length")
        if self.bounds[0] != 0 or self.bounds[-1] != nnz:
            raise ValueError("bad column bounds")


@dataclass(frozen=True, eq=False)
class Segment:
    """Passage rows with their body and title postings."""

    table: PassageTable
    body: Postings
    title: Postings
    # The file a stored segment's postings are read from; None for one in memory.
    file: Closeable | None = None

    def close(self) -> None:
        """Close the segment's file (its postings cannot be read any more)."""
        if self.file is not None:
            self.file.close()

    @property
    def size(self) -> int:
        """How many rows the segment has, deleted ones included."""
        return len(self.table)

    def check(self) -> None:
        """Raise ValueError unless the segment is well shaped (cheap checks only)."""
        n = self.size
        if any(len(getattr(self.table, f.name)) != n for f in fields(PassageTable)):
            raise ValueError("passage columns of different lengths")
        if n and int(self.table.ids[0]) > int(self.table.ids[-1]):
            raise ValueError("passage ids out of order")
        self.body.check(n)
        self.title.check(n)


class SegmentBuilder:
    """Collects rows of whole sources, then sorts their postings into a Segment.

    Each passage arrives with its distinct term ids and their counts, and a source's arrays
    are only kept until build(), which does the work for all of them at once: nothing is
    done per token, and little per source.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._sources: list[tuple[int, int, int]] = []  # source id, day, first passage id
        self._spans: list[NDArray[np.int64]] = []
        self._counts: list[NDArray[np.int64]] = []
        self._terms: list[NDArray[np.int64]] = []
        self._tf: list[NDArray[np.int64]] = []
        self._titles: list[NDArray[np.int64]] = []
        self.size = 0

    def add_source(
        self,
        source_id: int,
        day: int,
        first_id: int,
        spans: NDArray[np.int64],
        counts: NDArray[np.int64],
        terms: NDArray[np.int64],
        tf: NDArray[np.int64],
        title: NDArray[np.int64],
    ) -> None:
        """Append a source's passages: spans (start, end) per passage, then per passage
        `counts` entries of (terms, tf); title terms are put on the source's first row."""
        if len(spans) == 0:
            return
        self._sources.append((source_id, day, first_id))
        self._spans.append(spans)
        self._counts.append(counts)
        self._terms.append(terms)
        self._tf.append(tf)
        self._titles.append(title)
        self.size += len(spans)

    def build(self) -> Segment:
        """The segment of every source added so far; the builder is empty again afterwards."""
        n = self.size
        sources = np.array(self._sources, dtype=np.int64).reshape(-1, 3)
        per_source = np.array([len(s) for s in self._spans], dtype=np.int64)
        first_row = np.cumsum(per_source) - per_source
        # Row -> its source's position, and its ordinal within the source.
        owner = np.repeat(np.arange(len(per_source)), per_source)
        ordinals = np.arange(n, dtype=np.int64) - first_row[owner]
        spans = np.concatenate(self._spans) if n else np.zeros((0, 2), dtype=np.int64)
        counts = np.concatenate(self._counts) if n else np.zeros(0, dtype=np.int64)
        rows = np.repeat(np.arange(n, dtype=np.int64), counts)
        terms = np.concatenate(self._terms) if n else np.zeros(0, dtype=np.int64)
        tf = np.concatenate(self._tf) if n else np.zeros(0, dtype=np.int64)
        lengths = np.bincount(rows, weights=tf, minlength=n).astype(np.int32)
        table = PassageTable(
            ids=sources[owner, 2] + ordinals,
            source_ids=_signed(sources[owner, 0]),
            ordinals=ordinals.astype(np.int32),
            starts=_signed(spans[:, 0]),
            ends=_signed(spans[:, 1]),
            lengths=lengths,
            days=sources[owner, 1].astype(np.int32),
        )
        body = _postings([(terms, rows, tf)], n, lengths)
        per_title = np.array([len(t) for t in self._titles], dtype=np.int64)
        title_terms = np.concatenate(self._titles) if n else np.zeros(0, dtype=np.int64)
        title_rows = np.repeat(first_row, per_title)
        title = _postings(
            [(title_terms, title_rows, np.ones(len(title_terms), np.int64))], n, lengths
        )
        self._reset()
        return Segment(table, body, title)


def _postings(parts: Iterable[Entries], n_rows: int, lengths: NDArray[np.int32]) -> Postings:
    """Postings of (term, row, tf) entries given in any order, rows unique per term."""
    chunks = list(parts)
    total = sum(len(t) for t, _, _ in chunks)
    if total == 0:
        return _empty_postings()
    top_term = max(int(t.max()) for t, _, _ in chunks if len(t))
    top_tf = max(int(f.max()) for _, _, f in chunks if len(f))
    row_bits = max(n_rows - 1, 1).bit_length()
    tf_bits = max(top_tf, 1).bit_length()
    term_bits = max(top_term, 1).bit_length()
    if term_bits + row_bits + tf_bits > 63:
        terms = np.concatenate([t for t, _, _ in chunks]).astype(np.int64)
        rows = np.concatenate([r for _, r, _ in chunks]).astype(np.int64)
        tf = np.concatenate([f for _, _, f in chunks]).astype(np.int64)
        order = np.lexsort((rows, terms))
        return _columns(terms[order], rows[order], tf[order], n_rows, lengths)
    # One packed int64 per entry sorts several times faster than a lexsort of three arrays.
    key = np.empty(total, dtype=np.int64)
    pos = 0
    for t, r, f in chunks:
        block = key[pos : pos + len(t)]
        block[:] = t
        block <<= row_bits + tf_bits
        block |= np.asarray(r, dtype=np.int64) << tf_bits
        block |= f
        pos += len(t)
    # Parts are often sorted runs already; a stable sort (timsort) merges few runs fast.
    runs = 1 + int(np.count_nonzero(key[1:] < key[:-1]))
    key.sort(kind="stable" if runs <= 16 else "quicksort")
    terms = np.empty(total, dtype=np.int64)
    rows_out = np.empty(total, dtype=np.int32)
    tf_out = np.empty(total, dtype=_count_type(top_tf))
    # Unpacked a block at a time: whole-array temporaries would double the peak memory.
    for lo in range(0, total, _CHUNK):
        block = key[lo : lo + _CHUNK]
        tf_out[lo : lo + _CHUNK] = block & ((1 << tf_bits) - 1)
        block >>= tf_bits
        rows_out[lo : lo + _CHUNK] = block & ((1 << row_bits) - 1)
        block >>= row_bits
        terms[lo : lo + _CHUNK] = block
    del key
    return _columns(terms, rows_out, tf_out, n_rows, lengths)


def _signed(values: NDArray[np.int64]) -> NDArray[np.signedinteger[Any]]:
    """The values as 32-bit integers when they fit, else as they are."""
    if not len(values) or int(values.max()) < 1 << 31:
        return values.astype(np.int32)
    return np.ascontiguousarray(values)


def _columns(
    terms: NDArray[np.int64],
    rows: NDArray[np.integer[Any]],
    tf: NDArray[Any],
    n_rows: int,
    lengths: NDArray[np.int32],
) -> Postings:
    """Postings from entries sorted by term, then row."""
    starts = np.flatnonzero(np.diff(terms, prepend=-1))
    blocks = max(-(-n_rows // BLOCK_ROWS), 1)
    # Entries per (term, block), in storage order.
    position = np.cumsum(np.diff(terms, prepend=-1) != 0) - 1
    per_column = np.bincount(
        position * blocks + np.asarray(rows, dtype=np.int64) // BLOCK_ROWS,
        minlength=len(starts) * blocks,
    )
    bounds = np.zeros(len(per_column) + 1, dtype=np.int64)
    np.cumsum(per_column, out=bounds[1:])
    counts = _count_type(int(tf.max()))
    return Postings(
        terms=terms[starts].astype(np.int32),
        bounds=_signed(bounds),
        rows=(np.asarray(rows) % BLOCK_ROWS).astype(np.uint16),
        tf=tf.astype(counts, copy=False),
        max_tf=np.maximum.reduceat(tf, starts).astype(counts),
        min_length=np.minimum.reduceat(lengths[rows], starts).astype(np.int32),
    )


def _empty_postings() -> Postings:
    return Postings(
        terms=np.zeros(0, dtype=np.int32),
        bounds=np.zeros(1, dtype=np.int32),
        rows=np.zeros(0, dtype=np.uint16),
        tf=np.zeros(0, dtype=np.uint8),
        max_tf=np.zeros(0, dtype=np.uint8),
        min_length=np.zeros(0, dtype=np.int32),
    )


def _count_type(top: int) -> np.dtype[np.unsignedinteger[Any]]:
    """The smallest unsigned type that holds counts up to top."""
    for kind in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(kind).max:
            return np.dtype(kind)
    return np.dtype(np.uint64)


def merge(parts: Sequence[tuple[Segment, NDArray[np.int64]]]) -> Segment:
    """One segment of the rows of several, in their order, without each one's deleted rows
    (given as sorted local rows)."""
    tables: list[PassageTable] = []
    body: list[Entries] = []
    title: list[Entries] = []
    base = 0
    for segment, deleted in parts:
        keep = np.ones(segment.size, dtype=bool)
        keep[deleted] = False
        # New local row of each kept row; deleted rows map nowhere.
        target = np.cumsum(keep, dtype=np.int64) - 1 + base
        tables.append(segment.table.take(keep))
        for postings, out in ((segment.body, body), (segment.title, title)):
            out.extend(_kept_entries(postings, keep, target))
        base += int(keep.sum())
    table = PassageTable.concat(tables)
    return Segment(
        table,
        _postings(body, len(table), table.lengths),
        _postings(title, len(table), table.lengths),
    )


def _kept_entries(
    postings: Postings, keep: NDArray[np.bool_], target: NDArray[np.int64]
) -> Iterator[Entries]:
    """A segment's entries of kept rows, renumbered."""
    terms, rows = postings.entries()
    kept = keep[rows]
    yield terms[kept], target[rows[kept]], np.asarray(postings.tf)[kept]


class Closeable(Protocol):
    """A segment's open file (segment_files.SegmentFile)."""

    def close(self) -> None:
        """Release the file."""
        ...


class Stored:
    """An array in a segment file, read a slice at a time (os.pread): a question reads the
    few columns it needs, and no page of the file is mapped into the process (mapped, the
    kernel would map 64 KB around every page touched)."""

    def __init__(self, fd: int, offset: int, dtype: np.dtype[Any], count: int) -> None:
        self._fd = fd
        self._offset = offset
        self.dtype = dtype
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, part: slice) -> NDArray[Any]:
        lo, hi, step = part.indices(self._count)
        if step != 1:
            raise ValueError("stored arrays are read in slices without a step")
        out = np.empty(max(hi - lo, 0), dtype=self.dtype)
        if len(out):
            os.preadv(self._fd, [out.data], self._offset + lo * self.dtype.itemsize)
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> NDArray[Any]:
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype)
