"""Retrieval and answer quality of the bot's own analyzer and retriever on public benchmarks.

Builds a real index (``index.build_index``) from the public data in ``--data`` (default:
``$BENCH_DATA``, else ``bench/data``; see BENCHMARKS.md, "Data") written out as one file per
document, opens it with ``index.Index.open`` and asks every
judged question, then prints a table per dataset and, last, one JSON line.

- BEIR SciFact (``--split test``, 300 queries; tune on ``--split train``): nDCG@10 and
  Recall@100, BEIR "flat" convention (the file body is ``title + " " + text``).
- SQuAD v1.1 dev (10,570 questions over 2,067 paragraphs): paragraph retrieval nDCG@10 and
  MRR@10, and the product's own figures with its default settings: how often the gold
  answer text is inside the first citation's excerpt (``answer_in_excerpt``) versus inside
  the whole passage it was cut from (``answer_in_paragraph``), their mean lengths in words,
  and how often the answer is "not found".

- SQuAD split-half answerability (``answerability``): the even-numbered articles of the
  SQuAD dev set are indexed (one Markdown file per article, its title as the first line,
  paragraphs separated by blank lines); questions about them must be answered with the
  gold answer inside the first excerpt, questions about the odd-numbered articles must be
  refused. Reported on every question and on two halves by article: ``tune`` (articles
  0-23, for fitting thresholds) and ``report`` (articles 24-47); ``--sample N`` asks a
  fixed random sample of N answerable and N unanswerable questions instead.

- The tuning gold set (``tuning``): tests/gold/tuning.jsonl over tests/gold/tuning/corpus,
  chat-style questions over real statements, measured as ``python -m bot eval`` does
  (hit@1, hit@3, MRR, not-found precision and recall).

Every dataset is measured in each retrieval mode of ``--modes`` (default: bm25, dense,
hybrid) on one index built with passage vectors: the final JSON holds the default mode's
figures at the top level, as before, and every mode's under ``"modes"``. Vectors are built
with the bundled embedding model unless ``--embedding-model`` names another ("" for none).

Retrieval metrics use ``min_answerability=0`` and ``min_hit_ratio=0`` so no candidate is
filtered out; a document ranks at its best passage (passages deduplicated by source, first
occurrence kept, more pages fetched until ``--depth`` distinct documents are ranked). A
question the index answers "not found" (e.g. a capitalised word no source contains) scores 0.
The answer shares count every question (a "not found" is a miss); word counts average the
found answers only. Answers are compared after ``index.fold`` (case, accents, quote marks)
and with white space collapsed; ``answer_in_excerpt_nofold`` compares lower-cased text only.

Usage, from the repository root:

    .venv/bin/python bench/quality.py                                  # both, full (minutes)
    .venv/bin/python bench/quality.py --datasets squad --limit-queries 500
    .venv/bin/python bench/quality.py --datasets scifact --split train --k1 1.2 --b 0.8
    .venv/bin/python bench/quality.py --passage-chars 5000 --excerpt-chars 300 --jobs 2
    .venv/bin/python bench/quality.py --datasets answerability --sample 200
    .venv/bin/python bench/quality.py --datasets tuning --modes hybrid --dense-weight 0.8

Built indexes are cached per dataset and index settings under ``--cache`` (default: a
folder in the system temp dir); ``--rebuild`` ignores the cache. Questions are spread over
``--jobs`` processes (default: up to 2). Progress goes to stderr, results to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import paths
from asking import (
    Answered,
    SplitAnswer,
    Task,
    answer_one,
    answer_split_one,
    opened,
    rank_one,
    run_all,
)
from corpora import (
    FOLDERS,
    Dataset,
    SplitQuestion,
    build,
    dataset_files,
    load,
    load_split,
)
from metrics import answer_metrics, contains, retrieval_metrics, split_metrics

from bot import evaluate as gold
from index import AnalyzerSettings, Index, IndexSettings, Mode, SearchSettings

ROOT = paths.ROOT
TUNING_GOLD = ROOT / "tests" / "gold" / "tuning.jsonl"
TUNING_CORPUS = ROOT / "tests" / "gold" / "tuning" / "corpus"
DATASETS = ("scifact", "squad", "answerability", "tuning")
MODES = tuple(str(m) for m in Mode)
DEFAULT_MODE = str(SearchSettings().retrieval)
DEFAULT_DEPTH = {"scifact": 100, "squad": 10}


# --- running ---------------------------------------------------------------------------


def evaluate(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Build once, then ask and measure one dataset in every mode; the default mode's
    figures at the top level, every mode's under "modes"."""
    modes: dict[str, dict[str, Any]] = {}
    for mode in args.modes:
        _say(f"{name}: mode {mode}")
        measure = {"answerability": evaluate_split, "tuning": evaluate_gold}.get(
            name, evaluate_beir
        )
        modes[mode] = measure(name, replace_mode(args, mode))
    default = DEFAULT_MODE if DEFAULT_MODE in modes else args.modes[0]
    return modes[default] | {"mode": default, "modes": modes}


def replace_mode(args: argparse.Namespace, mode: str) -> argparse.Namespace:
    """The options with one retrieval mode."""
    return argparse.Namespace(**(vars(args) | {"retrieval": mode}))


def evaluate_gold(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """The tuning gold set, measured as `python -m bot eval` measures it."""
    settings = IndexSettings()
    built = build(
        "tuning-gold", TUNING_CORPUS, args.cache, settings, args.rebuild, args.embedding_model
    )
    questions = gold.load(TUNING_GOLD)
    index = Index.open(built.db, settings, SearchSettings(**_overrides(args)))
    try:
        started = time.perf_counter()
        report = gold.evaluate(index, questions, limit=3)
        seconds = time.perf_counter() - started
        retrieval = index.retrieval
    finally:
        index.close()
    return dict(report.metrics()) | {
        "questions": len(questions),
        "passages": built.passages,
        "answer_qps": len(questions) / seconds,
        "retrieval": str(retrieval),
    }


def evaluate_beir(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Build, ask and measure one BEIR-layout dataset in one mode."""
    split = args.split if name == "scifact" else "test"
    _say(f"{name}: loading")
    dataset = load(name, args.data, split, args.limit_queries)
    settings = _index_settings(args)
    _say(f"{name}: indexing {len(dataset.docs)} documents")
    with_title = not args.no_title
    built = build(
        f"{name}-{'title' if with_title else 'text'}",
        dataset_files(dataset, with_title),
        args.cache,
        settings,
        args.rebuild,
        args.embedding_model,
    )
    product = SearchSettings(**_overrides(args))
    retrieval = replace(product, min_answerability=0.0, min_hit_ratio=0.0)
    depth = args.depth or DEFAULT_DEPTH[name]

    started = time.perf_counter()
    first = Index.open(built.db, settings, retrieval)
    open_seconds = time.perf_counter() - started
    used = str(first.retrieval)
    first.close()
    _say(f"{name}: ranking {len(dataset.queries)} questions")
    task = Task(built.db, settings, retrieval, depth)
    ranked, rank_seconds = run_all(rank_one, task, dataset.queries, args.jobs)
    out: dict[str, Any] = retrieval_metrics(dataset, ranked, depth)
    out["queries"] = len(dataset.queries)
    if name == "squad":
        _say(f"{name}: answering {len(dataset.queries)} questions with the product settings")
        task = Task(built.db, settings, product, 3)
        answered, answer_seconds = run_all(answer_one, task, dataset.queries, args.jobs)
        out |= answer_metrics(dataset, answered)
        out["answer_qps"] = len(answered) / answer_seconds
        _show_misses(dataset, answered, args.show_misses)
    out |= {
        "split": split,
        "docs": built.sources,
        "passages": built.passages,
        "skipped": built.skipped,
        "build_seconds": built.seconds,
        "build_cached": built.cached,
        "open_seconds": round(open_seconds, 2),
        "rank_qps": len(ranked) / rank_seconds,
        "jobs": args.jobs,
        "retrieval": used,
    }
    return out


def evaluate_split(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """The SQuAD split-half answerability measure, on every question and by half."""
    _say("answerability: loading")
    files, questions = load_split(args.data, args.sample)
    settings = _index_settings(args)
    _say(f"answerability: indexing {len(files)} articles")
    built = build("answerability", files, args.cache, settings, args.rebuild, args.embedding_model)
    task = Task(built.db, settings, SearchSettings(**_overrides(args)), 3)
    used = str(opened(task).retrieval)
    _say(f"answerability: asking {len(questions)} questions")
    results, seconds = run_all(answer_split_one, task, questions, args.jobs)
    answers = {a.qid: a for a in results}
    out = split_metrics(questions, answers)
    for part in ("tune", "report"):
        out[part] = split_metrics([q for q in questions if q.part == part], answers)
    out |= {
        "sample": args.sample,
        "docs": built.sources,
        "passages": built.passages,
        "answer_qps": len(results) / seconds,
        "retrieval": used,
    }
    _show_split_misses(questions, answers, args.show_misses)
    return out


def _show_split_misses(
    questions: Sequence[SplitQuestion], answers: dict[str, SplitAnswer], count: int
) -> None:
    wrong = [
        q
        for q in questions
        if (q.indexed and not answers[q.qid].in_first_excerpt)
        or (not q.indexed and answers[q.qid].found)
    ]
    for q in wrong[:count]:
        kind = ("missed" if answers[q.qid].found else "refused") if q.indexed else "answered"
        print(f"  {kind}: {q.text!r} gold={q.answers[0]!r}")


def _index_settings(args: argparse.Namespace) -> IndexSettings:
    return IndexSettings(
        analyzer=AnalyzerSettings(lemmatize=not args.no_lemmatize),
        passage_chars=args.passage_chars,
        min_passage_chars=args.min_passage_chars,
    )


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    names = (
        "k1",
        "b",
        "excerpt_chars",
        "min_answerability",
        "min_hit_ratio",
        "context_weight",
        "coverage_weight",
        "dense_weight",
        "embedding_model",
        "retrieval",
    )
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _show_misses(dataset: Dataset, answered: list[Answered], count: int) -> None:
    shown = 0
    texts = dict(dataset.queries)
    for a in answered:
        if shown >= count:
            break
        if not a.found or not contains(a.excerpt, dataset.answers[a.qid]):
            gold = dataset.answers[a.qid][0]
            where = a.reason or ("wrong paragraph" if a.doc not in dataset.qrels[a.qid] else "")
            print(
                f"  miss [{where or 'cut'}] {texts[a.qid]!r} gold={gold!r} -> {a.excerpt[:120]!r}"
            )
            shown += 1


def _say(message: str) -> None:
    print(f"[quality] {message}", file=sys.stderr, flush=True)


def table(name: str, figures: dict[str, Any]) -> str:
    """One dataset's figures as a two-column Markdown table."""
    lines = [f"| {name} | value |", "|---|---|"]
    for key, value in figures.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        lines.append(f"| {key} | {shown} |")
    return "\n".join(lines)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    defaults = SearchSettings()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    p.add_argument(
        "--data", type=Path, default=paths.data_folder(), help="folder with scifact/, squad-v1.1/"
    )
    p.add_argument("--split", choices=("test", "train"), default="test", help="SciFact qrels")
    p.add_argument("--limit-queries", type=int, default=None, metavar="N")
    p.add_argument("--depth", type=int, default=None, help="documents ranked per question")
    p.add_argument("--k1", type=float, default=None, help=f"BM25 k1 ({defaults.k1})")
    p.add_argument("--b", type=float, default=None, help=f"BM25 b ({defaults.b})")
    p.add_argument("--excerpt-chars", type=int, default=None, help=f"({defaults.excerpt_chars})")
    p.add_argument("--min-answerability", type=float, default=None, help="answer figures only")
    p.add_argument("--min-hit-ratio", type=float, default=None, help="answer figures only")
    p.add_argument(
        "--context-weight", type=float, default=None, help=f"({defaults.context_weight})"
    )
    p.add_argument(
        "--coverage-weight", type=float, default=None, help=f"({defaults.coverage_weight})"
    )
    p.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    p.add_argument("--embedding-model", default=defaults.embedding_model, help='("" for BM25 only)')
    p.add_argument("--dense-weight", type=float, default=None, help=f"({defaults.dense_weight})")
    p.add_argument("--passage-chars", type=int, default=IndexSettings().passage_chars)
    p.add_argument("--min-passage-chars", type=int, default=IndexSettings().min_passage_chars)
    p.add_argument("--no-title", action="store_true", help="index text without the title")
    p.add_argument("--no-lemmatize", action="store_true", help="stem words without lemmas")
    p.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "dated-sources-bot-quality"
    )
    p.add_argument("--rebuild", action="store_true", help="build indexes even when cached")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--show-misses", type=int, default=0, metavar="N", help="SQuAD misses")
    p.add_argument(
        "--sample", type=int, default=None, metavar="N", help="answerability: N + N questions"
    )
    args = p.parse_args(argv)
    if args.limit_queries is not None and args.limit_queries < 1:
        p.error("--limit-queries must be positive")
    if args.depth is not None and args.depth < 10:
        p.error("--depth must be at least 10")
    needed = tuple(sorted({FOLDERS[d] for d in args.datasets if d in FOLDERS}))
    if (missing := paths.missing_data(args.data, needed)) is not None:
        p.error(missing)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen datasets; print tables, timings and one JSON line."""
    args = parse_args(argv)
    results: dict[str, Any] = {}
    for name in args.datasets:
        results[name] = evaluate(name, args)
        for mode, figures in results[name]["modes"].items():
            print(table(f"{name} ({mode})", figures))
            print()
    settings = {
        "search": asdict(SearchSettings(**_overrides(args))),
        "passage_chars": args.passage_chars,
        "min_passage_chars": args.min_passage_chars,
        "title": not args.no_title,
    }
    print(json.dumps(_rounded(results | {"settings": settings}), sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
