"""Measure the hybrid fusion's weights on the tuning splits only.

For each dense weight (share of the embeddings' score in the fused score) and each weight of
the question's covered share in ranking (coverage_weight), asks the tuning questions with no
answerability threshold and prints one row per pair:

- SciFact train queries (nDCG@10; the reported figures use the test queries);
- SQuAD split-half, articles 0-23, answerable questions: gold answer in the first excerpt
  (the reported figures use articles 24-47);
- tests/gold/tuning.jsonl: hit@1 (the hold-out set is never used here).

The pair with the best mean of the three is printed last, with BM25's and the embeddings'
own figures beside it. Indexes come from bench/quality.py's cache (built there if missing).

Usage, from the repository root:

    .venv/bin/python bench/fusion.py
    .venv/bin/python bench/fusion.py --weights 0.5 0.7 --coverage 0 0.5 --limit 200
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asking
import corpora
import metrics
import paths
import quality

from bot import evaluate as gold
from index import Index, IndexSettings, SearchSettings


def measure(
    search: SearchSettings,
    scifact: tuple[corpora.Built, corpora.Dataset],
    squad: tuple[corpora.Built, list[corpora.SplitQuestion]],
    tuning: corpora.Built,
) -> dict[str, float]:
    """The three tuning figures for one set of search settings."""
    settings = IndexSettings()
    built, dataset = scifact
    task = asking.Task(built.db, settings, search, 100)
    ranked = [asking.rank(task, q) for q in dataset.queries]
    ndcg = statistics.fmean(metrics.ndcg(r.docs, dataset.qrels[r.qid]) for r in ranked)
    built_split, questions = squad
    task = asking.Task(built_split.db, settings, search, 3)
    first = statistics.fmean(
        float(asking.answer_split(task, q).in_first_excerpt) for q in questions
    )
    index = Index.open(tuning.db, settings, search)
    try:
        hit1 = gold.evaluate(index, gold.load(quality.TUNING_GOLD), limit=3).metrics()["hit@1"]
    finally:
        index.close()
    return {"scifact_train_ndcg@10": ndcg, "squad_tune_first_excerpt": first, "tuning_hit@1": hit1}


def main(argv: Sequence[str] | None = None) -> int:
    """Sweep the weights; print a table and one JSON line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--data", type=Path, default=paths.data_folder())
    p.add_argument("--weights", type=float, nargs="+", default=[0.3, 0.5, 0.6, 0.7, 0.8, 0.9])
    p.add_argument("--coverage", type=float, nargs="+", default=[0.0, 0.25, 0.5, 1.0])
    p.add_argument("--limit", type=int, default=300, help="questions per SciFact/SQuAD set")
    p.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "dated-sources-bot-quality"
    )
    args = p.parse_args(argv)
    if (missing := paths.missing_data(args.data)) is not None:
        p.error(missing)
    settings = IndexSettings()
    dataset = corpora.load("scifact", args.data, "train", args.limit)
    scifact = corpora.build(
        "scifact-title", corpora.dataset_files(dataset, True), args.cache, settings, False
    )
    files, questions = corpora.load_split(args.data, None)
    tune = [q for q in questions if q.part == "tune" and q.indexed][: args.limit]
    split = corpora.build("answerability", files, args.cache, settings, False)
    tuning = corpora.build("tuning-gold", quality.TUNING_CORPUS, args.cache, settings, False)
    base = SearchSettings(min_answerability=0.0, min_hit_ratio=0.0)
    rows: list[dict[str, Any]] = []
    for mode in ("bm25", "dense"):
        figures = measure(
            SearchSettings(min_answerability=0.0, min_hit_ratio=0.0, retrieval=mode),
            (scifact, dataset),
            (split, tune),
            tuning,
        )
        rows.append({"mode": mode} | figures)
        print(json.dumps(rows[-1]), flush=True)
    for weight in args.weights:
        for coverage in args.coverage:
            search = SearchSettings(
                **{
                    **base.__dict__,
                    "dense_weight": weight,
                    "coverage_weight": coverage,
                }
            )
            figures = measure(search, (scifact, dataset), (split, tune), tuning)
            rows.append({"mode": "hybrid", "dense_weight": weight, "coverage": coverage} | figures)
            print(json.dumps(rows[-1]), flush=True)
    best = _print_rows(rows)
    print(json.dumps({"best": best, "rows": rows}))
    return 0


def _print_rows(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Print the sweep as a Markdown table; the hybrid row with the best mean figure."""
    names = ("scifact_train_ndcg@10", "squad_tune_first_excerpt", "tuning_hit@1")
    hybrid = [r for r in rows if r["mode"] == "hybrid"]
    print("| mode | dense weight | coverage | " + " | ".join(names) + " | mean |")
    print("|---|---|---|" + "---|" * (len(names) + 1))
    for r in rows:
        mean = statistics.fmean(r[n] for n in names)
        print(
            f"| {r['mode']} | {r.get('dense_weight', '')} | {r.get('coverage', '')} | "
            + " | ".join(f"{r[n]:.4f}" for n in names)
            + f" | {mean:.4f} |"
        )
    return max(hybrid, key=lambda r: statistics.fmean(r[n] for n in names))


if __name__ == "__main__":
    sys.exit(main())
