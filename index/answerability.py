"""Whether the sources answer a question at all: one calibrated decision, made where the
answer would be (the best passages read with their document context), not corpus-wide.

The evidence is two numbers: the share of the question's weight one of the best passages
holds (informative words weigh more; words the corpus lacks are weighed by how common they
are in the language) and the share of that weight no passage holds at all. A logistic
model turns them into the probability that the sources answer; its coefficients were
fitted on a tuning split (`python bench/calibrate.py`, see BENCHMARKS.md) and are reported
on another. (The best passage's BM25 score per unit of weight was tried as a third input
and dropped: it grows with term repeats and with the corpus's size, not with relevance.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from .question import QueryTerm
from .ranking import Ranked

# The decision looks at this many of the best-ranked passages.
DECIDING_PASSAGES = 5
# Absent words carrying at least this share of the question's weight are named to the user.
NAMED_MISSING_SHARE = 0.5


@dataclass(frozen=True)
class Model:
    """Logistic coefficients of the evidence, and the intercept."""

    coverage: float
    absent: float
    intercept: float
    # The best deciding passage's cosine similarity to the question (hybrid retrieval).
    similarity: float = 0.0


# Fitted by bench/calibrate.py on the tuning split (SQuAD split-half articles 0-23 and
# tests/gold/tuning.jsonl); figures for the other split are in BENCHMARKS.md.
MODEL = Model(coverage=3.479, absent=-1.166, intercept=-1.254)
# With the semantic similarity as a third input, for hybrid retrieval: fitted by
# `bench/calibrate.py --mode hybrid` on the same tuning split (threshold 0.545 there), its
# intercept (-2.892) then moved by logit(0.486) - logit(0.545) so that the one threshold,
# min_answerability 0.486, makes the fitted decision in both modes.
HYBRID_MODEL = Model(coverage=1.841, absent=-1.148, intercept=-3.129, similarity=5.233)


class Reason(StrEnum):
    """Why a question is not answered."""

    NO_TERMS = "no_terms"
    MISSING_NAME = "missing_name"
    NO_MATCH = "no_match"
    NO_DATE_MATCH = "no_date_match"


@dataclass(frozen=True)
class Evidence:
    """What the decision is made from."""

    coverage: float
    absent: float
    # Best cosine similarity among the deciding passages; None without embeddings.
    similarity: float | None = None

    @property
    def model(self) -> Model:
        """The fitted model for this kind of evidence."""
        return MODEL if self.similarity is None else HYBRID_MODEL

    def confidence(self, model: Model | None = None) -> float:
        """The probability that the sources answer the question (by model, if given)."""
        # Taking the larger of the BM25-only and the hybrid model's probabilities was tried:
        # on the tuning split it answered 0.99 of SQuAD's answerable questions but refused
        # only 0.56 of the unanswerable ones, against 0.97 and 0.88 for this model alone.
        model = model or self.model
        z = model.coverage * self.coverage + model.absent * self.absent + model.intercept
        if self.similarity is not None:
            z += model.similarity * self.similarity
        return 1 / (1 + math.exp(-z))


@dataclass(frozen=True)
class Decision:
    """Answered or not, why not, and the evidence."""

    found: bool
    evidence: Evidence
    reason: Reason | None = None
    missing: tuple[str, ...] = ()

    @property
    def confidence(self) -> float:
        """The probability that the sources answer the question."""
        return self.evidence.confidence()


NOTHING = Evidence(0.0, 1.0)


def decide(terms: Sequence[QueryTerm], ranked: Ranked, threshold: float) -> Decision:
    """Found when the evidence from the best passages makes an answer likely enough and the
    sources hold every number and country the question names."""
    total = sum(t.weight for t in terms)
    absent = sum(t.weight for t in terms if t.df == 0) / total if total > 0 else 1.0
    top = min(len(ranked), DECIDING_PASSAGES)
    coverage = float(ranked.coverage[:top].max()) if top else 0.0
    similarity = None
    if ranked.similarity is not None:
        similarity = float(ranked.similarity[:top].max()) if top else 0.0
    evidence = Evidence(coverage, absent, similarity)
    # A number or version asked about must match (3.12 is not 2.7), and a country no source
    # names is not one the sources speak of (embeddings put Bolivia close to Venezuela).
    decisive = tuple(t.word for t in terms if (t.number or t.place) and t.df == 0)
    if decisive:
        return Decision(False, evidence, Reason.MISSING_NAME, decisive)
    if top and evidence.confidence() >= threshold:
        return Decision(True, evidence)
    return _not_found(terms, total, evidence)


def _not_found(terms: Sequence[QueryTerm], total: float, evidence: Evidence) -> Decision:
    absent = tuple(t.word for t in terms if t.df == 0)
    # Names and numbers the sources lack are worth telling the user ("Brazil", "2019").
    names = tuple(t.word for t in terms if t.df == 0 and (t.number or t.word[:1].isupper()))
    if names and evidence.absent >= NAMED_MISSING_SHARE:
        return Decision(False, evidence, Reason.MISSING_NAME, names)
    return Decision(False, evidence, Reason.NO_MATCH, absent)
