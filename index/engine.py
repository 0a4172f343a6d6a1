"""BM25 scoring over analyzed passages."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rank_bm25 import BM25Okapi


class Bm25Engine:
    """rank-bm25's BM25Okapi, plus term postings for deciding what matched."""

    name = "rank-bm25"

    def __init__(
        self, docs: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25
    ) -> None:
        self.size = len(docs)
        self._postings: dict[str, list[int]] = {}
        for i, doc in enumerate(docs):
            for term in set(doc):
                self._postings.setdefault(term, []).append(i)
        # BM25Okapi divides by the corpus size and the mean length: both must be non-zero.
        self._bm25 = (
            BM25Okapi([list(d) for d in docs], k1=k1, b=b, epsilon=epsilon)
            if self.size and any(docs)
            else None
        )

    def df(self, term: str) -> int:
        """How many passages contain the term."""
        return len(self._postings.get(term, ()))

    def postings(self, term: str) -> Sequence[int]:
        """Indexes of the passages that contain the term, ascending."""
        return self._postings.get(term, ())

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25Okapi scores of every passage for the terms."""
        if self._bm25 is None:
            return np.zeros(self.size)
        return np.asarray(self._bm25.get_scores(list(terms)), dtype=float)
