"""bench/speed.py's embedding steps: the build's embedding rate on real passages, stand-in
vectors for the synthetic corpus, and hybrid serving."""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import paths
from synthetic import corpus_paths, questions_of, vocabulary
from timing import percentiles

from bot.answer import ask
from index import Index, IndexSettings, SearchSettings, load_embedder
from index.store import Store


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
    words = vocabulary(rng)
    while len(texts) < n:
        texts.append(" ".join(rng.choice(words) for _ in range(180)))
    return texts


def step_vectors(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Random unit vectors for every live passage, stored as the build stores real ones."""
    from index.vectors import STORED, SqliteVectors, content_key

    embedder, _ = load_embedder(SearchSettings().embedding_model)
    assert embedder is not None
    _, db = corpus_paths(folder)
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
    _, db = corpus_paths(folder)
    questions = questions_of(folder)
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
    dense_p = percentiles(dense_times)
    return {
        "startup_s": startup,
        "dense_p50_ms": dense_p["p50_ms"],
        "dense_p95_ms": dense_p["p95_ms"],
        **percentiles(times),
    }


def row(passages: int, embedded: dict[str, Any], hybrid: dict[str, Any]) -> dict[str, Any]:
    """The embedding figures of one size's row."""
    return {
        "embed_passages_per_s": round(embedded["passages_per_s"], 1),
        "embed_all_estimate_s": round(passages / embedded["passages_per_s"]),
        "dense_p50_ms": round(hybrid["dense_p50_ms"], 2),
        "dense_p95_ms": round(hybrid["dense_p95_ms"], 2),
        "hybrid_p50_ms": round(hybrid["p50_ms"], 2),
        "hybrid_p95_ms": round(hybrid["p95_ms"], 2),
        "hybrid_startup_s": round(hybrid["startup_s"], 3),
        "hybrid_peak_rss_mb": hybrid["peak_rss_mb"],
    }


def print_dense(sizes: dict[str, dict[str, Any]], embedded: dict[str, Any]) -> None:
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
