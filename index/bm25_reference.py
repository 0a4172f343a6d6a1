"""The reference scorer: rank-bm25's BM25Okapi with Lucene's idf, scoring every live passage
in Python (engine.py says why that idf; the sparse engine there gives the same scores)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rank_bm25 import BM25Okapi

from .columns import Mask, Part, Rows, TermColumns, TermIds, head
from .weights import idf


class LuceneBM25Okapi(BM25Okapi):  # type: ignore[misc]
    """rank-bm25's BM25Okapi with Lucene's idf: the reference scorer."""

    def _calc_idf(self, nd: dict[str, int]) -> None:
        self.idf = {word: idf(freq, self.corpus_size) for word, freq in nd.items()}


class Bm25Engine(TermColumns):
    """rank-bm25 scoring every live passage in Python; postings for everything else."""

    name = "rank-bm25"

    def __init__(self, parts: Sequence[Part], vocabulary: TermIds, k1: float, b: float) -> None:
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
        return head(rows.astype(np.int64), scores[rows], k)


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
