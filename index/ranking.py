"""Ranking the candidate passages: retriever score and how much of the question a passage,
read with its document context, holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .context import DocumentContext
from .question import QueryTerm


@dataclass(frozen=True)
class RankingSettings:
    """How candidates are ordered."""

    # A word found only near a passage (its source's lead passage or the passage before it)
    # counts this much of a word in the passage itself; one in its source's title counts
    # fully.
    context_weight: float = 0.5
    # Weight of the question's covered share beside the retriever's normalised score.
    coverage_weight: float = 1.0


@dataclass(frozen=True, eq=False)
class Ranked:
    """Candidate rows best first, with what each holds of the question."""

    rows: NDArray[np.intp]
    scores: NDArray[np.float64]
    # Share of the question's weight each row holds, context counted at context_weight.
    coverage: NDArray[np.float64]
    # Per row and question term: held by the passage itself / only by its context.
    direct: NDArray[np.bool_]
    context: NDArray[np.bool_]
    # Cosine similarity of each row to the question, when embeddings took part.
    similarity: NDArray[np.float64] | None = None

    def __len__(self) -> int:
        return len(self.rows)


def rank(
    terms: Sequence[QueryTerm],
    total_weight: float,
    rows: NDArray[np.intp],
    scores: NDArray[np.float64],
    context: DocumentContext,
    settings: RankingSettings,
    similarity: NDArray[np.float64] | None = None,
) -> Ranked:
    """Order candidate rows by score and coverage, best first."""
    direct = np.zeros((len(rows), len(terms)), dtype=bool)
    around = np.zeros((len(rows), len(terms)), dtype=bool)
    titled = np.zeros((len(rows), len(terms)), dtype=bool)
    for j, term in enumerate(terms):
        direct[:, j], titled[:, j], around[:, j] = context.presence(rows, term.stems)
    weights = np.array([t.weight for t in terms])
    held = (direct | titled) @ weights + settings.context_weight * (around @ weights)
    coverage = held / total_weight if total_weight > 0 else np.zeros(len(rows))
    top = float(scores.max()) if len(scores) else 0.0
    final = (scores / top if top > 0 else scores) + settings.coverage_weight * coverage
    order = np.lexsort((rows, -coverage, -final))
    near = titled | around
    sims = similarity[order] if similarity is not None else None
    return Ranked(rows[order], scores[order], coverage[order], direct[order], near[order], sims)
