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
    """BM25Okapi over the passages' index terms, scored by the index's engine."""

    name = "bm25"

    def __init__(self, engine: Engine, passage_ids: NDArray[np.int64]) -> None:
        self._engine = engine
        self._ids = passage_ids

    def scores(self, terms: Sequence[QueryTerm]) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Rows that hold any of the terms, and the BM25 score of every row."""
        stems = [s for t in terms for s in sorted(t.stems)]
        scores = np.asarray(self._engine.scores(stems), dtype=np.float64)
        # Rows that hold a term, not rows with a positive score: BM25Okapi scores a term found
        # in exactly half of the passages 0.
        postings = [self._engine.postings(s) for s in stems]
        rows = np.unique(np.concatenate(postings)) if postings else np.zeros(0, np.intp)
        return rows.astype(np.intp), scores

    def candidates(
        self,
        question: str,
        terms: Sequence[QueryTerm],
        k: int,
        allowed: NDArray[np.bool_] | None,
    ) -> Candidates:
        """Up to k passages that hold any of the terms, by BM25 score, best first."""
        rows, scores = self.scores(terms)
        if allowed is not None:
            rows = rows[allowed[rows]]
        rows = _top(scores, rows, k)
        return Candidates(self._ids[rows], scores[rows])


class DenseRetriever:
    """Cosine similarity of the question's embedding to every passage's (brute force)."""

    name = "dense"

    def __init__(
        self, embedder: Embedder, passage_ids: NDArray[np.int64], vectors: NDArray[np.float32]
    ) -> None:
        if vectors.shape[0] != len(passage_ids):
            raise ValueError("one vector per passage row is needed")
        self._embedder = embedder
        self._ids = passage_ids
        self._vectors = vectors

    def similarities(self, question: str) -> NDArray[np.float64]:
        """The cosine similarity of every passage row to the question."""
        query = self._embedder.questions([question])[0]
        sims: NDArray[np.float64] = (self._vectors @ query).astype(np.float64)
        return sims

    def candidates(
        self,
        question: str,
        terms: Sequence[QueryTerm],
        k: int,
        allowed: NDArray[np.bool_] | None,
    ) -> Candidates:
        """The k passages closest to the question, best first."""
        sims = self.similarities(question)
        rows = np.arange(len(sims)) if allowed is None else np.flatnonzero(allowed)
        rows = _top(sims, rows.astype(np.intp), k)
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
        lexical, bm25 = self._bm25.scores(terms)
        every = np.arange(len(sims), dtype=np.intp)
        if allowed is not None:
            lexical = lexical[allowed[lexical]]
            every = every[allowed]
        pool = np.union1d(_top(bm25, lexical, k), _top(sims, every, k))
        if not len(pool):
            return Candidates(np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
        lex = bm25[pool]
        lex = lex / lex.max() if lex.max() > 0 else np.zeros(len(pool))
        sem = sims[pool]
        spread = sem.max() - sem.min()
        sem = (sem - sem.min()) / spread if spread > 0 else np.ones(len(pool))
        fused = np.zeros(len(sims))
        fused[pool] = (1 - self.dense_weight) * lex + self.dense_weight * sem
        rows = _top(fused, pool.astype(np.intp), k)
        return Candidates(self._ids[rows], fused[rows], sims[rows])
