"""Speed of the index at scale, side by side with tantivy, SQLite FTS5, bm25s and rank-bm25.

For each size, a deterministic synthetic corpus is written as files (Zipf-distributed
pseudo-words mixed with English stop words, sentences of 6-20 words, paragraphs of 40-150
words, 5-15 paragraphs per file), with a fixed set of questions drawn from its paragraphs
(and a tenth with a word no file contains). Then, each step in its own process so memory
figures do not mix:

- build: ``index.build_index`` from scratch (passages per second, peak RSS, index size:
  the SQLite file and the segment files);
- reindex: one file changed, in a new process (``reindex_one_file_s``, as the command
  line reindexes) and again in the same process (``reindex_one_file_warm_s``, as the
  running bot does: the analyzer's dictionaries are loaded), then one file touched (new
  modification time, same bytes), ``index.build_index`` each time;
- serve: ``Index.open`` plus the first answer (start-up), then ``bot.answer.ask`` latency
  for every question (p50, p95), the engine's own top 10 alone, and the serving process's
  peak RSS;
- peers, on the very passages the index holds, as the index's analyzer made their terms
  (space-separated, so no peer re-analyzes anything): tantivy (tantivy-py; the terms
  indexed with its whitespace tokenizer and term frequencies, the passage text stored),
  built in one process and served in another (top 10 of the terms as SHOULD clauses; and
  what the answer pipeline would ask of it: the top 100, then which of those passages and
  their source's lead and previous passages hold each term); SQLite FTS5 (``bm25()``
  ranked OR query); bm25s (``get_scores`` + top 10 with method "robertson", and its
  ``retrieve``); naive rank-bm25 (``BM25Okapi.get_scores`` + top 10, 20 questions).

The build, reindex and serve steps run BM25 only (``embedding_model=""``). With ``--dense``
(the default when the semantic extra is installed), three more steps measure the embedding
stage with the bundled model:

- embed: ``Embedder.passages`` on ``--embed-sample`` real passages (SciFact abstracts with
  their titles, from ``$BENCH_DATA`` or ``bench/data``; synthetic ones without it): passages
  per second, wall and per CPU second;
- vectors: writes one random unit vector per live passage of the built index into its
  vector store, under the bundled model's id: a stand-in for embedding the synthetic corpus
  (whose pseudo-words mean nothing to a model), which the embed rate says how long would
  take;
- serve-hybrid: ``Index.open`` in hybrid mode, then per question the question embedding +
  brute-force vector search alone (``DenseRetriever.candidates``, top 100) and the whole
  ``bot.answer.ask``, and the serving process's peak RSS.

Needs the ``bench`` extra for bm25s (``pip install -e ".[bench]"``). Usage, from the
repository root:

    .venv/bin/python bench/speed.py --passages 1000 10000 100000
    .venv/bin/python bench/speed.py --passages 1000000 --workdir /tmp/speed --no-rank-bm25

Needs the bench extra for tantivy (``pip install -e ".[bench]"``). Prints a table and,
last, one JSON line. Corpora are kept under ``--workdir`` (default: a folder in the system
temp dir) and reused when present.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import peers  # noqa: E402
import speed_dense  # noqa: E402
from synthetic import corpus_paths, query_terms, questions_of, step_generate  # noqa: E402
from timing import median_ms, peak_rss_mb, percentiles, size  # noqa: E402

from bot.answer import ask  # noqa: E402
from index import Index, IndexSettings, SearchSettings, build_index  # noqa: E402
from index.store import segment_folder  # noqa: E402

# The changed and the touched file of the reindex step.
CHANGED = Path("0000") / "doc0000000.md"
TOUCHED = Path("0000") / "doc0000001.md"


def main(argv: Sequence[str] | None = None) -> int:
    """Run every step for every size and print the table and the JSON line."""
    args = _arguments().parse_args(argv)
    if args.step:
        result = STEPS[args.step](args.dir, args)
        result["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return 0
    workdir = args.workdir or Path(tempfile.gettempdir()) / "dated-sources-bot-speed"
    if args.dense is None:
        # Asked in a step of its own: a model loaded here would stay in this process, and
        # every step's peak RSS would start from it (Linux keeps the parent's high-water
        # mark across fork and exec).
        args.dense = bool(_run("dense_available", workdir, [])["available"])
    sizes: dict[str, dict[str, Any]] = {}
    embedded = (
        _run("embed", workdir, ["--embed-sample", str(args.embed_sample)]) if args.dense else None
    )
    for n in args.passages:
        sizes[str(n)] = _measure(n, workdir / f"p{n}", args, embedded)
        print(f"{n} passages done", file=sys.stderr, flush=True)
    _print_table(sizes)
    if embedded is not None:
        speed_dense.print_dense(sizes, embedded)
    print(json.dumps({"machine": _machine(), "embed": embedded, "sizes": sizes}))
    return 0


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--passages", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--engine", default="auto", help="retrieval.engine for the index")
    parser.add_argument(
        "--no-rank-bm25", action="store_true", help="skip the (slow) rank-bm25 reference"
    )
    parser.add_argument(
        "--dense",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="measure the embedding stage too (default: when the semantic extra is installed)",
    )
    parser.add_argument("--embed-sample", type=int, default=512, help="passages to embed")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    return parser


def _measure(
    n: int, folder: Path, args: argparse.Namespace, embedded: dict[str, Any] | None
) -> dict[str, Any]:
    """Every step at one size, each in its own process; the size's row of figures."""
    folder.mkdir(parents=True, exist_ok=True)
    extra = ["--questions", str(args.questions), "--engine", args.engine]
    if args.no_rank_bm25:
        extra.append("--no-rank-bm25")
    generated = _run("generate", folder, [*extra, "--passages", str(n)])
    built = _run("build", folder, extra)
    reindexed = _run("reindex", folder, extra)
    served = _run("serve", folder, extra)
    row: dict[str, Any] = {
        "passages": built["passages"],
        "files": generated["files"],
        "build_s": round(built["seconds"], 2),
        "build_passages_per_s": round(built["passages"] / built["seconds"]),
        "startup_s": round(served["startup_s"], 3),
        "answer_p50_ms": round(served["p50_ms"], 2),
        "answer_p95_ms": round(served["p95_ms"], 2),
        "found_share": round(served["found_share"], 2),
        "engine": served["engine"],
        "segments": served["segments"],
        "sparse_p50_ms": _round(served["engine_p50_ms"]),
        "reindex_one_file_s": round(reindexed["changed_s"], 3),
        "reindex_one_file_warm_s": round(reindexed["warm_s"], 3),
        "touched_file_reindex_s": round(reindexed["touched_s"], 3),
        "build_peak_rss_mb": built["peak_rss_mb"],
        "serve_peak_rss_mb": served["peak_rss_mb"],
        "peak_rss_mb": max(built["peak_rss_mb"], served["peak_rss_mb"]),
        "index_mb": round(built["index_bytes"] / 2**20, 1),
    }
    row |= _peers(folder, extra)
    if embedded is not None:
        _run("vectors", folder, extra)
        row |= speed_dense.row(built["passages"], embedded, _run("serve-hybrid", folder, extra))
    return row


def _peers(folder: Path, extra: list[str]) -> dict[str, Any]:
    """The peers' figures on the index's passages, measured in the same run."""
    _run("export", folder, extra)
    refs = _run("references", folder, extra)
    tantivy_built = _run("tantivy_build", folder, extra)
    tantivy_served = _run("tantivy_serve", folder, extra)
    return {
        "rank_bm25_p50_ms": _round(refs["rank_bm25_p50_ms"]),
        "bm25s_p50_ms": _round(refs["bm25s_p50_ms"]),
        "bm25s_retrieve_p50_ms": _round(refs["bm25s_retrieve_p50_ms"]),
        "fts5_p50_ms": _round(refs["fts5_p50_ms"]),
        "fts5_build_passages_per_s": round(refs["fts5_build_passages_per_s"]),
        "tantivy_build_passages_per_s": round(tantivy_built["passages_per_s"]),
        "tantivy_p50_ms": _round(tantivy_served["top10_p50_ms"]),
        "tantivy_context_p50_ms": _round(tantivy_served["context_p50_ms"]),
        "tantivy_startup_s": round(tantivy_served["startup_s"], 3),
        "tantivy_reindex_one_file_s": round(tantivy_built["reindex_one_file_s"], 3),
        "tantivy_index_mb": round(tantivy_built["index_bytes"] / 2**20, 1),
        "tantivy_serve_peak_rss_mb": tantivy_served["peak_rss_mb"],
    }


def _run(step: str, folder: Path, extra: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--step", step, "--dir", str(folder)]
    proc = subprocess.run([*cmd, *extra], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"step {step} failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _machine() -> dict[str, Any]:
    import tantivy

    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "numpy": np.__version__,
        "tantivy": getattr(tantivy, "__version__", ""),
    }


def step_build(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Index the corpus from scratch."""
    corpus, db = corpus_paths(folder)
    db.unlink(missing_ok=True)
    shutil.rmtree(segment_folder(db), ignore_errors=True)
    report = build_index(corpus, db, IndexSettings(), embedding_model="")
    return {
        "passages": report.passages,
        "seconds": report.seconds,
        "index_bytes": size(db) + size(segment_folder(db)),
    }


def step_reindex(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Change one file and index again, in a new process (as `python -m bot index`); put it
    back and index again in the same process (as the bot's /reindex); then touch another
    file (new modification time, same bytes) and index again."""
    corpus, db = corpus_paths(folder)
    target, touched = corpus / CHANGED, corpus / TOUCHED
    original = target.read_bytes()
    try:
        target.write_bytes(original + b"\nA newly added closing sentence about harbours.\n")
        changed = build_index(corpus, db, IndexSettings(), embedding_model="")
    finally:
        target.write_bytes(original)
    back = build_index(corpus, db, IndexSettings(), embedding_model="")
    for report in (changed, back):
        if report.changed != (CHANGED.as_posix(),) or report.touched:
            raise SystemExit(f"unexpected reindex report: {report}")
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    again = build_index(corpus, db, IndexSettings(), embedding_model="")
    if again.touched != 1 or again.changed or again.added:
        raise SystemExit(f"unexpected reindex report: {again}")
    return {"changed_s": changed.seconds, "warm_s": back.seconds, "touched_s": again.seconds}


def step_serve(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Open the index, answer the first question, then time every question (BM25 only)."""
    _, db = corpus_paths(folder)
    questions = questions_of(folder)
    started = time.perf_counter()
    index = Index.open(db, IndexSettings(), SearchSettings(engine=args.engine, retrieval="bm25"))
    ask(index, questions[0])
    startup = time.perf_counter() - started
    times: list[float] = []
    found = 0
    for q in questions:
        t = time.perf_counter()
        answer = ask(index, q)
        times.append(time.perf_counter() - t)
        found += answer.found
    engine = index._engine
    alone = median_ms(lambda q: engine.top(q, 10, None), query_terms(folder))
    result = {
        "startup_s": startup,
        "engine": engine.name,
        "segments": len(index.segments()),
        "found_share": found / len(questions),
        "engine_p50_ms": alone,
        **percentiles(times),
    }
    index.close()
    return result


STEPS: dict[str, Callable[[Path, argparse.Namespace], dict[str, Any]]] = {
    "dense_available": speed_dense.step_dense_available,
    "embed": speed_dense.step_embed,
    "vectors": speed_dense.step_vectors,
    "serve-hybrid": speed_dense.step_serve_hybrid,
    "generate": step_generate,
    "build": step_build,
    "reindex": step_reindex,
    "serve": step_serve,
    "export": peers.step_export,
    "references": peers.step_references,
    "tantivy_build": peers.step_tantivy_build,
    "tantivy_serve": peers.step_tantivy_serve,
}


def _print_table(sizes: dict[str, dict[str, Any]]) -> None:
    columns = [
        ("passages", "passages"),
        ("build_passages_per_s", "build p/s"),
        ("tantivy_build_passages_per_s", "tant. p/s"),
        ("fts5_build_passages_per_s", "fts5 p/s"),
        ("startup_s", "start s"),
        ("tantivy_startup_s", "tant. st s"),
        ("answer_p50_ms", "ask p50"),
        ("answer_p95_ms", "ask p95"),
        ("sparse_p50_ms", "top10 own"),
        ("tantivy_p50_ms", "top10 tant"),
        ("tantivy_context_p50_ms", "tant. ctx"),
        ("bm25s_p50_ms", "bm25s"),
        ("fts5_p50_ms", "fts5"),
        ("rank_bm25_p50_ms", "rank-bm25"),
        ("reindex_one_file_s", "reindex s"),
        ("reindex_one_file_warm_s", "warm s"),
        ("touched_file_reindex_s", "touched s"),
        ("tantivy_reindex_one_file_s", "tant. re s"),
        ("serve_peak_rss_mb", "serve MB"),
        ("tantivy_serve_peak_rss_mb", "tant. MB"),
        ("index_mb", "index MB"),
        ("tantivy_index_mb", "tant. idx"),
    ]
    print("  ".join(f"{label:>10}" for _, label in columns))
    for row in sizes.values():
        cells = ["-" if row.get(key) is None else str(row[key]) for key, _ in columns]
        print("  ".join(f"{c:>10}" for c in cells))
    print(
        "(latencies in ms, p50 unless marked; top10: bare retrieval of the 10 best; tant. ctx:"
        " tantivy's top 100 plus the ranking stage's term look-ups; bm25s: get_scores + top 10)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
