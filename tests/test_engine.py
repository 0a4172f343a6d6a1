"""Scoring engines: the sparse engine equals rank-bm25's BM25Okapi, and the matrix persists."""

from __future__ import annotations

import json
import os
import sqlite3
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi

from bot import config as configmod
from index import (
    Index,
    IndexIncompatibleError,
    IndexSettings,
    SearchSettings,
    build_index,
)
from index.engine import (
    SPARSE_FROM,
    Bm25Engine,
    MatrixBuilder,
    SparseEngine,
    TermMatrix,
    _by_term_then_row,
    _Entries,
    open_engine,
)
from index.question import QueryTerm
from index.retrieval import Bm25Retriever
from index.store import Store
from tests.conftest import SEEDS, WriteCorpus

VOCAB = ["river", "flood", "valley", "rescue", "harvest", "drought", "wheat", "rice"]
docs_strategy = st.lists(
    st.lists(st.sampled_from(VOCAB), max_size=12),
    min_size=1,
    max_size=25,
)
query_strategy = st.lists(st.sampled_from([*VOCAB, "unknown", "zebra"]), min_size=1, max_size=6)
params_strategy = st.tuples(
    st.sampled_from([0.0, 0.5, 1.2, 1.5, 2.0]),
    st.sampled_from([0.0, 0.3, 0.75, 1.0]),
    st.sampled_from([0.0, 0.25, 1.0]),
)


def top10(scores: np.ndarray) -> list[int]:
    """The ten best rows, ties broken by row."""
    return sorted(range(len(scores)), key=lambda row: (-scores[row], row))[:10]


@settings(max_examples=150, deadline=None)
@given(docs=docs_strategy, query=query_strategy, params=params_strategy)
@example(docs=[["river"], ["rice"]], query=["river"], params=(1.5, 0.75, 0.25))
@example(
    docs=[["river"], ["river", "rice"], []], query=["river", "river"], params=(1.5, 0.75, 0.25)
)
@example(docs=[[], []], query=["river"], params=(1.5, 0.75, 0.25))
def test_both_engines_score_and_rank_as_bm25okapi(
    docs: list[list[str]], query: list[str], params: tuple[float, float, float]
) -> None:
    k1, b, epsilon = params
    matrix = TermMatrix.from_docs(docs)
    engines: list[Bm25Engine | SparseEngine] = [
        Bm25Engine(matrix, k1=k1, b=b, epsilon=epsilon),
        SparseEngine(matrix, k1=k1, b=b, epsilon=epsilon),
    ]
    reference = np.zeros(len(docs))
    if any(docs):
        okapi = BM25Okapi(docs, k1=k1, b=b, epsilon=epsilon)
        # A term's 0/0 (k1 = 0, or b = 1 on an empty passage) adds nothing.
        with np.errstate(invalid="ignore"):
            for term in query:
                reference += np.nan_to_num(okapi.get_scores([term]), nan=0.0)
    best = top10(reference)
    for engine in engines:
        scores = engine.scores(query)
        np.testing.assert_allclose(scores, reference, rtol=1e-9, atol=1e-12)
        # Same order up to exact ties: each rank holds a row with the reference's score.
        np.testing.assert_allclose(reference[top10(scores)], reference[best], rtol=1e-9, atol=1e-12)
        for term in {*query, *VOCAB}:
            rows = [i for i, doc in enumerate(docs) if term in doc]
            assert engine.postings(term).tolist() == rows
            assert engine.df(term) == len(rows)


def test_empty_corpus_scores_nothing() -> None:
    matrix = TermMatrix.from_docs([])
    for kind in ("rank-bm25", "sparse"):
        engine = open_engine(matrix, kind)
        assert engine.size == 0
        assert engine.scores(["river"]).shape == (0,)
        assert engine.df("river") == 0


def test_auto_picks_rank_bm25_for_small_corpora_and_sparse_for_large() -> None:
    small = TermMatrix.from_docs([["river"]] * (SPARSE_FROM - 1))
    large = TermMatrix.from_docs([["river"]] * SPARSE_FROM)
    assert open_engine(small).name == "rank-bm25"
    assert open_engine(large).name == "sparse"
    assert open_engine(large, "rank-bm25").name == "rank-bm25"
    assert open_engine(small, "sparse").name == "sparse"


@settings(max_examples=60, deadline=None)
@given(
    old_docs=docs_strategy,
    new_docs=st.lists(st.lists(st.sampled_from([*VOCAB, "new", "other"]), max_size=8), max_size=5),
    data=st.data(),
)
def test_builder_reusing_old_rows_equals_a_fresh_matrix(
    old_docs: list[list[str]], new_docs: list[list[str]], data: st.DataObject
) -> None:
    old = TermMatrix.from_docs(old_docs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(old_docs)), max_size=4)))
    bounds = [0, *cuts, len(old_docs)]
    ranges = [(lo, hi) for lo, hi in pairwise(bounds) if lo < hi]
    ranges = data.draw(st.permutations(ranges))
    ranges = ranges[: data.draw(st.integers(0, len(ranges)))]
    builder = MatrixBuilder(old)
    expected: list[list[str]] = []
    for i, (lo, hi) in enumerate(ranges):
        assert builder.reuse(lo, hi)
        expected.extend(old_docs[lo:hi])
        if i < len(new_docs):
            builder.add(new_docs[i])
            expected.append(new_docs[i])
    for doc in new_docs[len(ranges) :]:
        builder.add(doc)
        expected.append(doc)
    if ranges:
        assert not builder.reuse(*ranges[0])  # an old row maps to one new row only
    assert_same_matrix(builder.build(), TermMatrix.from_docs(expected))


def test_fallback_sort_matches_the_packed_sort() -> None:
    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(0, 50 * 40, 300))
    terms, rows = (keys // 40).astype(np.int32), (keys % 40).astype(np.int32)
    tf = rng.integers(1, 9, len(keys)).astype(np.uint32)
    shuffle = rng.permutation(len(keys))
    parts = [_Entries(terms[shuffle], rows[shuffle], tf[shuffle])]
    packed = _by_term_then_row(iter(parts), len(keys), 50, 40, 8)
    fallback = _by_term_then_row(iter(parts), len(keys), 50, 2**60, 8)
    for per_term, got_rows, got_tf in (packed, fallback):
        assert per_term[:50].tolist() == np.bincount(terms, minlength=50).tolist()
        assert got_rows.tolist() == rows.tolist()
        assert got_tf.tolist() == tf.tolist()


@settings(max_examples=100, deadline=None)
@given(docs=docs_strategy, query=query_strategy, k=st.integers(1, 30))
def test_bm25_candidates_are_the_head_of_a_full_sort(
    docs: list[list[str]], query: list[str], k: int
) -> None:
    matrix = TermMatrix.from_docs(docs)
    engine = open_engine(matrix, "sparse")
    ids = np.arange(100, 100 + matrix.size, dtype=np.int64)
    terms = [QueryTerm(w, frozenset({w}), engine.df(w), 1.0) for w in dict.fromkeys(query)]
    found = Bm25Retriever(engine, ids).candidates(" ".join(query), terms, k, None)
    scores = engine.scores([t.word for t in terms])
    holding = [r for r, doc in enumerate(docs) if set(doc) & set(query)]
    expected = sorted(holding, key=lambda r: (-scores[r], r))[:k]
    assert found.ids.tolist() == [100 + r for r in expected]
    assert found.scores.tolist() == [scores[r] for r in expected]


def assert_same_matrix(a: TermMatrix, b: TermMatrix) -> None:
    assert a.terms == b.terms
    for name in ("indptr", "rows", "tf", "lengths"):
        assert getattr(a, name).tolist() == getattr(b, name).tolist(), name


def stored_docs(db_path: Path) -> list[list[str]]:
    store = Store(db_path, IndexSettings())
    try:
        return [p.tokens for p in store.passages()]
    finally:
        store.close()


def stored(db_path: Path) -> tuple[list[int], TermMatrix]:
    store = Store(db_path, IndexSettings())
    try:
        table, matrix = store.load()
    finally:
        store.close()
    return table.ids.tolist(), matrix


def test_matrix_persists_with_the_index(tmp_path: Path) -> None:
    db_path = tmp_path / "i.sqlite"
    build_index(SEEDS, db_path, IndexSettings(), embedding_model="")
    ids, matrix = stored(db_path)
    assert_same_matrix(matrix, TermMatrix.from_docs(stored_docs(db_path)))
    indexes = [
        Index.open(db_path, search=SearchSettings(engine=kind)) for kind in ("rank-bm25", "sparse")
    ]
    assert [ix._engine.name for ix in indexes] == ["rank-bm25", "sparse"]
    assert indexes[0].passage_count == len(ids)
    for question in ["What did Peru commit to?", "jaguar", "Venezuela defense brigade", "UN"]:
        results = [ix.search(question, limit=10) for ix in indexes]
        assert [(h.passage_id, h.matched) for h in results[0].hits] == [
            (h.passage_id, h.matched) for h in results[1].hits
        ]
        np.testing.assert_allclose(
            [h.score for h in results[0].hits], [h.score for h in results[1].hits], rtol=1e-9
        )
    for ix in indexes:
        ix.close()


FILES = {
    "a.txt": "The river flooded the valley in spring.\n\nRescue teams arrived by boat.",
    "b.md": "# Harvest\n\nThe harvest failed after the drought.\n\nWheat prices rose.",
    "c.txt": "Farmers planted rice along the river.",
}


def test_reindex_reuses_rows_and_equals_a_fresh_build(
    tmp_path: Path, write_corpus: WriteCorpus
) -> None:
    corpus = write_corpus(FILES)
    db_path = tmp_path / "i.sqlite"
    build_index(corpus, db_path, IndexSettings())
    (corpus / "b.md").write_text(FILES["b.md"] + "\n\nA new paragraph on barley.", "utf-8")
    (corpus / "a.txt").rename(corpus / "z.txt")  # reused by content, now last
    (corpus / "d.txt").write_text("Delta text about the drought.", encoding="utf-8")
    report = build_index(corpus, db_path, IndexSettings())
    assert (report.added, report.changed, report.removed) == (
        ("d.txt", "z.txt"),
        ("b.md",),
        ("a.txt",),
    )
    fresh = tmp_path / "fresh.sqlite"
    build_index(corpus, fresh, IndexSettings())
    assert stored(db_path)[0] == stored(fresh)[0]
    assert_same_matrix(stored(db_path)[1], stored(fresh)[1])
    assert_same_matrix(stored(db_path)[1], TermMatrix.from_docs(stored_docs(fresh)))


def test_older_format_is_refused_then_rebuilt(tmp_path: Path, write_corpus: WriteCorpus) -> None:
    corpus = write_corpus(FILES)
    db_path = tmp_path / "i.sqlite"
    build_index(corpus, db_path, IndexSettings())
    conn = sqlite3.connect(db_path)
    old = json.loads(conn.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()[0])
    old["format"] = 1
    conn.execute(
        "UPDATE meta SET value = ? WHERE key = 'fingerprint'", (json.dumps(old, sort_keys=True),)
    )
    conn.execute("DROP TABLE arrays")
    conn.commit()
    conn.close()
    with pytest.raises(IndexIncompatibleError, match="rebuild"):
        Index.open(db_path)
    report = build_index(corpus, db_path, IndexSettings())
    assert len(report.added) == len(FILES)  # nothing reused from another format
    index = Index.open(db_path)
    assert index.search("drought").found
    index.close()


def test_damaged_arrays_are_refused_then_rebuilt(tmp_path: Path, write_corpus: WriteCorpus) -> None:
    corpus = write_corpus(FILES)
    db_path = tmp_path / "i.sqlite"
    build_index(corpus, db_path, IndexSettings())
    conn = sqlite3.connect(db_path)
    conn.execute("DELETE FROM arrays WHERE name = 'matrix.rows'")
    conn.commit()
    conn.close()
    with pytest.raises(IndexIncompatibleError, match="incomplete or damaged"):
        Index.open(db_path)
    build_index(corpus, db_path, IndexSettings())
    fresh = tmp_path / "fresh.sqlite"
    build_index(corpus, fresh, IndexSettings())
    assert_same_matrix(stored(db_path)[1], stored(fresh)[1])
    index = Index.open(db_path)
    assert index.search("river flooded").found
    index.close()


def test_files_of_killed_builds_are_removed(tmp_path: Path, write_corpus: WriteCorpus) -> None:
    corpus = write_corpus(FILES)
    dead = tmp_path / ".i.sqlite.building-999999999-1"
    live = tmp_path / f".i.sqlite.building-{os.getpid()}-1"
    for path in (dead, dead.with_name(dead.name + "-journal"), live):
        path.write_bytes(b"partial")
    build_index(corpus, tmp_path / "i.sqlite", IndexSettings())
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [live.name]


@pytest.mark.parametrize("value", ["auto", "rank-bm25", "sparse"])
def test_engine_key_is_read_from_the_config(tmp_path: Path, value: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[retrieval]\nengine = "{value}"\n', encoding="utf-8")
    assert configmod.load(cfg, environ={}).search.engine == value


@pytest.mark.parametrize("toml", ['engine = "bm25s"', "engine = 3"])
def test_bad_engine_key_names_the_key(tmp_path: Path, toml: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[retrieval]\n{toml}\n", encoding="utf-8")
    with pytest.raises(configmod.ConfigError, match=r"retrieval\.engine"):
        configmod.load(cfg, environ={})
