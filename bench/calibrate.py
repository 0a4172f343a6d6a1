"""Fit the answerability model on the tuning split and report it on the other.

The model (index/answerability.py) turns three numbers of evidence into the probability
that the sources answer a question. This script asks the questions of the tuning split
with no threshold, fits a logistic regression to whether each was answerable, picks a
threshold, and prints the coefficients with the figures on both splits:

- tuning: SQuAD split-half articles 0-23 (see bench/quality.py) and tests/gold/tuning.jsonl;
- reporting: SQuAD split-half articles 24-47 (never used for fitting).

The threshold is the highest that keeps ``--answered`` of the answerable SQuAD tuning
questions and ``--chat-answered`` of the chat-style ones answered.

``--mode hybrid`` fits the model of hybrid retrieval (answerability.HYBRID_MODEL), whose
evidence has a fourth number: the best deciding passage's cosine similarity to the
question; ``--mode bm25`` (the default) the BM25-only model (answerability.MODEL).

Usage, from the repository root:

    .venv/bin/python bench/calibrate.py
    .venv/bin/python bench/calibrate.py --mode hybrid
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpora
import paths

from bot import evaluate
from index import Index, IndexSettings, SearchSettings
from index.answerability import Evidence, Model

ROOT = Path(__file__).resolve().parent.parent
TUNING_GOLD = ROOT / "tests" / "gold" / "tuning.jsonl"
TUNING_CORPUS = ROOT / "tests" / "gold" / "tuning" / "corpus"


@dataclass(frozen=True)
class Sample:
    """One question's evidence, and whether the sources answer it."""

    evidence: Evidence
    answerable: bool
    group: str


def features(evidence: Evidence, hybrid: bool) -> list[float]:
    """The model's inputs, in Model's order (coverage, absent, intercept, similarity)."""
    out = [evidence.coverage, evidence.absent, 1.0]
    # Evidence gathered before any retrieval (no words to look for) has no similarity.
    return [*out, evidence.similarity or 0.0] if hybrid else out


def fit(samples: Sequence[Sample], l2: float = 1e-3, steps: int = 20000) -> Model:
    """Logistic regression by gradient descent (a few thousand rows, three columns).

    Each group (SQuAD, the chat-style gold set) weighs the same in the fit, however many
    questions it has: people in a chat ask unlike SQuAD's annotators.
    """
    hybrid = any(s.evidence.similarity is not None for s in samples)
    x = np.array([features(s.evidence, hybrid) for s in samples])
    y = np.array([float(s.answerable) for s in samples])
    groups = [s.group for s in samples]
    counts = {g: groups.count(g) for g in set(groups)}
    weight = np.array([len(samples) / (len(counts) * counts[g]) for g in groups])
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ w))
        w -= 0.5 * (x.T @ (weight * (p - y)) / len(y) + l2 * w)
    return Model(*(round(float(v), 3) for v in w))


def confidences(samples: Sequence[Sample], model: Model) -> NDArray[np.float64]:
    return np.array([s.evidence.confidence(model) for s in samples])


def shares(samples: Sequence[Sample], model: Model, threshold: float) -> dict[str, float]:
    """Answered share of the answerable questions and refused share of the others."""
    p = confidences(samples, model)
    yes = np.array([s.answerable for s in samples])
    return {
        "answered": round(float(np.mean(p[yes] >= threshold)), 4) if yes.any() else 1.0,
        "refused": round(float(np.mean(p[~yes] < threshold)), 4) if (~yes).any() else 1.0,
        "answerable": int(yes.sum()),
        "unanswerable": int((~yes).sum()),
    }


def applied_shares(samples: Sequence[Sample], threshold: float) -> dict[str, float]:
    """Answered and refused shares as the index decides (answerability.Evidence)."""
    p = np.array([s.evidence.confidence() for s in samples])
    yes = np.array([s.answerable for s in samples])
    return {
        "answered": round(float(np.mean(p[yes] >= threshold)), 4),
        "refused": round(float(np.mean(p[~yes] < threshold)), 4),
    }


def _keeping(samples: Sequence[Sample], model: Model, share: float) -> float:
    """The highest threshold that still answers share of the answerable samples."""
    answerable = np.sort(confidences([s for s in samples if s.answerable], model))
    return float(answerable[int((1 - share) * len(answerable))])


def ask_all(index: Index, questions: Sequence[tuple[str, bool]], group: str) -> list[Sample]:
    out = []
    for text, answerable in questions:
        result = index.search(text, min_answerability=0.0)
        out.append(Sample(result.evidence, answerable, group))
    return out


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--data", type=Path, default=paths.data_folder())
    p.add_argument("--mode", choices=("bm25", "hybrid"), default="bm25")
    p.add_argument("--answered", type=float, default=0.95, help="answered share of SQuAD to keep")
    p.add_argument(
        "--chat-answered", type=float, default=0.80, help="answered share of the chat set"
    )
    p.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "dated-sources-bot-quality"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Fit, choose the threshold, print the figures and one JSON line."""
    p = _parser()
    args = p.parse_args(argv)
    if (missing := paths.missing_data(args.data, ("squad-v1.1",))) is not None:
        p.error(missing)
    settings = IndexSettings()
    search = SearchSettings(retrieval=args.mode)
    files, questions = corpora.load_split(args.data, None)
    built = corpora.build("answerability", files, args.cache, settings, False)
    squad = Index.open(built.db, settings, search)
    if squad.retrieval != args.mode:
        p.error(f"the index answers in {squad.retrieval} mode: {squad.retrieval_note}")
    tune = ask_all(squad, [(q.text, q.indexed) for q in questions if q.part == "tune"], "squad")
    report = ask_all(squad, [(q.text, q.indexed) for q in questions if q.part == "report"], "squad")
    gold_built = corpora.build("tuning-gold", TUNING_CORPUS, args.cache, settings, False)
    gold_index = Index.open(gold_built.db, settings, search)
    gold = ask_all(
        gold_index, [(g.q, not g.expect_none) for g in evaluate.load(TUNING_GOLD)], "tuning"
    )
    model = fit(tune + gold)
    # The threshold keeps both answered shares: a real question refused is the worst answer.
    threshold = round(
        min(
            _keeping(tune, model, args.answered),
            _keeping(gold, model, args.chat_answered),
        ),
        3,
    )
    figures = {
        "model": model.__dict__,
        "threshold": threshold,
        "tune_squad": shares(tune, model, threshold),
        "tuning_gold": shares(gold, model, threshold),
        "report_squad": shares(report, model, threshold),
    }
    _print_curve(tune, gold, model, threshold)
    print(f"MODEL = {model}")
    print(f"min_answerability = {threshold}")
    for name in ("tune_squad", "tuning_gold", "report_squad"):
        print(f"{name}: {figures[name]}")
    if args.mode == "hybrid":
        # As the index decides, with the models in answerability.py (HYBRID_MODEL's
        # intercept moved to the common threshold) against min_answerability.
        applied = SearchSettings().min_answerability
        for name, group in (("tune_squad", tune), ("tuning_gold", gold), ("report_squad", report)):
            shown = applied_shares(group, applied)
            figures[f"applied_{name}"] = shown
            print(f"applied {name}: {shown}")
    print(json.dumps(figures))
    return 0


def _print_curve(tune: list[Sample], gold: list[Sample], model: Model, threshold: float) -> None:
    print("threshold  squad-tune answered/refused  chat-tuning answered/refused")
    for t in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, threshold):
        a, b = shares(tune, model, t), shares(gold, model, t)
        print(
            f"{t:9.3f}  {a['answered']:.3f} / {a['refused']:.3f}"
            f"               {b['answered']:.3f} / {b['refused']:.3f}"
        )


if __name__ == "__main__":
    sys.exit(main())
