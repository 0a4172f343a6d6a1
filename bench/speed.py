"""Speed of the index at scale: build, start-up, answer latency, memory, reindex, references.

For each size, a deterministic synthetic corpus is written as files (Zipf-distributed
pseudo-words mixed with English stop words, sentences of 6-20 words, paragraphs of 40-150
words, 5-15 paragraphs per file), with a fixed set of questions drawn from its paragraphs
(and a tenth with a word no file contains). Then, each step in its own process so memory
figures do not mix:

- build: ``index.build_index`` from scratch (passages per second, peak RSS);
- serve: ``Index.open`` plus the first answer (start-up), then ``bot.answer.ask`` latency
  for every question (p50, p95), and the serving process's peak RSS;
- references, on the very tokens the index stored: the index's own sparse engine alone
  (``SparseEngine.scores`` + top 10, no answer composing), naive rank-bm25
  (``BM25Okapi.get_scores`` + top 10), bm25s (``get_scores`` + top 10, its closest
  method "robertson"; and its ``retrieve``), SQLite FTS5 (``ORDER BY bm25() LIMIT 10`` over
  the terms joined by OR);
- reindex: one file changed, ``index.build_index`` again (only that file is re-analyzed).

The build and reindex steps run BM25 only (``embedding_model=""``), as before. With
``--dense`` (the default when the semantic extra is installed), three more steps measure the
embedding stage with the bundled model:

- embed: ``Embedder.passages`` on ``--embed-sample`` real passages (SciFact abstracts with
  their titles, from ``$BENCH_DATA`` or ``bench/data``; synthetic ones without it): passages
  per second, wall and per CPU second;
- vectors: writes one random unit vector per passage of the built index into its vector
  store, under the bundled model's id: a stand-in for embedding the synthetic corpus (whose
  pseudo-words mean nothing to a model), which the embed rate says how long would take;
- serve-hybrid: ``Index.open`` in hybrid mode, then per question the question embedding +
  brute-force vector search alone (``DenseRetriever.candidates``, top 100) and the whole
  ``bot.answer.ask``, and the serving process's peak RSS.

Needs the ``bench`` extra for bm25s (``pip install -e ".[bench]"``). Usage, from the
repository root:

    .venv/bin/python bench/speed.py --passages 1000 10000 100000
    .venv/bin/python bench/speed.py --passages 1000000 --workdir /tmp/speed --no-rank-bm25

Prints a table and, last, one JSON line. Corpora are kept under ``--workdir`` (default:
a folder in the system temp dir) and reused when present.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import resource
import sqlite3
import statistics
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

import paths  # noqa: E402

from bot.answer import ask  # noqa: E402
from index import Index, IndexSettings, SearchSettings, build_index, load_embedder  # noqa: E402
from index.analyzer import Analyzer  # noqa: E402
from index.engine import SparseEngine  # noqa: E402
from index.store import Store  # noqa: E402

CONTENT_WORDS = 100_000
STOP_SHARE = 0.4
STOPWORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at "
    "which but have an they you were their one all we can her has there been if more when"
).split()
SYLLABLES = (
    "ka ri to me sa lu ne po da vi ro te mi la su ko re na pi do ga li mo ve ta be ru no se"
).split()
MISSING_WORD = "qwzxv"
RANK_BM25_QUERIES = 20
REFERENCE_MAX_RANK_BM25 = 300_000


def main(argv: Sequence[str] | None = None) -> int:
    """Run every step for every size and print the table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    args = parser.parse_args(argv)
    if args.step:
        result = STEPS[args.step](args.dir, args)
        result["peak_rss_mb"] = _peak_rss_mb()
        print(json.dumps(result))
        return 0
    workdir = args.workdir or Path(tempfile.gettempdir()) / "dated-sources-bot-speed"
    if args.dense is None:
        args.dense = load_embedder(SearchSettings().embedding_model)[0] is not None
    sizes: dict[str, dict[str, Any]] = {}
    embedded = (
        _run("embed", workdir, ["--embed-sample", str(args.embed_sample)]) if args.dense else None
    )
    for n in args.passages:
        folder = workdir / f"p{n}"
        folder.mkdir(parents=True, exist_ok=True)
        row: dict[str, Any] = {}
        extra = ["--questions", str(args.questions), "--engine", args.engine]
        if args.no_rank_bm25:
            extra.append("--no-rank-bm25")
        generated = _run("generate", folder, [*extra, "--passages", str(n)])
        built = _run("build", folder, extra)
        served = _run("serve", folder, extra)
        refs = _run("references", folder, extra)
        reindexed = _run("reindex", folder, extra)
        row.update(
            passages=built["passages"],
            files=generated["files"],
            build_s=round(built["seconds"], 2),
            build_passages_per_s=round(built["passages"] / built["seconds"]),
            startup_s=round(served["startup_s"], 3),
            answer_p50_ms=round(served["p50_ms"], 2),
            answer_p95_ms=round(served["p95_ms"], 2),
            found_share=round(served["found_share"], 2),
            engine=served["engine"],
            sparse_p50_ms=_round(refs["sparse_p50_ms"]),
            rank_bm25_p50_ms=_round(refs["rank_bm25_p50_ms"]),
            bm25s_p50_ms=_round(refs["bm25s_p50_ms"]),
            bm25s_retrieve_p50_ms=_round(refs["bm25s_retrieve_p50_ms"]),
            fts5_p50_ms=_round(refs["fts5_p50_ms"]),
            reindex_one_file_s=round(reindexed["seconds"], 2),
            build_peak_rss_mb=built["peak_rss_mb"],
            serve_peak_rss_mb=served["peak_rss_mb"],
            peak_rss_mb=max(built["peak_rss_mb"], served["peak_rss_mb"]),
            index_mb=round(built["index_bytes"] / 2**20, 1),
        )
        if embedded is not None:
            _run("vectors", folder, extra)
            hybrid = _run("serve-hybrid", folder, extra)
            row.update(
                embed_passages_per_s=round(embedded["passages_per_s"], 1),
                embed_all_estimate_s=round(built["passages"] / embedded["passages_per_s"]),
                dense_p50_ms=round(hybrid["dense_p50_ms"], 2),
                dense_p95_ms=round(hybrid["dense_p95_ms"], 2),
                hybrid_p50_ms=round(hybrid["p50_ms"], 2),
                hybrid_p95_ms=round(hybrid["p95_ms"], 2),
                hybrid_startup_s=round(hybrid["startup_s"], 3),
                hybrid_peak_rss_mb=hybrid["peak_rss_mb"],
            )
        sizes[str(n)] = row
        print(f"{n} passages done", file=sys.stderr, flush=True)
    _print_table(sizes)
    if embedded is not None:
        _print_dense(sizes, embedded)
    print(json.dumps({"machine": _machine(), "embed": embedded, "sizes": sizes}))
    return 0


def _run(step: str, folder: Path, extra: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--step", step, "--dir", str(folder)]
    proc = subprocess.run([*cmd, *extra], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"step {step} failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _peak_rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _machine() -> dict[str, Any]:
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
    }


# --- corpus -------------------------------------------------------------------------------


def _vocabulary(rng: random.Random) -> list[str]:
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < CONTENT_WORDS:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def step_generate(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Write the corpus and the questions unless they exist."""
    done = folder / "generated.json"
    if done.exists():
        result: dict[str, Any] = json.loads(done.read_text(encoding="utf-8"))
        return result
    target = int(args.passages[0])
    rng = random.Random(target)
    nprng = np.random.default_rng(target)
    vocab = np.array(_vocabulary(rng), dtype=object)
    # Zipf-Mandelbrot frequencies, as in natural text.
    ranks = np.arange(1, CONTENT_WORDS + 1)
    cdf = np.cumsum(1.0 / (ranks + 2.7) ** 1.07)
    cdf /= cdf[-1]
    stop = np.array(STOPWORDS, dtype=object)
    corpus = folder / "corpus"
    corpus.mkdir(exist_ok=True)
    written = files = 0
    while written < target:
        paragraphs: list[str] = []
        for _ in range(min(rng.randint(5, 15), target - written)):
            count = rng.randint(40, 150)
            words = vocab[np.searchsorted(cdf, nprng.random(count))]
            stops = nprng.random(count) < STOP_SHARE
            words[stops] = stop[nprng.integers(0, len(stop), int(stops.sum()))]
            sentences: list[str] = []
            pos = 0
            while pos < count:
                size = min(rng.randint(6, 20), count - pos)
                piece = " ".join(words[pos : pos + size].tolist())
                sentences.append(piece[:1].upper() + piece[1:] + ".")
                pos += size
            paragraphs.append(" ".join(sentences))
        day = 1 + files % 28
        title = " ".join(vocab[np.searchsorted(cdf, nprng.random(4))].tolist()).title()
        body = f"date: 2024-{1 + files % 12:02d}-{day:02d}\n# {title}\n\n" + "\n\n".join(paragraphs)
        path = corpus / f"{files // 1000:04d}" / f"doc{files:07d}.md"
        path.parent.mkdir(exist_ok=True)
        path.write_text(body + "\n", encoding="utf-8")
        written += len(paragraphs)
        files += 1
    questions = _questions(corpus, files, args.questions, rng)
    (folder / "questions.json").write_text(json.dumps(questions), encoding="utf-8")
    result = {"files": files}
    done.write_text(json.dumps(result), encoding="utf-8")
    return result


def _questions(corpus: Path, files: int, n: int, rng: random.Random) -> list[str]:
    stop = set(STOPWORDS)
    questions: list[str] = []
    for i in range(n):
        k = rng.randrange(files)
        text = (corpus / f"{k // 1000:04d}" / f"doc{k:07d}.md").read_text(encoding="utf-8")
        paragraph = rng.choice(text.split("\n\n")[1:])
        words = [w.strip(".").lower() for w in paragraph.split()]
        content = [w for w in words if w not in stop]
        picked = rng.sample(content, min(len(content), rng.randint(1, 6)))
        if i % 10 == 9:
            picked.append(MISSING_WORD)
        questions.append("what about " + " ".join(picked) + "?")
    return questions


# --- steps --------------------------------------------------------------------------------


def _paths(folder: Path) -> tuple[Path, Path]:
    return folder / "corpus", folder / "index.sqlite"


def _questions_of(folder: Path) -> list[str]:
    questions: list[str] = json.loads((folder / "questions.json").read_text(encoding="utf-8"))
    return questions


def step_build(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Index the corpus from scratch."""
    corpus, db = _paths(folder)
    db.unlink(missing_ok=True)
    report = build_index(corpus, db, IndexSettings(), embedding_model="")
    return {
        "passages": report.passages,
        "seconds": report.seconds,
        "index_bytes": db.stat().st_size,
    }


def step_serve(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Open the index, answer the first question, then time every question (BM25 only)."""
    _, db = _paths(folder)
    questions = _questions_of(folder)
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
    engine = index._engine.name
    index.close()
    return {
        "startup_s": startup,
        "engine": engine,
        "found_share": found / len(questions),
        **_percentiles(times),
    }


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "p50_ms": statistics.median(ms),
        "p95_ms": ms[min(len(ms) - 1, math.ceil(0.95 * len(ms)) - 1)],
    }


def _median_ms(fn: Callable[[list[str]], object], queries: list[list[str]]) -> float:
    fn(queries[0])
    times: list[float] = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def step_references(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Time other retrievers over the tokens the index stored."""
    import bm25s
    from rank_bm25 import BM25Okapi

    _, db = _paths(folder)
    store = Store(db, IndexSettings())
    docs = [p.tokens for p in store.passages()]
    _, matrix = store.load()
    store.close()
    analyzer = Analyzer()
    queries = [analyzer.terms(q) for q in _questions_of(folder)]
    queries = [q for q in queries if q]
    out: dict[str, Any] = {"rank_bm25_p50_ms": None}

    def top10(scores: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        k = min(10, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        return best[np.argsort(-scores[best])]

    sparse = SparseEngine(matrix)
    out["sparse_p50_ms"] = _median_ms(lambda q: top10(sparse.scores(q)), queries)

    if not args.no_rank_bm25 and len(docs) <= REFERENCE_MAX_RANK_BM25:
        okapi = BM25Okapi(docs)
        out["rank_bm25_p50_ms"] = _median_ms(
            lambda q: top10(okapi.get_scores(q)), queries[:RANK_BM25_QUERIES]
        )

    retriever = bm25s.BM25(method="robertson", k1=1.5, b=0.75)
    retriever.index(docs, show_progress=False)
    vocab = retriever.vocab_dict
    known = [[t for t in q if t in vocab] or [next(iter(vocab))] for q in queries]
    out["bm25s_p50_ms"] = _median_ms(lambda q: top10(retriever.get_scores(q)), known)
    out["bm25s_retrieve_p50_ms"] = _median_ms(
        lambda q: retriever.retrieve([q], k=10, show_progress=False, n_threads=0), known
    )

    conn = sqlite3.connect(":memory:")
    # Stems are already folded; an apostrophe is part of a term, as in the analyzer.
    conn.execute(
        "CREATE VIRTUAL TABLE fts USING fts5"
        "(tokens, tokenize = \"unicode61 remove_diacritics 0 tokenchars ''''\")"
    )
    conn.executemany(
        "INSERT INTO fts (rowid, tokens) VALUES (?, ?)",
        ((i, " ".join(d)) for i, d in enumerate(docs)),
    )
    conn.commit()

    def fts(q: list[str]) -> object:
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in dict.fromkeys(q))
        return conn.execute(
            "SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY bm25(fts) LIMIT 10", (match,)
        ).fetchall()

    out["fts5_p50_ms"] = _median_ms(fts, queries)
    conn.close()
    return out


def step_reindex(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Change one file, index again, then put the file back."""
    corpus, db = _paths(folder)
    target = corpus / "0000" / "doc0000000.md"
    original = target.read_bytes()
    try:
        target.write_bytes(original + b"\nA newly added closing sentence about harbours.\n")
        report = build_index(corpus, db, IndexSettings(), embedding_model="")
    finally:
        target.write_bytes(original)
    if report.changed != (str(target.relative_to(corpus)),):
        raise SystemExit(f"unexpected reindex report: {report}")
    return {"seconds": report.seconds, "unchanged": report.unchanged}


def step_embed(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Embed real passages with the bundled model: the build's embedding rate."""
    embedder, why = load_embedder(SearchSettings().embedding_model)
    if embedder is None:
        raise SystemExit(f"no embedding model: {why}")
    texts = _real_passages(args.embed_sample)
    embedder.passages(texts[:32])  # warm-up: the first run allocates
    wall, cpu = time.perf_counter(), time.process_time()
    embedder.passages(texts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    tokens = [len(e.ids) for e in embedder._tokenizer.encode_batch(texts)]
    return {
        "model": embedder.model_id,
        "passages": len(texts),
        "passages_per_s": len(texts) / wall,
        "passages_per_cpu_s": len(texts) / cpu,
        "mean_tokens": statistics.fmean(tokens),
        "threads": os.cpu_count(),
    }


def _real_passages(n: int) -> list[str]:
    """Title and text of the first n SciFact abstracts, or synthetic ones without the data."""
    from index.vectors import embedding_text

    source = paths.data_folder() / "scifact" / "corpus.jsonl"
    texts: list[str] = []
    if source.exists():
        with source.open(encoding="utf-8") as fh:
            for line in fh:
                doc = json.loads(line)
                texts.append(embedding_text(doc["title"], doc["text"][:1200]))
                if len(texts) == n:
                    return texts
    rng = random.Random(7)
    words = _vocabulary(rng)
    while len(texts) < n:
        texts.append(" ".join(rng.choice(words) for _ in range(180)))
    return texts


def step_vectors(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Random unit vectors for every passage, stored as the build stores real ones."""
    from index.vectors import STORED, SqliteVectors, content_key

    embedder, _ = load_embedder(SearchSettings().embedding_model)
    assert embedder is not None
    _, db = _paths(folder)
    rng = np.random.default_rng(11)
    with sqlite3.connect(db) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM passages ORDER BY id")]
        store = SqliteVectors(conn)
        store.write(embedder.model_id, [])
        for lo in range(0, len(ids), 10_000):
            part = ids[lo : lo + 10_000]
            vectors = rng.standard_normal((len(part), embedder.dimensions)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            store.write(
                embedder.model_id,
                (
                    (i, content_key(embedder.model_id, str(i)), v.astype(STORED).tobytes())
                    for i, v in zip(part, vectors, strict=True)
                ),
            )
    return {"passages": len(ids)}


def step_serve_hybrid(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Open in hybrid mode; time question embedding + vector search, and whole answers."""
    _, db = _paths(folder)
    questions = _questions_of(folder)
    started = time.perf_counter()
    index = Index.open(db, IndexSettings(), SearchSettings(engine=args.engine))
    if index.retrieval != "hybrid":
        raise SystemExit(f"not hybrid: {index.retrieval_note}")
    ask(index, questions[0])
    startup = time.perf_counter() - started
    dense = index._retriever._dense  # type: ignore[attr-defined]
    dense_times: list[float] = []
    times: list[float] = []
    for q in questions:
        t = time.perf_counter()
        dense.candidates(q, [], 100, None)
        dense_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        ask(index, q)
        times.append(time.perf_counter() - t)
    index.close()
    dense_p = _percentiles(dense_times)
    return {
        "startup_s": startup,
        "dense_p50_ms": dense_p["p50_ms"],
        "dense_p95_ms": dense_p["p95_ms"],
        **_percentiles(times),
    }


def _print_dense(sizes: dict[str, dict[str, Any]], embedded: dict[str, Any]) -> None:
    print(
        f"embedding: {embedded['passages_per_s']:.1f} passages/s"
        f" ({embedded['passages_per_cpu_s']:.1f} per CPU second, {embedded['threads']} threads,"
        f" {embedded['mean_tokens']:.0f} tokens on average, {embedded['model']})"
    )
    columns = [
        ("passages", "passages"),
        ("embed_all_estimate_s", "embed all s"),
        ("dense_p50_ms", "q+vec p50"),
        ("dense_p95_ms", "q+vec p95"),
        ("hybrid_p50_ms", "ask p50"),
        ("hybrid_p95_ms", "ask p95"),
        ("hybrid_startup_s", "start s"),
        ("hybrid_peak_rss_mb", "RSS MB"),
    ]
    print("  ".join(f"{label:>11}" for _, label in columns))
    for row in sizes.values():
        print("  ".join(f"{row.get(key, '-')!s:>11}" for key, _ in columns))


STEPS: dict[str, Callable[[Path, argparse.Namespace], dict[str, Any]]] = {
    "embed": step_embed,
    "vectors": step_vectors,
    "serve-hybrid": step_serve_hybrid,
    "generate": step_generate,
    "build": step_build,
    "serve": step_serve,
    "references": step_references,
    "reindex": step_reindex,
}


def _print_table(sizes: dict[str, dict[str, Any]]) -> None:
    columns = [
        ("passages", "passages"),
        ("build_passages_per_s", "build p/s"),
        ("startup_s", "start s"),
        ("answer_p50_ms", "ask p50"),
        ("answer_p95_ms", "ask p95"),
        ("sparse_p50_ms", "sparse"),
        ("rank_bm25_p50_ms", "rank-bm25"),
        ("bm25s_p50_ms", "bm25s"),
        ("bm25s_retrieve_p50_ms", "bm25s ret"),
        ("fts5_p50_ms", "fts5"),
        ("reindex_one_file_s", "reindex s"),
        ("build_s", "build s"),
        ("peak_rss_mb", "RSS MB"),
        ("engine", "engine"),
    ]
    print("  ".join(f"{label:>10}" for _, label in columns))
    for row in sizes.values():
        cells = ["-" if row.get(key) is None else str(row[key]) for key, _ in columns]
        print("  ".join(f"{c:>10}" for c in cells))
    print(
        "(latencies in ms, p50 unless marked; references: bare top-10 retrieval;"
        " bm25s: get_scores + top 10, bm25s ret: its retrieve())"
    )


if __name__ == "__main__":
    raise SystemExit(main())
