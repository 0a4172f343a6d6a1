"""Scoring engines and segments: the sparse engine equals the rank-bm25 reference, finds the
same k best as a full sort, and segments merge and persist without changing a score."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot import config as configmod
from index import Index, QueryTerm, SearchSettings, segment_files
from index import segments as segmentsmod
from index.bm25_reference import Bm25Engine, LuceneBM25Okapi
from index.columns import MemoryTerms, Part
from index.engine import SPARSE_FROM, SparseEngine, open_engine
from index.plan import MAX_MERGE_ROWS, MAX_SEGMENTS, merge_plan
from index.retrieval import Bm25Retriever
from index.segments import BLOCK_ROWS, Segment, SegmentBuilder

# BM25 as the index is configured by default.
K1, B = SearchSettings().k1, SearchSettings().b

VOCAB = ["river", "flood", "valley", "rescue", "harvest", "drought", "wheat", "rice"]
docs_strategy = st.lists(st.lists(st.sampled_from(VOCAB), max_size=12), min_size=1, max_size=25)
query_strategy = st.lists(st.sampled_from([*VOCAB, "unknown", "zebra"]), min_size=1, max_size=6)
params_strategy = st.tuples(
    st.sampled_from([0.0, 0.5, 1.2, 1.5, 2.0]), st.sampled_from([0.0, 0.3, 0.75, 1.0])
)


def segment_of(docs: list[list[str]], vocabulary: MemoryTerms, first_id: int = 1) -> Segment:
    """A segment with one source of one passage per token list."""
    builder = SegmentBuilder()
    for i, doc in enumerate(docs):
        terms, tf = np.unique(vocabulary.add(doc), return_counts=True)
        builder.add_source(
            source_id=first_id + i,
            day=0,
            first_id=first_id + i,
            spans=np.array([[0, 1]], dtype=np.int64),
            counts=np.array([len(terms)], dtype=np.int64),
            terms=terms,
            tf=tf,
            title=np.zeros(0, dtype=np.int64),
        )
    return builder.build()


def parts_of(
    docs: list[list[str]], cuts: list[int], deleted: set[int]
) -> tuple[list[Part], MemoryTerms]:
    """The docs as segments split at cuts, with the given rows deleted."""
    vocabulary = MemoryTerms()
    bounds = [0, *sorted(c for c in set(cuts) if 0 < c < len(docs)), len(docs)]
    parts = []
    for lo, hi in pairwise(bounds):
        segment = segment_of(docs[lo:hi], vocabulary, first_id=lo + 1)
        gone = np.array(sorted(r - lo for r in deleted if lo <= r < hi), dtype=np.int64)
        parts.append(Part(segment, gone))
    return parts, vocabulary


def reference_scores(docs: list[list[str]], query: list[str], k1: float, b: float) -> np.ndarray:
    """rank-bm25's scores (Lucene's idf) for the docs, 0 for a doc given as None."""
    live = [d for d in docs if d is not None]
    out = np.zeros(len(live))
    if any(live):
        okapi = LuceneBM25Okapi(live, k1=k1, b=b)
        # A term's 0/0 (k1 = 0, or b = 1 on an empty passage) adds nothing.
        with np.errstate(invalid="ignore"):
            for term in query:
                out += np.nan_to_num(okapi.get_scores([term]), nan=0.0)
    return out


@settings(max_examples=150, deadline=None)
@given(
    docs=docs_strategy,
    query=query_strategy,
    params=params_strategy,
    cuts=st.lists(st.integers(0, 25), max_size=3),
    deleted=st.sets(st.integers(0, 24), max_size=8),
)
@example(docs=[["river"], ["rice"]], query=["river"], params=(1.5, 0.75), cuts=[], deleted=set())
@example(
    docs=[["river"], ["river", "rice"], []],
    query=["river", "river"],
    params=(1.2, 0.75),
    cuts=[1],
    deleted={0},
)
@example(docs=[[], []], query=["river"], params=(1.2, 0.75), cuts=[], deleted=set())
def test_both_engines_score_as_the_reference(
    docs: list[list[str]],
    query: list[str],
    params: tuple[float, float],
    cuts: list[int],
    deleted: set[int],
) -> None:
    k1, b = params
    deleted = {r for r in deleted if r < len(docs)}
    parts, vocabulary = parts_of(docs, cuts, deleted)
    live = [r for r in range(len(docs)) if r not in deleted]
    reference = np.zeros(len(docs))
    reference[live] = reference_scores([docs[r] for r in live], query, k1, b)
    for engine in (Bm25Engine(parts, vocabulary, k1, b), SparseEngine(parts, vocabulary, k1, b)):
        assert engine.size == len(live)
        np.testing.assert_allclose(engine.scores(query), reference, rtol=1e-9, atol=1e-12)
        rows = np.arange(len(docs))
        for term in {*query, *VOCAB}:
            holding = [r for r in live if term in docs[r]]
            assert engine.df([term]) == len(holding)
            assert rows[engine.holds([term], rows) & engine.live].tolist() == holding
        either = [r for r in live if {"river", "rice"} & set(docs[r])]
        assert engine.df(["river", "rice"]) == len(either)


@settings(max_examples=150, deadline=None)
@given(
    docs=docs_strategy,
    query=query_strategy,
    k=st.integers(1, 30),
    cuts=st.lists(st.integers(0, 25), max_size=3),
    deleted=st.sets(st.integers(0, 24), max_size=8),
    allowed=st.sets(st.integers(0, 24)),
)
def test_top_is_the_head_of_a_full_sort(
    docs: list[list[str]],
    query: list[str],
    k: int,
    cuts: list[int],
    deleted: set[int],
    allowed: set[int],
) -> None:
    parts, vocabulary = parts_of(docs, cuts, deleted)
    mask = np.isin(np.arange(len(docs)), sorted(allowed))
    for engine in (Bm25Engine(parts, vocabulary, K1, B), SparseEngine(parts, vocabulary, K1, B)):
        scores = engine.scores(query)
        for where in (None, mask):
            rows, got = engine.top(query, k, where)
            holding = [
                r
                for r, doc in enumerate(docs)
                if set(doc) & set(query) and r not in deleted and (where is None or r in allowed)
            ]
            expected = sorted(holding, key=lambda r: (-scores[r], r))[:k]
            assert rows.tolist() == expected
            assert got.tolist() == scores[expected].tolist()


def test_top_skips_common_terms_where_no_rare_one_matched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(7)
    words = [f"w{i}" for i in range(300)]
    weights = 1.0 / np.arange(1, 301) ** 1.1
    weights /= weights.sum()
    docs = [list(rng.choice(words, size=int(rng.integers(5, 40)), p=weights)) for _ in range(3000)]
    parts, vocabulary = parts_of(docs, [1000, 2000], set(range(0, 3000, 7)))
    engine = SparseEngine(parts, vocabulary, K1, B)
    skipped: list[str] = []
    real_on = SparseEngine._on

    def counting_on(self: SparseEngine, planned: object, rows: np.ndarray) -> np.ndarray:
        skipped.append(planned.term.term)  # type: ignore[attr-defined]
        return real_on(self, planned, rows)  # type: ignore[arg-type]

    monkeypatch.setattr(SparseEngine, "_on", counting_on)
    for seed in range(60):
        picked = np.random.default_rng(seed).choice(words, size=4, p=weights).tolist()
        query = [*picked, words[200 + seed]]  # one rare word, and common ones
        rows, scores = engine.top(query, 10, None)
        full = engine.scores(query)
        holding = np.flatnonzero(engine.holds(query, np.arange(3000)) & engine.live)
        expected = sorted(holding.tolist(), key=lambda r: (-full[r], r))[:10]
        assert rows.tolist() == expected
        assert scores.tolist() == full[expected].tolist()
    assert skipped  # common terms were scored only where the rare ones matched


def test_empty_index_scores_nothing() -> None:
    for kind in ("rank-bm25", "sparse"):
        engine = open_engine([], MemoryTerms(), kind, K1, B)
        assert engine.size == 0
        assert engine.scores(["river"]).shape == (0,)
        assert engine.df(["river"]) == 0
        rows, _ = engine.top(["river"], 5, None)
        assert rows.tolist() == []


def test_auto_picks_rank_bm25_for_small_corpora_and_sparse_for_large() -> None:
    vocabulary = MemoryTerms()
    small = [Part(segment_of([["river"]] * (SPARSE_FROM - 1), vocabulary), np.zeros(0, np.int64))]
    large = [Part(segment_of([["river"]] * SPARSE_FROM, vocabulary), np.zeros(0, np.int64))]
    assert open_engine(small, vocabulary, "auto", K1, B).name == "rank-bm25"
    assert open_engine(large, vocabulary, "auto", K1, B).name == "sparse"
    assert open_engine(large, vocabulary, "rank-bm25", K1, B).name == "rank-bm25"
    assert open_engine(small, vocabulary, "sparse", K1, B).name == "sparse"


def assert_same_segment(a: Segment, b: Segment) -> None:
    for name in ("ids", "source_ids", "ordinals", "starts", "ends", "lengths", "days"):
        assert getattr(a.table, name).tolist() == getattr(b.table, name).tolist(), name
    for field in ("body", "title"):
        for name in ("terms", "bounds", "rows", "tf", "max_tf", "min_length"):
            got, want = getattr(getattr(a, field), name), getattr(getattr(b, field), name)
            assert np.asarray(got).tolist() == np.asarray(want).tolist(), (field, name)


@settings(max_examples=80, deadline=None)
@given(
    docs=docs_strategy,
    cuts=st.lists(st.integers(0, 25), max_size=3),
    deleted=st.sets(st.integers(0, 24), max_size=10),
)
def test_merged_segments_equal_one_built_from_the_live_rows(
    docs: list[list[str]], cuts: list[int], deleted: set[int]
) -> None:
    parts, vocabulary = parts_of(docs, cuts, deleted)
    merged = segmentsmod.merge([(p.segment, p.deleted) for p in parts])
    builder = SegmentBuilder()
    for r, doc in enumerate(docs):
        if r in deleted:
            continue
        terms, tf = np.unique(vocabulary.add(doc), return_counts=True)
        builder.add_source(
            r + 1,
            0,
            r + 1,
            np.array([[0, 1]], dtype=np.int64),
            np.array([len(terms)], dtype=np.int64),
            terms,
            tf,
            np.zeros(0, np.int64),
        )
    assert_same_segment(merged, builder.build())


def test_segment_files_round_trip_and_damage_is_detected(tmp_path: Path) -> None:
    vocabulary = MemoryTerms()
    segment = segment_of([["river", "flood", "river"], [], ["rice"]], vocabulary)
    path = tmp_path / "one.seg"
    segment_files.write(segment, path)
    assert_same_segment(segment_files.read(path), segment)
    data = path.read_bytes()
    (tmp_path / "short.seg").write_bytes(data[: len(data) - 40])
    with pytest.raises(ValueError, match="truncated"):
        segment_files.read(tmp_path / "short.seg")
    (tmp_path / "foreign.seg").write_bytes(b"PK" + data[2:])
    with pytest.raises(ValueError, match="not a segment file"):
        segment_files.read(tmp_path / "foreign.seg")


@settings(max_examples=200, deadline=None)
@given(
    live=st.lists(st.integers(0, 2 * MAX_MERGE_ROWS), max_size=40),
    data=st.data(),
)
def test_merge_plan_covers_every_segment_in_order(live: list[int], data: st.DataObject) -> None:
    deleted = [data.draw(st.integers(0, n + 1)) for n in live]
    runs = merge_plan(live, deleted)
    assert [i for run in runs for i in run] == list(range(len(live)))
    sizes = [sum(live[i] for i in run) for run in runs]
    assert sum(1 for s in sizes if s) <= MAX_SEGMENTS


def test_merge_plan_keeps_few_segments_under_one_file_reindexes() -> None:
    live = [MAX_MERGE_ROWS, MAX_MERGE_ROWS // 2]
    rewritten = 0
    for _ in range(2000):
        live.append(10)
        runs = merge_plan(live, [0] * len(live))
        rewritten += sum(sum(live[i] for i in run) for run in runs if len(run) > 1)
        live = [sum(live[i] for i in run) for run in runs]
        assert len(live) <= 14
        assert live[0] == MAX_MERGE_ROWS  # a full segment is never rewritten for a merge
    # Each new row was rewritten a few times, not once per later reindex.
    assert rewritten < 2000 * 10 * 16


@settings(max_examples=100, deadline=None)
@given(
    docs=docs_strategy,
    query=query_strategy,
    k=st.integers(1, 30),
    deleted=st.sets(st.integers(0, 24), max_size=8),
)
def test_bm25_candidates_are_the_head_of_a_full_sort(
    docs: list[list[str]], query: list[str], k: int, deleted: set[int]
) -> None:
    parts, vocabulary = parts_of(docs, [len(docs) // 2], deleted)
    engine = SparseEngine(parts, vocabulary, K1, B)
    ids = np.arange(100, 100 + len(docs), dtype=np.int64)
    terms = [QueryTerm(w, frozenset({w}), engine.df([w]), 1.0) for w in dict.fromkeys(query)]
    retriever = Bm25Retriever(engine, ids)
    found = retriever.candidates(" ".join(query), terms, k, None)
    scores = engine.scores([t.word for t in terms])
    holding = [r for r, doc in enumerate(docs) if set(doc) & set(query) and r not in deleted]
    expected = sorted(holding, key=lambda r: (-scores[r], r))[:k]
    assert found.ids.tolist() == [100 + r for r in expected]
    assert found.scores.tolist() == [scores[r] for r in expected]
    # Scores of given rows (the hybrid retriever's pool) are the same sums, to the bit.
    live = np.flatnonzero(engine.live)
    assert retriever.scores_at(terms, live).tolist() == scores[live].tolist()


def test_both_engines_give_the_same_answers(seed_db: Path) -> None:
    indexes = [
        Index.open(seed_db, search=SearchSettings(engine=kind)) for kind in ("rank-bm25", "sparse")
    ]
    assert [ix.engine for ix in indexes] == ["rank-bm25", "sparse"]
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


def test_segments_of_more_than_one_block_of_rows(tmp_path: Path) -> None:
    vocabulary = MemoryTerms()
    n = BLOCK_ROWS + 1500
    docs = [["river", "rice"] if i % 5 == 0 else ["river"] if i % 3 == 0 else [] for i in range(n)]
    docs[BLOCK_ROWS - 1], docs[BLOCK_ROWS] = ["wheat"], ["wheat", "wheat"]
    segment = segment_of(docs, vocabulary)
    assert segment.body.blocks == 2
    path = tmp_path / "big.seg"
    segment_files.write(segment, path)
    stored = segment_files.read(path)
    for term in ("river", "rice", "wheat"):
        at = stored.body.find(vocabulary.id(term))  # type: ignore[arg-type]
        assert at is not None
        rows, tf = stored.body.column(at)
        assert rows.tolist() == [i for i, d in enumerate(docs) if term in d]
        assert tf.tolist() == [d.count(term) for d in docs if term in d]
    deleted = np.arange(0, n, 7, dtype=np.int64)
    engine = SparseEngine([Part(stored, deleted)], vocabulary, K1, B)
    live = [i for i in range(n) if i % 7]
    assert engine.df(["wheat"]) == 2
    assert engine.df(["river"]) == sum(1 for i in live if "river" in docs[i])
    rows, _ = engine.top(["wheat", "rice"], 3, None)
    assert rows.tolist()[:2] == [BLOCK_ROWS, BLOCK_ROWS - 1]
    merged = segmentsmod.merge([(stored, deleted)])
    assert merged.size == len(live)
    at = merged.body.find(vocabulary.id("wheat"))  # type: ignore[arg-type]
    assert at is not None
    assert merged.body.column(at)[0].tolist() == [
        live.index(BLOCK_ROWS - 1),
        live.index(BLOCK_ROWS),
    ]
