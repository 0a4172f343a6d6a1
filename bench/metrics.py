"""The figures of bench/quality.py: nDCG, recall, MRR, and the product's answer shares."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from corpora import Dataset, SplitQuestion

from bot import evaluate as gold
from index import ELLIPSIS

if TYPE_CHECKING:
    from asking import Answered, Ranked, SplitAnswer


def ndcg(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    """BEIR nDCG@k: binary gains, log2 discount, ideal DCG from the relevant count."""
    dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if d in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


def recall(ranked: Sequence[str], relevant: set[str], k: int = 100) -> float:
    """Share of the relevant documents among the first k."""
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def reciprocal_rank(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    """1/rank of the first relevant document within the first k, else 0."""
    return next((1 / (i + 1) for i, d in enumerate(ranked[:k]) if d in relevant), 0.0)


def mean(values: Iterable[float]) -> float:
    items = list(values)
    return statistics.fmean(items) if items else 0.0


def contains(text: str, answers: Iterable[str], folding: bool = True) -> bool:
    """Whether any gold answer appears in text, compared as the gold sets compare phrases."""
    return gold.contains_any(text, answers, folding=folding)


def words(text: str) -> int:
    """Word count, not counting the ellipses that mark cuts."""
    return len(text.replace(ELLIPSIS, " ").split())


def retrieval_metrics(dataset: Dataset, ranked: list[Ranked], depth: int) -> dict[str, Any]:
    """nDCG@10, Recall@depth and MRR@10 over every judged question."""
    rel = dataset.qrels
    reasons = Counter(r.reason for r in ranked if r.reason)
    return {
        "ndcg@10": mean(ndcg(r.docs, rel[r.qid]) for r in ranked),
        f"recall@{depth}": mean(recall(r.docs, rel[r.qid], depth) for r in ranked),
        "mrr": mean(reciprocal_rank(r.docs, rel[r.qid]) for r in ranked),
        "hit@1": mean(float(bool(r.docs) and r.docs[0] in rel[r.qid]) for r in ranked),
        "retrieval_not_found": sum(reasons.values()),
        "retrieval_not_found_reasons": dict(reasons),
    }


def answer_metrics(dataset: Dataset, answered: list[Answered]) -> dict[str, Any]:
    """The product figures: gold answer in the first excerpt versus in its whole passage."""
    gold = dataset.answers
    found = [a for a in answered if a.found]
    reasons = Counter(a.reason for a in answered if not a.found)
    in_excerpt = mean(float(contains(a.excerpt, gold[a.qid])) for a in answered)
    in_paragraph = mean(float(contains(a.passage, gold[a.qid])) for a in answered)
    return {
        "answer_in_excerpt": in_excerpt,
        "answer_in_paragraph": in_paragraph,
        "excerpt_keeps": in_excerpt / in_paragraph if in_paragraph else 0.0,
        "answer_in_excerpt_nofold": mean(
            float(contains(a.excerpt, gold[a.qid], folding=False)) for a in answered
        ),
        "excerpt_words": mean(words(a.excerpt) for a in found),
        "paragraph_words": mean(words(a.passage) for a in found),
        "length_ratio": mean(words(a.excerpt) / max(words(a.passage), 1) for a in found),
        "top_is_gold": mean(float(a.doc in dataset.qrels[a.qid]) for a in answered),
        "not_found_rate": 1 - len(found) / len(answered) if answered else 0.0,
        "not_found_reasons": dict(reasons),
    }


def split_metrics(
    questions: Sequence[SplitQuestion], answers: dict[str, SplitAnswer]
) -> dict[str, Any]:
    """Answered and first-excerpt shares of the answerable questions, refused of the others."""
    inside = [answers[q.qid] for q in questions if q.indexed]
    outside = [answers[q.qid] for q in questions if not q.indexed]
    return {
        "answered": mean(float(a.found) for a in inside),
        "refused": mean(float(not a.found) for a in outside),
        "first_excerpt": mean(float(a.in_first_excerpt) for a in inside),
        "answerable": len(inside),
        "unanswerable": len(outside),
    }
