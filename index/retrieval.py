"""Candidate passages for a question: the retriever interface, the BM25 retriever, the dense
(embedding) retriever and their fusion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from .embedding import Embedder
from .engine import Engine
from .question import QueryTerm


class Mode(StrEnum):
    """Which retriever answers: BM25 alone, embeddings alone, or both fused."""

    BM25 = "bm25"
    DENSE = "dense"
    HYBRID = "hybrid"


@dataclass(frozen=True, eq=False)
class Candidates:
    """Passages a retriever offers, by passage id, with its scores (higher is better)."""

    ids: NDArray[np.int64]
    scores: NDArray[np.float64]
    # Cosine similarity of each passage to the question, when embeddings took part.
    similarity: NDArray[np.float64] | None = None


class Retriever(Protocol):
    """Finds candidate passages; any engine (BM25 here, embeddings, a search server) fits."""

    name: str

    def candidates(
        self,
        question: str,
        terms: Sequence[QueryTerm],
        k: int,
        allowed: NDArray[np.bool_] | None,
    ) -> Candidates:
        """Up to k passages for the question (its text and analysed terms), best first;
        allowed masks passage rows."""
        ...


def _top(scores: NDArray[np.float64], rows: NDArray[np.intp], k: int) -> NDArray[np.intp]:
    """The k rows of the best scores, best first (ties by row)."""
    if len(rows) > k:
        # Every row scoring at least the k-th best, so that ties break by row below.
        kth = np.partition(scores[rows], len(rows) - k)[len(rows) - k]
        rows = rows[scores[rows] >= kth]
    return rows[np.lexsort((rows, -scores[rows]))][:k]


class Bm25Retriever:
    """BM25 over the passages' index terms, scored by the index's engine."""

    name = "bm25"

    def __init__(self, engine: Engine, passage_ids: NDArray[np.int64]) -> None:
        self._engine = engine
        self._ids = passage_ids

    def top(
        self, terms: Sequence[QueryTerm], k: int, allowed: NDArray[np.bool_] | None
    ) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Up to k live rows that hold any of the terms, by BM25 score, best first."""
        rows, scores = self._engine.top(_stems(terms), k, allowed)
        return rows.astype(np.intp), scores

    def scores_at(self, terms: Sequence[QueryTerm], rows: NDArray[np.intp]) -> NDArray[np.float64]:
        """The BM25 score of each of some live rows (0 where none of the terms is held)."""
        return self._engine.scores_at(_stems(terms), rows)

    def candidates(
        self,
        question: str,
        terms: Sequence[QueryTerm],
        k: int,
        allowed: NDArray[np.bool_] | None,
    ) -> Candidates:
        """Up to k passages that hold any of the terms, by BM25 score, best first."""
        rows, scores = self.top(terms, k, allowed)
        return Candidates(self._ids[rows], scores)


def _stems(terms: Sequence[QueryTerm]) -> list[str]:
    return [s for t in terms for s in sorted(t.stems)]


class DenseRetriever:
    """Cosine similarity of the question's embedding to every live passage's (brute force)."""

    name = "dense"

    def __init__(
        self,
        embedder: Embedder,
        passage_ids: NDArray[np.int64],
        vectors: NDArray[np.float32],
        rows: NDArray[np.intp] | None = None,
    ) -> None:
        """vectors[i] is the vector of passage row rows[i] (ascending; every row when None):
        rows of deleted passages have none and are never offered."""
        if rows is None:
            rows = np.arange(len(passage_ids), dtype=np.intp)
        if vectors.shape[0] != len(rows) or (len(rows) and rows[-1] >= len(passage_ids)):
            raise ValueError("one vector per live passage row is needed")
        self._embedder = embedder
        self._ids = passage_ids
        self._vectors = vectors
        self._rows = rows
        self._every = len(rows) == len(passage_ids)

    def similarities(self, question: str) -> NDArray[np.float64]:
        """The cosine similarity of every passage row to the question (0 where no vector)."""
        query = self._embedder.questions([question])[0]
        found: NDArray[np.float64] = (self._vectors @ query).astype(np.float64)
        if self._every:
            return found
        sims = np.zeros(len(self._ids))
        sims[self._rows] = found
        return sims

    def rows(self, allowed: NDArray[np.bool_] | None) -> NDArray[np.intp]:
        """The rows with a vector that allowed (a mask of rows, if any) lets through."""
        return self._rows if allowed is None else self._rows[allowed[self._rows]]

    def candidates(
        self,
        question: str,
        terms: Sequence[QueryTerm],
        k: int,
        allowed: NDArray[np.bool_] | None,
    ) -> Candidates:
        """The k passages closest to the question, best first."""
        sims = self.similarities(question)
        rows = _top(sims, self.rows(allowed), k)
        return Candidates(self._ids[rows], sims[rows], sims[rows])


class HybridRetriever:
    """BM25 and embeddings fused by a convex combination of normalised scores.

    The pool is BM25's best k and the embeddings' best k; over it, BM25 scores are divided
    by their maximum (their minimum is 0) and similarities are min-max scaled, then
    (1 - dense_weight) * bm25 + dense_weight * dense orders the pool. Every pooled passage
    has both scores (a passage without any question word has BM25 score 0), unlike rank
    fusion, which only sees positions and measured worse than embeddings alone here
    (Bruch et al. 2023, "An Analysis of Fusion Functions for Hybrid Retrieval", find the
    same). dense_weight was measured on the tuning splits (BENCHMARKS.md).
    """

    name = "hybrid"

    def __init__(
        self,
        bm25: Bm25Retriever,
        dense: DenseRetriever,
        passage_ids: NDArray[np.int64],
        dense_weight: float,
    ) -> None:
        self._bm25 = bm25
        self._dense = dense
        self._ids = passage_ids
        self.dense_weight = dense_weight

    def candidates(
        self,
        question: str,
        terms: Sequence[QueryTerm],
        k: int,
        allowed: NDArray[np.bool_] | None,
    ) -> Candidates:
        """Up to k passages by fused score, best first."""
        sims = self._dense.similarities(question)
        lexical, _ = self._bm25.top(terms, k, allowed)
        pool = np.union1d(lexical, _top(sims, self._dense.rows(allowed), k)).astype(np.intp)
        if not len(pool):
            return Candidates(np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
        # The BM25 score of every pooled row, those only the embeddings offered too.
        lex = self._bm25.scores_at(terms, pool)
        lex = lex / lex.max() if lex.max() > 0 else np.zeros(len(pool))
        sem = sims[pool]
        spread = sem.max() - sem.min()
        sem = (sem - sem.min()) / spread if spread > 0 else np.ones(len(pool))
        fused = np.zeros(len(sims))
        fused[pool] = (1 - self.dense_weight) * lex + self.dense_weight * sem
        rows = _top(fused, pool, k)
        return Candidates(self._ids[rows], fused[rows], sims[rows])
