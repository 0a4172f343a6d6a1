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
import concurrent.futures
import hashlib
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import paths

from bot import evaluate as gold
from bot.answer import compose
from index import (
    BUNDLED_EMBEDDING_MODEL,
    ELLIPSIS,
    AnalyzerSettings,
    Index,
    IndexSettings,
    Mode,
    SearchSettings,
    build_index,
    load_embedder,
)

ROOT = paths.ROOT
TUNING_GOLD = ROOT / "tests" / "gold" / "tuning.jsonl"
TUNING_CORPUS = ROOT / "tests" / "gold" / "tuning" / "corpus"
DATASETS = ("scifact", "squad", "answerability", "tuning")
MODES = tuple(str(m) for m in Mode)
DEFAULT_MODE = str(SearchSettings().retrieval)
FOLDERS = {"scifact": "scifact", "squad": "squad-v1.1", "answerability": "squad-v1.1"}
DEFAULT_DEPTH = {"scifact": 100, "squad": 10}
SUFFIX = ".txt"
T = TypeVar("T")


# --- data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """A BEIR-layout dataset: documents, the judged questions and their relevant documents."""

    name: str
    docs: dict[str, tuple[str, str]]
    queries: list[tuple[str, str]]
    qrels: dict[str, set[str]]
    answers: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _qrels(path: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    with path.open(encoding="utf-8") as fh:
        next(fh)  # header
        for line in fh:
            qid, doc, score = line.rstrip("\n").split("\t")
            if int(score) > 0:
                out.setdefault(qid, set()).add(doc)
    return out


def load(name: str, data: Path, split: str, limit: int | None) -> Dataset:
    """Read a dataset; only questions with judgments are kept, in qrels file order."""
    folder = data / FOLDERS[name]
    docs = {d["_id"]: (d["title"], d["text"]) for d in _jsonl(folder / "corpus.jsonl")}
    qrels = _qrels(folder / "qrels" / f"{split if name == 'scifact' else 'test'}.tsv")
    texts = {q["_id"]: q["text"] for q in _jsonl(folder / "queries.jsonl")}
    queries = [(qid, texts[qid]) for qid in qrels]
    if limit is not None:
        queries = queries[:limit]
    qrels = {qid: qrels[qid] for qid, _ in queries}
    answers: dict[str, tuple[str, ...]] = {}
    if name == "squad":
        squad = json.loads((folder / "dev-v1.1.json").read_text(encoding="utf-8"))
        for article in squad["data"]:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    answers[qa["id"]] = tuple(a["text"] for a in qa["answers"])
    return Dataset(name, docs, queries, qrels, answers)


@dataclass(frozen=True)
class SplitQuestion:
    """A SQuAD question of the split-half measure: answerable when its article is indexed."""

    qid: str
    text: str
    article: int
    answers: tuple[str, ...]

    @property
    def indexed(self) -> bool:
        """Whether the question's article is in the index (the even-numbered ones)."""
        return self.article % 2 == 0

    @property
    def part(self) -> str:
        """The half of the articles it belongs to: tune (0-23) or report (24-47)."""
        return "tune" if self.article < SPLIT_TUNE_ARTICLES else "report"


SPLIT_TUNE_ARTICLES = 24
SPLIT_SAMPLE_SEED = 20261123


def load_split(data: Path, sample: int | None) -> tuple[dict[str, str], list[SplitQuestion]]:
    """The indexed articles as files (name: text) and every question, or a fixed sample."""
    squad = json.loads((data / FOLDERS["squad"] / "dev-v1.1.json").read_text(encoding="utf-8"))
    files: dict[str, str] = {}
    questions: list[SplitQuestion] = []
    for number, article in enumerate(squad["data"]):
        title = article["title"].replace("_", " ")
        paragraphs = [p["context"].strip() for p in article["paragraphs"]]
        if number % 2 == 0:
            files[f"{number:02d}.md"] = f"# {title}\n\n" + "\n\n".join(paragraphs) + "\n"
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = tuple(a["text"] for a in qa["answers"])
                questions.append(SplitQuestion(qa["id"], qa["question"], number, answers))
    if sample is not None:
        rng = random.Random(SPLIT_SAMPLE_SEED)
        inside = [q for q in questions if q.indexed]
        outside = [q for q in questions if not q.indexed]
        questions = rng.sample(inside, min(sample, len(inside))) + rng.sample(
            outside, min(sample, len(outside))
        )
    return files, questions


# --- index -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    """An index file ready to open, and what building it took."""

    db: Path
    settings: IndexSettings
    sources: int
    passages: int
    skipped: int
    seconds: float
    cached: bool


def _document(title: str, text: str, with_title: bool) -> str:
    # The front-matter title is only shown; the body is what gets indexed.
    body = f"{title} {text}".strip() if with_title else text.strip()
    head = f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\n---\n" if title else ""
    return head + body + "\n"


def write_corpus(files: dict[str, str], folder: Path) -> None:
    """One file per document (name: text); skipped when already complete."""
    done = folder.with_name(folder.name + ".done")
    if done.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    done.write_text(str(len(files)), encoding="utf-8")


def dataset_files(dataset: Dataset, with_title: bool) -> dict[str, str]:
    """A BEIR dataset as files named by document id."""
    return {
        f"{doc_id}{SUFFIX}": _document(title, text, with_title)
        for doc_id, (title, text) in dataset.docs.items()
    }


def build(
    name: str,
    files: dict[str, str] | Path,
    cache: Path,
    settings: IndexSettings,
    rebuild: bool,
    embedding_model: str = BUNDLED_EMBEDDING_MODEL,
) -> Built:
    """The index of these files (or of this corpus folder) for these settings, with the
    passage vectors of embedding_model, built unless cached."""
    base = cache / name
    if isinstance(files, Path):
        corpus = files
    else:
        corpus = base / "corpus"
        write_corpus(files, corpus)
    embedder, _ = load_embedder(embedding_model)
    key = json.dumps(
        settings.fingerprint()
        | {"max_bytes": settings.max_file_bytes}
        | {"vectors": embedder.model_id if embedder is not None else ""},
        sort_keys=True,
    )
    db = base / f"index-{hashlib.sha256(key.encode()).hexdigest()[:12]}.sqlite"
    info = db.with_suffix(".json")
    # The file name holds the settings' fingerprint: a cached file matches them.
    if not rebuild and db.exists() and info.exists():
        return Built(db, settings, **json.loads(info.read_text()), cached=True)
    report = build_index(corpus, db, settings, embedder=embedder, embedding_model="")
    stats: dict[str, Any] = {
        "sources": report.sources,
        "passages": report.passages,
        "skipped": len(report.skipped),
        "seconds": round(report.seconds, 2),
    }
    info.write_text(json.dumps(stats))
    return Built(db, settings, **stats, cached=False)


def doc_id(path: str) -> str:
    """The dataset id of an indexed source file."""
    return path.removesuffix(SUFFIX)


# --- asking (runs in worker processes too) ---------------------------------------------


@dataclass(frozen=True)
class Ranked:
    """Distinct documents a question retrieves, best first, or why it found none."""

    qid: str
    docs: tuple[str, ...]
    reason: str | None


@dataclass(frozen=True)
class Answered:
    """The product's answer to a question: first citation's excerpt and whole passage."""

    qid: str
    found: bool
    reason: str | None
    doc: str | None
    excerpt: str
    passage: str


@dataclass(frozen=True)
class Task:
    """What a worker opens: one index with one set of search settings."""

    db: Path
    settings: IndexSettings
    search: SearchSettings
    depth: int


_open: dict[Task, Index] = {}


def _index(task: Task) -> Index:
    # One open index per worker process and task, reused across its questions.
    idx = _open.get(task)
    if idx is None:
        idx = _open[task] = Index.open(task.db, task.settings, task.search)
    return idx


def rank(task: Task, question: tuple[str, str]) -> Ranked:
    """Distinct documents by best passage, paging until task.depth of them are found."""
    idx = _index(task)
    qid, text = question
    docs: list[str] = []
    seen: set[str] = set()
    offset = 0
    while len(docs) < task.depth:
        result = idx.search(text, limit=max(task.depth, 10), offset=offset)
        if not result.found:
            return Ranked(qid, (), result.reason)
        for hit in result.hits:
            d = doc_id(hit.source.path)
            if d not in seen:
                seen.add(d)
                docs.append(d)
        offset += len(result.hits)
        if not result.hits or offset >= result.total:
            break
    return Ranked(qid, tuple(docs[: task.depth]), None)


def answer(task: Task, question: tuple[str, str]) -> Answered:
    """Ask as the bot does (search, then compose) and keep the first citation."""
    idx = _index(task)
    qid, text = question
    result = idx.search(text)
    reply = compose(result)
    if not reply.found:
        return Answered(qid, False, result.reason, None, "", "")
    first = reply.citations[0]
    passage = idx.passage(first.passage_id)
    return Answered(
        qid, True, None, doc_id(first.source), first.excerpt, passage.text if passage else ""
    )


def _rank_one(args: tuple[Task, tuple[str, str]]) -> Ranked:
    return rank(*args)


def _answer_one(args: tuple[Task, tuple[str, str]]) -> Answered:
    return answer(*args)


def run_all(
    fn: Callable[[tuple[Task, tuple[str, str]]], T],
    task: Task,
    queries: Sequence[tuple[str, str]],
    jobs: int,
) -> tuple[list[T], float]:
    """Results for every question in order, and the wall time taken."""
    started = time.perf_counter()
    items = [(task, q) for q in queries]
    if jobs <= 1:
        out: list[T] = [fn(item) for item in items]
    else:
        with concurrent.futures.ProcessPoolExecutor(jobs) as pool:
            out = list(pool.map(fn, items, chunksize=max(1, len(items) // (jobs * 8))))
    return out, time.perf_counter() - started


# --- metrics ---------------------------------------------------------------------------


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


def _mean(values: Iterable[float]) -> float:
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
        "ndcg@10": _mean(ndcg(r.docs, rel[r.qid]) for r in ranked),
        f"recall@{depth}": _mean(recall(r.docs, rel[r.qid], depth) for r in ranked),
        "mrr": _mean(reciprocal_rank(r.docs, rel[r.qid]) for r in ranked),
        "hit@1": _mean(float(bool(r.docs) and r.docs[0] in rel[r.qid]) for r in ranked),
        "retrieval_not_found": sum(reasons.values()),
        "retrieval_not_found_reasons": dict(reasons),
    }


def answer_metrics(dataset: Dataset, answered: list[Answered]) -> dict[str, Any]:
    """The product figures: gold answer in the first excerpt versus in its whole passage."""
    gold = dataset.answers
    found = [a for a in answered if a.found]
    reasons = Counter(a.reason for a in answered if not a.found)
    in_excerpt = _mean(float(contains(a.excerpt, gold[a.qid])) for a in answered)
    in_paragraph = _mean(float(contains(a.passage, gold[a.qid])) for a in answered)
    return {
        "answer_in_excerpt": in_excerpt,
        "answer_in_paragraph": in_paragraph,
        "excerpt_keeps": in_excerpt / in_paragraph if in_paragraph else 0.0,
        "answer_in_excerpt_nofold": _mean(
            float(contains(a.excerpt, gold[a.qid], folding=False)) for a in answered
        ),
        "excerpt_words": _mean(words(a.excerpt) for a in found),
        "paragraph_words": _mean(words(a.passage) for a in found),
        "length_ratio": _mean(words(a.excerpt) / max(words(a.passage), 1) for a in found),
        "top_is_gold": _mean(float(a.doc in dataset.qrels[a.qid]) for a in answered),
        "not_found_rate": 1 - len(found) / len(answered) if answered else 0.0,
        "not_found_reasons": dict(reasons),
    }


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
    settings = IndexSettings(
        analyzer=AnalyzerSettings(lemmatize=not args.no_lemmatize),
        passage_chars=args.passage_chars,
        min_passage_chars=args.min_passage_chars,
    )
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
    opened = Index.open(built.db, settings, retrieval)
    open_seconds = time.perf_counter() - started
    used = str(opened.retrieval)
    opened.close()

    _say(f"{name}: ranking {len(dataset.queries)} questions")
    task = Task(built.db, settings, retrieval, depth)
    ranked, rank_seconds = run_all(_rank_one, task, dataset.queries, args.jobs)
    out: dict[str, Any] = retrieval_metrics(dataset, ranked, depth)
    out["queries"] = len(dataset.queries)
    if name == "squad":
        _say(f"{name}: answering {len(dataset.queries)} questions with the product settings")
        task = Task(built.db, settings, product, 3)
        answered, answer_seconds = run_all(_answer_one, task, dataset.queries, args.jobs)
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


@dataclass(frozen=True)
class SplitAnswer:
    """What the product said to one question of the split-half measure."""

    qid: str
    found: bool
    in_first_excerpt: bool


def answer_split(task: Task, question: SplitQuestion) -> SplitAnswer:
    """Ask as the bot does; is the gold answer inside the first excerpt?"""
    reply = compose(_index(task).search(question.text))
    first = reply.citations[0].excerpt if reply.found else ""
    return SplitAnswer(question.qid, reply.found, contains(first, question.answers))


def _answer_split_one(args: tuple[Task, SplitQuestion]) -> SplitAnswer:
    return answer_split(*args)


def split_metrics(
    questions: Sequence[SplitQuestion], answers: dict[str, SplitAnswer]
) -> dict[str, Any]:
    """Answered and first-excerpt shares of the answerable questions, refused of the others."""
    inside = [answers[q.qid] for q in questions if q.indexed]
    outside = [answers[q.qid] for q in questions if not q.indexed]
    return {
        "answered": _mean(float(a.found) for a in inside),
        "refused": _mean(float(not a.found) for a in outside),
        "first_excerpt": _mean(float(a.in_first_excerpt) for a in inside),
        "answerable": len(inside),
        "unanswerable": len(outside),
    }


def evaluate_split(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """The SQuAD split-half answerability measure, on every question and by half."""
    _say("answerability: loading")
    files, questions = load_split(args.data, args.sample)
    settings = IndexSettings(
        analyzer=AnalyzerSettings(lemmatize=not args.no_lemmatize),
        passage_chars=args.passage_chars,
        min_passage_chars=args.min_passage_chars,
    )
    _say(f"answerability: indexing {len(files)} articles")
    built = build("answerability", files, args.cache, settings, args.rebuild, args.embedding_model)
    task = Task(built.db, settings, SearchSettings(**_overrides(args)), 3)
    used = str(_index(task).retrieval)
    _say(f"answerability: asking {len(questions)} questions")
    started = time.perf_counter()
    items = [(task, q) for q in questions]
    if args.jobs <= 1:
        results = [_answer_split_one(item) for item in items]
    else:
        with concurrent.futures.ProcessPoolExecutor(args.jobs) as pool:
            chunk = max(1, len(items) // (args.jobs * 8))
            results = list(pool.map(_answer_split_one, items, chunksize=chunk))
    seconds = time.perf_counter() - started
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
