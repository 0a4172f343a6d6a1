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
import math
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
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
from index.store import Store, segment_folder  # noqa: E402

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
# The changed and the touched file of the reindex step.
CHANGED = Path("0000") / "doc0000000.md"
TOUCHED = Path("0000") / "doc0000001.md"
CANDIDATES = 100


def main(argv: Sequence[str] | None = None) -> int:
    """Run every step for every size and print the table and the JSON line."""
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
    args = parser.parse_args(argv)
    if args.step:
        result = STEPS[args.step](args.dir, args)
        result["peak_rss_mb"] = _peak_rss_mb()
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
        folder = workdir / f"p{n}"
        folder.mkdir(parents=True, exist_ok=True)
        extra = ["--questions", str(args.questions), "--engine", args.engine]
        if args.no_rank_bm25:
            extra.append("--no-rank-bm25")
        generated = _run("generate", folder, [*extra, "--passages", str(n)])
        built = _run("build", folder, extra)
        reindexed = _run("reindex", folder, extra)
        served = _run("serve", folder, extra)
        _run("export", folder, extra)
        refs = _run("references", folder, extra)
        tantivy_built = _run("tantivy_build", folder, extra)
        tantivy_served = _run("tantivy_serve", folder, extra)
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
            "reindex_one_file_s": round(reindexed["changed_s"], 3),
            "reindex_one_file_warm_s": round(reindexed["warm_s"], 3),
            "touched_file_reindex_s": round(reindexed["touched_s"], 3),
            "build_peak_rss_mb": built["peak_rss_mb"],
            "serve_peak_rss_mb": served["peak_rss_mb"],
            "peak_rss_mb": max(built["peak_rss_mb"], served["peak_rss_mb"]),
            "index_mb": round(built["index_bytes"] / 2**20, 1),
        }
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


# --- the index ------------------------------------------------------------------------------


def _paths(folder: Path) -> tuple[Path, Path]:
    return folder / "corpus", folder / "index.sqlite"


def _questions_of(folder: Path) -> list[str]:
    questions: list[str] = json.loads((folder / "questions.json").read_text(encoding="utf-8"))
    return questions


def _query_terms(folder: Path) -> list[list[str]]:
    """Each question's index terms, as the index's analyzer makes them."""
    analyzer = Analyzer()
    queries = [list(dict.fromkeys(analyzer.terms(q))) for q in _questions_of(folder)]
    return [q for q in queries if q]


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def step_build(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Index the corpus from scratch."""
    corpus, db = _paths(folder)
    db.unlink(missing_ok=True)
    shutil.rmtree(segment_folder(db), ignore_errors=True)
    report = build_index(corpus, db, IndexSettings(), embedding_model="")
    return {
        "passages": report.passages,
        "seconds": report.seconds,
        "index_bytes": _size(db) + _size(segment_folder(db)),
    }


def step_reindex(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Change one file and index again, in a new process (as `python -m bot index`); put it
    back and index again in the same process (as the bot's /reindex); then touch another
    file (new modification time, same bytes) and index again."""
    corpus, db = _paths(folder)
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
    engine = index._engine
    alone = _median_ms(lambda q: engine.top(q, 10, None), _query_terms(folder))
    result = {
        "startup_s": startup,
        "engine": engine.name,
        "segments": len(index._store.parts),
        "found_share": found / len(questions),
        "engine_p50_ms": alone,
        **_percentiles(times),
    }
    index.close()
    return result


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


# --- peers ----------------------------------------------------------------------------------


def step_export(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Write each live passage's index terms, source, ordinal and text for the peers."""
    _, db = _paths(folder)
    store = Store(db, IndexSettings())
    names = _all_names(store)
    with (
        open(folder / "peers.terms", "w", encoding="utf-8") as terms_out,
        open(folder / "peers.text", "w", encoding="utf-8") as text_out,
    ):
        count = 0
        for part in store.parts:
            segment = part.segment
            live = np.ones(segment.size, dtype=bool)
            live[part.deleted] = False
            body = segment.body
            term_of, local = body.entries()
            order = np.argsort(local, kind="stable")
            rows = local[order]
            words = names[np.repeat(term_of[order], np.asarray(body.tf)[order])]
            ends = np.cumsum(
                np.bincount(rows, weights=np.asarray(body.tf)[order], minlength=segment.size)
            ).astype(np.int64)
            starts = np.concatenate(([0], ends[:-1]))
            table = segment.table
            content: dict[int, str] = {}
            for row in np.flatnonzero(live).tolist():
                source = int(table.source_ids[row])
                if source not in content:
                    content = {source: store.content(source)}
                terms_out.write(" ".join(words[starts[row] : ends[row]].tolist()) + "\n")
                text = content[source][int(table.starts[row]) : int(table.ends[row])]
                record = [source, int(table.ordinals[row]), text]
                text_out.write(json.dumps(record) + "\n")
                count += 1
    store.close()
    return {"passages": count}


def _all_names(store: Store) -> np.ndarray[Any, Any]:
    """Every term of the index by id."""
    with store._cursor() as cur:
        rows = cur.execute("SELECT id, term FROM terms").fetchall()
    names = np.empty(max((i for i, _ in rows), default=-1) + 1, dtype=object)
    for i, term in rows:
        names[i] = term
    return names


def _peer_terms(folder: Path) -> Iterator[str]:
    with open(folder / "peers.terms", encoding="utf-8") as fh:
        for line in fh:
            yield line.rstrip("\n")


def _peer_texts(folder: Path) -> Iterator[tuple[int, int, str]]:
    with open(folder / "peers.text", encoding="utf-8") as fh:
        for line in fh:
            source, ordinal, text = json.loads(line)
            yield int(source), int(ordinal), str(text)


def step_references(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Time rank-bm25, bm25s and SQLite FTS5 over the index's terms of each passage."""
    from rank_bm25 import BM25Okapi

    docs = [line.split() for line in _peer_terms(folder)]
    queries = _query_terms(folder)
    out: dict[str, Any] = {"rank_bm25_p50_ms": None}

    def top10(scores: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        k = min(10, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        return best[np.argsort(-scores[best])]

    if not args.no_rank_bm25 and len(docs) <= REFERENCE_MAX_RANK_BM25:
        okapi = BM25Okapi(docs)
        out["rank_bm25_p50_ms"] = _median_ms(
            lambda q: top10(okapi.get_scores(q)), queries[:RANK_BM25_QUERIES]
        )
        del okapi

    out.update(_bm25s(docs, queries, top10))
    del docs

    conn = sqlite3.connect(":memory:")
    # Terms are already folded; an apostrophe is part of a term, as in the analyzer.
    conn.execute(
        "CREATE VIRTUAL TABLE fts USING fts5"
        "(tokens, tokenize = \"unicode61 remove_diacritics 0 tokenchars ''''\")"
    )
    started = time.perf_counter()
    conn.executemany(
        "INSERT INTO fts (rowid, tokens) VALUES (?, ?)", enumerate(_peer_terms(folder))
    )
    conn.commit()
    (count,) = conn.execute("SELECT COUNT(*) FROM fts").fetchone()
    out["fts5_build_passages_per_s"] = count / (time.perf_counter() - started)

    def fts(q: list[str]) -> object:
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in q)
        return conn.execute(
            "SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY bm25(fts) LIMIT 10", (match,)
        ).fetchall()

    out["fts5_p50_ms"] = _median_ms(fts, queries)
    conn.close()
    return out


def _bm25s(
    docs: list[list[str]],
    queries: list[list[str]],
    top10: Callable[[np.ndarray[Any, Any]], np.ndarray[Any, Any]],
) -> dict[str, float]:
    import bm25s

    retriever = bm25s.BM25(method="robertson", k1=1.2, b=0.75)
    retriever.index(docs, show_progress=False)
    vocab = retriever.vocab_dict
    known = [[t for t in q if t in vocab] or [next(iter(vocab))] for q in queries]
    return {
        "bm25s_p50_ms": _median_ms(lambda q: top10(retriever.get_scores(q)), known),
        "bm25s_retrieve_p50_ms": _median_ms(
            lambda q: retriever.retrieve([q], k=10, show_progress=False, n_threads=0), known
        ),
    }


def _tantivy_index(path: Path) -> Any:
    import tantivy

    schema = tantivy.SchemaBuilder()
    schema.add_integer_field("id", indexed=True, fast=True)
    schema.add_integer_field("source", indexed=True, fast=True)
    schema.add_integer_field("ordinal", fast=True)
    schema.add_text_field("body", tokenizer_name="ws", index_option="freq")
    schema.add_bytes_field("text", stored=True)
    index = tantivy.Index(schema.build(), path=str(path))
    whitespace = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
    index.register_tokenizer("ws", whitespace)
    return index


def _tantivy_doc(i: int, source: int, ordinal: int, terms: str, text: str) -> Any:
    import tantivy

    doc = tantivy.Document(id=i, source=source, ordinal=ordinal)
    doc.add_text("body", terms)
    doc.add_bytes("text", text.encode("utf-8"))
    return doc


def step_tantivy_build(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Index the passages' terms (and store their text) with tantivy; then reindex the
    passages of one source."""
    path = folder / "tantivy"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    index = _tantivy_index(path)
    rows = list(zip(_peer_terms(folder), _peer_texts(folder), strict=True))
    started = time.perf_counter()
    writer = index.writer(heap_size=256_000_000)
    for i, (terms, (source, ordinal, text)) in enumerate(rows):
        writer.add_document(_tantivy_doc(i, source, ordinal, terms, text))
    writer.commit()
    writer.wait_merging_threads()
    seconds = time.perf_counter() - started
    size = _size(path)
    # A one-file reindex: the source's passages deleted and added again, committed.
    source = rows[0][1][0]
    mine = [(i, r) for i, r in enumerate(rows) if r[1][0] == source]
    started = time.perf_counter()
    writer = index.writer(heap_size=64_000_000)
    writer.delete_documents_by_term("source", source)
    for i, (terms, (_, ordinal, text)) in mine:
        writer.add_document(_tantivy_doc(i, source, ordinal, terms, text))
    writer.commit()
    writer.wait_merging_threads()
    reindex = time.perf_counter() - started
    return {
        "passages_per_s": len(rows) / seconds,
        "index_bytes": size,
        "reindex_one_file_s": reindex,
    }


def step_tantivy_serve(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Open the tantivy index, then time top 10, and the top 100 with what ranking asks."""
    import tantivy

    queries = _query_terms(folder)
    started = time.perf_counter()
    index = _tantivy_index(folder / "tantivy")
    index.reload()
    schema = index.schema

    def top(q: list[str], k: int) -> tuple[Any, list[Any]]:
        searcher = index.searcher()
        clauses = [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", t)) for t in q]
        hits = searcher.search(tantivy.Query.boolean_query(clauses), limit=k, count=False).hits
        return searcher, [address for _, address in hits]

    top(queries[0], 10)
    startup = time.perf_counter() - started

    def context(q: list[str]) -> object:
        # The ranking stage asks, for each question term, which of the candidates and of
        # their source's lead and previous passages hold it.
        searcher, hits = top(q, CANDIDATES)
        ids = searcher.fast_field_values("id", hits)
        ordinals = searcher.fast_field_values("ordinal", hits)
        rows = sorted(
            {*ids, *(i - o for i, o in zip(ids, ordinals, strict=True)), *(i - 1 for i in ids)}
        )
        among = tantivy.Query.term_set_query(schema, "id", rows)
        held = []
        for t in q:
            query = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Must, tantivy.Query.term_query(schema, "body", t)),
                    (tantivy.Occur.Must, among),
                ]
            )
            found = searcher.search(query, limit=len(rows), count=False).hits
            held.append(searcher.fast_field_values("id", [a for _, a in found]))
        return held

    return {
        "startup_s": startup,
        "top10_p50_ms": _median_ms(lambda q: top(q, 10), queries),
        "context_p50_ms": _median_ms(context, queries),
    }


def step_dense_available(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Whether the bundled embedding model can run here."""
    embedder, why = load_embedder(SearchSettings().embedding_model)
    return {"available": embedder is not None, "why": why}


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
    """Random unit vectors for every live passage, stored as the build stores real ones."""
    from index.vectors import STORED, SqliteVectors, content_key

    embedder, _ = load_embedder(SearchSettings().embedding_model)
    assert embedder is not None
    _, db = _paths(folder)
    store = Store(db, IndexSettings())
    ids: list[int] = []
    for part in store.parts:
        live = np.ones(part.segment.size, dtype=bool)
        live[part.deleted] = False
        ids.extend(part.segment.table.ids[live].tolist())
    store.close()
    rng = np.random.default_rng(11)
    with closing(sqlite3.connect(db)) as conn, conn:
        vectors = SqliteVectors(conn)
        vectors.remove(vectors.ids().tolist())
        vectors.write(embedder.model_id, [])
        for lo in range(0, len(ids), 10_000):
            part_ids = ids[lo : lo + 10_000]
            matrix = rng.standard_normal((len(part_ids), embedder.dimensions)).astype(np.float32)
            matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
            vectors.write(
                embedder.model_id,
                (
                    (i, content_key(embedder.model_id, str(i)), v.astype(STORED).tobytes())
                    for i, v in zip(part_ids, matrix, strict=True)
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
    "dense_available": step_dense_available,
    "embed": step_embed,
    "vectors": step_vectors,
    "serve-hybrid": step_serve_hybrid,
    "generate": step_generate,
    "build": step_build,
    "reindex": step_reindex,
    "serve": step_serve,
    "export": step_export,
    "references": step_references,
    "tantivy_build": step_tantivy_build,
    "tantivy_serve": step_tantivy_serve,
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
