"""bench/speed.py's peers, on the very passages the index holds: tantivy, SQLite FTS5, bm25s
and rank-bm25, given the index's own terms of each passage (no peer re-analyzes anything)."""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from synthetic import corpus_paths, query_terms
from timing import median_ms, size

from index import IndexSettings
from index.store import Store

RANK_BM25_QUERIES = 20
REFERENCE_MAX_RANK_BM25 = 300_000
# Candidates the ranking stage asks of a retriever.
CANDIDATES = 100


def step_export(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Write each live passage's index terms, source, ordinal and text for the peers."""
    _, db = corpus_paths(folder)
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
    queries = query_terms(folder)
    out: dict[str, Any] = {"rank_bm25_p50_ms": None}

    def top10(scores: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        k = min(10, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        return best[np.argsort(-scores[best])]

    if not args.no_rank_bm25 and len(docs) <= REFERENCE_MAX_RANK_BM25:
        okapi = BM25Okapi(docs)
        out["rank_bm25_p50_ms"] = median_ms(
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

    out["fts5_p50_ms"] = median_ms(fts, queries)
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
        "bm25s_p50_ms": median_ms(lambda q: top10(retriever.get_scores(q)), known),
        "bm25s_retrieve_p50_ms": median_ms(
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
    index_bytes = size(path)
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
        "index_bytes": index_bytes,
        "reindex_one_file_s": reindex,
    }


def step_tantivy_serve(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Open the tantivy index, then time top 10, and the top 100 with what ranking asks."""
    import tantivy

    queries = query_terms(folder)
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
        "top10_p50_ms": median_ms(lambda q: top(q, 10), queries),
        "context_p50_ms": median_ms(context, queries),
    }
