"""BM25 scoring over analyzed passages: rank-bm25 for small corpora, a sparse matrix for large."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, compress
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from rank_bm25 import BM25Okapi

from .errors import ConfigurationError

AUTO = "auto"
RANK_BM25 = "rank-bm25"
SPARSE = "sparse"
ENGINES = (AUTO, RANK_BM25, SPARSE)
# From this many passages on, "auto" scores with the sparse engine (same scores): rank-bm25
# loops in Python over every passage for every query term, about 1.3 ms per question at 1000
# passages and 6 ms at 5000 on a 2-core EPYC, where the sparse engine takes 0.1 ms.
SPARSE_FROM = 1000

# Weights are computed this many entries at a time, to bound the temporary arrays.
_CHUNK = 1 << 16
# New tokens are deduplicated into (term, row, count) entries about this often.
_FLUSH_TOKENS = 1 << 20
# Reused entries of an old matrix are converted about this many at a time.
_OLD_STEP = 1 << 22


@dataclass(frozen=True, eq=False)
class TermMatrix:
    """How often each term occurs in each passage: columns by term (CSC), terms sorted."""

    terms: tuple[str, ...]
    # Entries of term t are indptr[t]:indptr[t + 1] of rows and tf.
    indptr: NDArray[np.int64]
    # Passage rows, ascending within each term.
    rows: NDArray[np.int32]
    tf: NDArray[np.unsignedinteger[Any]]
    # Tokens per passage, repeats included.
    lengths: NDArray[np.int64]

    @property
    def size(self) -> int:
        """How many passages (rows) the matrix has."""
        return len(self.lengths)

    @classmethod
    def from_docs(cls, docs: Iterable[Sequence[str]]) -> TermMatrix:
        """The matrix of token lists, one per passage."""
        builder = MatrixBuilder()
        for doc in docs:
            builder.add(doc)
        return builder.build()

    def check(self) -> None:
        """Raise ValueError unless the arrays form a well-shaped matrix."""
        n, nnz = self.size, len(self.rows)
        if len(self.indptr) != len(self.terms) + 1 or len(self.tf) != nnz:
            raise ValueError("array lengths do not match")
        if self.indptr[0] != 0 or self.indptr[-1] != nnz or np.any(np.diff(self.indptr) < 0):
            raise ValueError("bad column pointers")
        if nnz and (int(self.rows.min()) < 0 or int(self.rows.max()) >= n):
            raise ValueError("row out of range")

    def docs(self) -> list[list[str]]:
        """Each passage as a bag of its terms (sorted, repeated by frequency)."""
        term_ids = np.repeat(np.arange(len(self.terms)), np.diff(self.indptr))
        order = np.argsort(self.rows, kind="stable")
        per_row = np.bincount(self.rows, minlength=self.size).tolist()
        terms, tfs = term_ids[order].tolist(), self.tf[order].tolist()
        docs: list[list[str]] = []
        pos = 0
        for count in per_row:
            doc: list[str] = []
            for i in range(pos, pos + count):
                doc.extend([self.terms[terms[i]]] * tfs[i])
            docs.append(doc)
            pos += count
        return docs


class _Vocabulary(dict[str, int]):
    """Term ids in order of first sight: a lookup adds a term it does not know yet."""

    def __missing__(self, term: str) -> int:
        self[term] = len(self)
        return self[term]


class MatrixBuilder:
    """Assembles a TermMatrix row by row from new token lists and rows of an old matrix."""

    def __init__(self, old: TermMatrix | None = None) -> None:
        self._old = old
        self._reused = bytearray(old.size if old is not None else 0)
        self._ranges = array("q")  # (old start, old stop, new start) of each reuse
        self._vocab = _Vocabulary()
        self._pending_ids = array("i")
        self._pending_rows = array("q")
        self._pending_lengths = array("q")
        self._new_rows = array("q")
        self._new_lengths = array("q")
        self._chunks: list[_Entries] = []
        self.size = 0

    def add(self, tokens: Sequence[str]) -> None:
        """Append a passage from its tokens."""
        self._pending_ids.extend(map(self._vocab.__getitem__, tokens))
        self._pending_rows.append(self.size)
        self._pending_lengths.append(len(tokens))
        self.size += 1
        if len(self._pending_ids) >= _FLUSH_TOKENS:
            self._flush()

    def reuse(self, start: int, stop: int) -> bool:
        """Append rows start:stop of the old matrix; False if they cannot be (reuse tokens)."""
        old = self._old
        if old is None or not 0 <= start <= stop <= old.size:
            return False
        if self._reused.find(1, start, stop) != -1:
            return False  # an old row can become one new row only
        self._reused[start:stop] = b"\x01" * (stop - start)
        self._ranges.extend((start, stop, self.size))
        self.size += stop - start
        return True

    def _flush(self) -> None:
        """Turn pending tokens into (term, row, count) entries, sorted by term then row."""
        if not self._pending_rows:
            return
        ids = np.frombuffer(self._pending_ids, dtype=np.int32).astype(np.int64)
        rows = np.repeat(
            np.frombuffer(self._pending_rows, dtype=np.int64),
            np.frombuffer(self._pending_lengths, dtype=np.int64),
        )
        keys, counts = np.unique((ids << 31) | rows, return_counts=True)
        self._chunks.append(
            _Entries(
                (keys >> 31).astype(np.int32),
                (keys & 0x7FFFFFFF).astype(np.int32),
                _narrow(counts),
            )
        )
        self._new_rows.extend(self._pending_rows)
        self._new_lengths.extend(self._pending_lengths)
        self._pending_ids, self._pending_rows, self._pending_lengths = (
            array("i"),
            array("q"),
            array("q"),
        )

    def build(self) -> TermMatrix:
        """The matrix of every row added so far (once: the builder is spent afterwards)."""
        self._flush()
        old = self._old if self._ranges else None
        lengths = np.zeros(self.size, dtype=np.int64)
        lengths[np.frombuffer(self._new_rows, dtype=np.int64)] = np.frombuffer(
            self._new_lengths, dtype=np.int64
        )
        target = np.zeros(0, dtype=np.int32)
        if old is not None:
            target = _targets(old.size, np.frombuffer(self._ranges, dtype=np.int64))
            reused = target >= 0
            lengths[target[reused]] = old.lengths[reused]
        terms = sorted(set(old.terms if old is not None else ()).union(self._vocab))
        position = {t: i for i, t in enumerate(terms)}
        new_map = np.array([position[t] for t in self._vocab], dtype=np.int32)
        total = sum(len(c.rows) for c in self._chunks)
        top_tf = max((int(c.tf.max()) for c in self._chunks if len(c.tf)), default=1)
        parts: list[Iterator[_Entries]] = [self._drain(new_map)]
        if old is not None:
            old_map = np.array([position[t] for t in old.terms], dtype=np.int32)
            per_row = np.bincount(old.rows, minlength=old.size)
            total += int(per_row[target >= 0].sum())
            top_tf = max(top_tf, int(old.tf.max()) if len(old.tf) else 1)
            parts.insert(0, _old_entries(old, target, old_map))
        per_term, rows, tf = _by_term_then_row(
            chain.from_iterable(parts), total, len(terms), self.size, top_tf
        )
        used = per_term > 0
        indptr = np.zeros(int(used.sum()) + 1, dtype=np.int64)
        np.cumsum(per_term[used], out=indptr[1:])
        return TermMatrix(
            terms=tuple(compress(terms, used.tolist())),
            indptr=indptr,
            rows=rows,
            tf=tf,
            lengths=lengths,
        )

    def _drain(self, new_map: NDArray[np.int32]) -> Iterator[_Entries]:
        """The new entries with final term ids, each chunk let go once converted."""
        self._chunks.reverse()
        while self._chunks:
            chunk = self._chunks.pop()
            yield _Entries(new_map[chunk.terms], chunk.rows, chunk.tf)


@dataclass(frozen=True, eq=False)
class _Entries:
    """Matrix entries: term id, row and count of each."""

    terms: NDArray[np.int32]
    rows: NDArray[np.int32]
    tf: NDArray[np.unsignedinteger[Any]]


def _targets(old_size: int, ranges: NDArray[np.int64]) -> NDArray[np.int32]:
    """New row of each old row, -1 where it is not reused; ranges as flat triples."""
    starts, stops, new_starts = ranges[0::3], ranges[1::3], ranges[2::3]
    counts = stops - starts
    before = np.cumsum(counts) - counts
    offsets = np.arange(int(counts.sum()))
    target = np.full(old_size, -1, dtype=np.int32)
    target[offsets + np.repeat(starts - before, counts)] = offsets + np.repeat(
        new_starts - before, counts
    )
    return target


def _old_entries(
    old: TermMatrix, target: NDArray[np.int32], old_map: NDArray[np.int32]
) -> Iterator[_Entries]:
    """The reused entries of the old matrix in new terms and rows, a few columns at a time."""
    columns = len(old.terms)
    first = 0
    while first < columns:
        last = int(np.searchsorted(old.indptr, int(old.indptr[first]) + _OLD_STEP, "right")) - 1
        last = min(max(last, first + 1), columns)
        lo, hi = int(old.indptr[first]), int(old.indptr[last])
        rows = target[old.rows[lo:hi]]
        kept = rows >= 0
        terms = np.repeat(old_map[first:last], np.diff(old.indptr[first : last + 1]))
        yield _Entries(terms[kept], rows[kept], old.tf[lo:hi][kept])
        first = last


def _by_term_then_row(
    parts: Iterable[_Entries], total: int, n_terms: int, n_rows: int, top_tf: int
) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.unsignedinteger[Any]]]:
    """Entries per term, and rows and counts of all entries sorted by term then row."""
    per_term = np.zeros(n_terms, dtype=np.int64)
    row_bits = max(n_rows - 1, 1).bit_length()
    tf_bits = max(top_tf, 1).bit_length()
    term_bits = max(n_terms - 1, 1).bit_length()
    if term_bits + row_bits + tf_bits > 63:
        collected = list(parts)
        terms = np.concatenate([p.terms for p in collected] or [np.zeros(0, dtype=np.int32)])
        rows = np.concatenate([p.rows for p in collected] or [np.zeros(0, dtype=np.int32)])
        tf = np.concatenate([p.tf for p in collected] or [np.zeros(0, dtype=np.uint32)])
        order = np.lexsort((rows, terms))
        per_term += np.bincount(terms, minlength=n_terms)
        return per_term, rows[order], _narrow(tf[order])
    # One packed int64 per entry sorts several times faster than a lexsort of three arrays.
    key = np.empty(total, dtype=np.int64)
    pos = 0
    for part in parts:
        block = key[pos : pos + len(part.terms)]
        block[:] = part.terms
        block <<= row_bits + tf_bits
        block |= part.rows.astype(np.int64) << tf_bits
        block |= part.tf
        per_term += np.bincount(part.terms, minlength=n_terms)
        pos += len(part.terms)
    if pos != total:
        raise RuntimeError("matrix entries miscounted; this is a bug")
    # The parts are sorted runs: a stable sort (timsort) merges a few runs in linear time.
    runs = 1 + int(np.count_nonzero(key[1:] < key[:-1]))
    key.sort(kind="stable" if runs <= 16 else "quicksort")
    rows_out = np.empty(total, dtype=np.int32)
    tf_out = np.empty(total, dtype=_count_type(top_tf))
    # Unpacked a block at a time: whole-array temporaries would double the peak memory.
    for lo in range(0, total, _CHUNK):
        block = key[lo : lo + _CHUNK]
        tf_out[lo : lo + _CHUNK] = block & ((1 << tf_bits) - 1)
        block >>= tf_bits
        rows_out[lo : lo + _CHUNK] = block & ((1 << row_bits) - 1)
    return per_term, rows_out, tf_out


def _count_type(top: int) -> np.dtype[np.unsignedinteger[Any]]:
    """The smallest unsigned type that holds counts up to top."""
    for kind in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(kind).max:
            return np.dtype(kind)
    return np.dtype(np.uint64)


def _narrow(tf: NDArray[Any]) -> NDArray[np.unsignedinteger[Any]]:
    """Term counts in the smallest unsigned type that holds them."""
    return tf.astype(_count_type(int(tf.max()) if len(tf) else 0))


class Engine(Protocol):
    """What the index needs from a scorer."""

    name: str
    size: int

    def df(self, term: str) -> int:
        """How many passages contain the term."""
        ...

    def postings(self, term: str) -> NDArray[np.int32]:
        """Rows of the passages that contain the term, ascending."""
        ...

    @property
    def terms(self) -> Sequence[str]:
        """Every indexed term."""
        ...

    def scores(self, terms: Sequence[str]) -> NDArray[np.float64]:
        """BM25Okapi scores of every passage for the terms (repeats count again)."""
        ...


_NO_ROWS: NDArray[np.int32] = np.zeros(0, dtype=np.int32)


class _Postings:
    """Term postings read from the columns of a TermMatrix."""

    def __init__(self, matrix: TermMatrix) -> None:
        self.size = matrix.size
        self._terms = matrix.terms
        self._ids = {t: i for i, t in enumerate(matrix.terms)}
        self._indptr = matrix.indptr
        self._rows = matrix.rows

    def _span(self, term: str) -> tuple[int, int] | None:
        t = self._ids.get(term)
        if t is None:
            return None
        return int(self._indptr[t]), int(self._indptr[t + 1])

    def df(self, term: str) -> int:
        """How many passages contain the term."""
        span = self._span(term)
        return 0 if span is None else span[1] - span[0]

    def postings(self, term: str) -> NDArray[np.int32]:
        """Rows of the passages that contain the term, ascending."""
        span = self._span(term)
        return _NO_ROWS if span is None else self._rows[span[0] : span[1]]

    @property
    def terms(self) -> Sequence[str]:
        """Every indexed term."""
        return self._terms


class Bm25Engine(_Postings):
    """rank-bm25's BM25Okapi, plus term postings for deciding what matched."""

    name = RANK_BM25

    def __init__(
        self, matrix: TermMatrix, k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25
    ) -> None:
        super().__init__(matrix)
        # BM25Okapi divides by the corpus size and the mean length: both must be non-zero.
        self._bm25 = (
            BM25Okapi(matrix.docs(), k1=k1, b=b, epsilon=epsilon) if len(matrix.rows) else None
        )

    def scores(self, terms: Sequence[str]) -> NDArray[np.float64]:
        """BM25Okapi scores of every passage for the terms (repeats count again)."""
        out = np.zeros(self.size)
        if self._bm25 is None:
            return out
        # BM25Okapi divides 0 by 0 for a passage without the term when k1 is 0, or when the
        # passage is empty and b is 1: there the term adds nothing, as in the sparse engine.
        with np.errstate(invalid="ignore"):
            for term in terms:
                out += np.nan_to_num(self._bm25.get_scores([term]), nan=0.0)
        return out


class SparseEngine(_Postings):
    """BM25Okapi's scores from precomputed per-(term, passage) weights."""

    name = SPARSE

    def __init__(
        self, matrix: TermMatrix, k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25
    ) -> None:
        super().__init__(matrix)
        self._weights = _weights(matrix, k1, b, epsilon)

    def scores(self, terms: Sequence[str]) -> NDArray[np.float64]:
        """BM25Okapi scores of every passage for the terms (repeats count again)."""
        out = np.zeros(self.size)
        for term in terms:
            span = self._span(term)
            if span is not None:
                np.add.at(out, self._rows[span[0] : span[1]], self._weights[span[0] : span[1]])
        return out


def _weights(matrix: TermMatrix, k1: float, b: float, epsilon: float) -> NDArray[np.float64]:
    """Each entry's term score, computed as BM25Okapi.get_scores computes it."""
    nnz = len(matrix.rows)
    if nnz == 0:
        return np.zeros(0)
    n = matrix.size
    df = np.diff(matrix.indptr)
    # idf depends on df only: math.log on each distinct df matches rank-bm25 bit for bit.
    distinct, inverse = np.unique(df, return_inverse=True)
    idf = np.array([math.log(n - d + 0.5) - math.log(d + 0.5) for d in distinct.tolist()])[inverse]
    # As in BM25Okapi: the mean over every term, before negative idfs are replaced.
    average_idf = float(idf.sum()) / len(idf)
    idf[idf < 0] = epsilon * average_idf
    avgdl = int(matrix.lengths.sum()) / n
    norm = k1 * (1 - b + b * matrix.lengths / avgdl)
    out = np.repeat(idf, df)
    # idf * (tf * (k1 + 1) / (tf + norm)), evaluated in rank-bm25's order, in place.
    tf, denominator = np.empty(min(nnz, _CHUNK)), np.empty(min(nnz, _CHUNK))
    for lo in range(0, nnz, _CHUNK):
        hi = min(lo + _CHUNK, nnz)
        t, d = tf[: hi - lo], denominator[: hi - lo]
        t[:] = matrix.tf[lo:hi]
        np.take(norm, matrix.rows[lo:hi], out=d)
        d += t
        t *= k1 + 1
        t /= d
        out[lo:hi] *= t
    return out


def open_engine(
    matrix: TermMatrix, kind: str = AUTO, k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25
) -> Engine:
    """The scorer for a matrix: kind is auto, rank-bm25 or sparse."""
    if kind not in ENGINES:
        raise ConfigurationError(
            f"retrieval.engine: unknown engine {kind!r}; use one of: {', '.join(ENGINES)}"
        )
    if kind == RANK_BM25 or (kind == AUTO and matrix.size < SPARSE_FROM):
        return Bm25Engine(matrix, k1=k1, b=b, epsilon=epsilon)
    return SparseEngine(matrix, k1=k1, b=b, epsilon=epsilon)
