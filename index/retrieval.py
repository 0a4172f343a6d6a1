"""Candidate passages for a question: the retriever interface and the BM25 retriever."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from .engine import Engine
from .question import QueryTerm


@dataclass(frozen=True, eq=False)
class Candidates:
    """Passages a retriever offers, by passage id, with its scores (higher is better)."""

    ids: NDArray[np.int64]
    scores: NDArray[np.float64]


class Retriever(Protocol):
    """Finds candidate passages; any engine (BM25 here, embeddings, a search server) fits."""

    name: str

    def candidates(
        self, terms: Sequence[QueryTerm], k: int, allowed: NDArray[np.bool_] | None
    ) -> Candidates:
        """Up to k passages for the terms, best first; allowed masks passage rows."""
        ...


class Bm25Retriever:
    """BM25 over the passages' index terms, scored by the index's engine."""

    name = "bm25"

    def __init__(self, engine: Engine, passage_ids: NDArray[np.int64]) -> None:
        self._engine = engine
        self._ids = passage_ids

    def candidates(
        self, terms: Sequence[QueryTerm], k: int, allowed: NDArray[np.bool_] | None
    ) -> Candidates:
        """Up to k passages that hold any of the terms, by BM25 score, best first."""
        stems = [s for t in terms for s in sorted(t.stems)]
        rows, scores = self._engine.top(stems, k, allowed)
        return Candidates(self._ids[rows], scores)
