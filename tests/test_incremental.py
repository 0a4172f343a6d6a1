"""Refreshing an index in place: only what changed is read, passage ids stay, an open index
keeps its snapshot, and the result is the index a fresh build makes."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from index import Index, IndexIncompatibleError, IndexSettings, Reason, build_index
from index import reading as readingmod
from index.store import Store, segment_folder
from tests.conftest import WriteCorpus

FILES = {
    "a.txt": "The river flooded the valley in spring.\n\nRescue teams arrived by boat.",
    "b.md": "# Harvest\n\nThe harvest failed after the drought.\n\nWheat prices rose.",
    "c.txt": "Farmers planted rice along the river.",
}


def live_passages(db_path: Path) -> set[tuple[str, int, int, int, tuple[str, ...]]]:
    """Each live passage: its source's path, ordinal, offsets and terms (with repeats)."""
    store = Store(db_path, IndexSettings())
    try:
        paths = {s.id: s.path for s in store.sources()}
        out = set()
        for part in store.parts:
            segment = part.segment
            body = segment.body
            names = store.vocabulary.names(body.terms.tolist())
            terms: list[list[str]] = [[] for _ in range(segment.size)]
            term_ids, rows = body.entries()
            for term, row, tf in zip(
                term_ids.tolist(), rows.tolist(), np.asarray(body.tf).tolist(), strict=True
            ):
                terms[row].extend([names[term]] * tf)
            table = segment.table
            for row in sorted(set(range(segment.size)) - set(part.deleted.tolist())):
                out.add(
                    (
                        paths[int(table.source_ids[row])],
                        int(table.ordinals[row]),
                        int(table.starts[row]),
                        int(table.ends[row]),
                        tuple(sorted(terms[row])),
                    )
                )
        return out
    finally:
        store.close()


def passage_ids(db_path: Path) -> dict[tuple[str, int], int]:
    """(path, ordinal) -> passage id, for the live passages."""
    index = Index.open(db_path)
    try:
        return {
            (source.path, ordinal): passage_id
            for source in index.sources()
            for ordinal, passage_id in enumerate(index.source_passages(source.id))
        }
    finally:
        index.close()


def segment_files(db_path: Path) -> set[str]:
    return {p.name for p in segment_folder(db_path).iterdir()}


def test_reindex_equals_a_fresh_build(tmp_path: Path, write_corpus: WriteCorpus) -> None:
    corpus = write_corpus(FILES)
    db_path = tmp_path / "i.sqlite"
    build_index(corpus, db_path, IndexSettings())
    (corpus / "b.md").write_text(FILES["b.md"] + "\n\nA new paragraph on barley.", "utf-8")
    (corpus / "a.txt").rename(corpus / "z.txt")  # moved: the same passages, now last
    (corpus / "d.txt").write_text("Delta text about the drought.", encoding="utf-8")
    report = build_index(corpus, db_path, IndexSettings())
    assert (report.added, report.changed, report.removed) == (
        ("d.txt", "z.txt"),
        ("b.md",),
        ("a.txt",),
    )
    fresh = tmp_path / "fresh.sqlite"
    build_index(corpus, fresh, IndexSettings())
    assert live_passages(db_path) == live_passages(fresh)
    indexes = [Index.open(db_path), Index.open(fresh)]
    for question in ("drought", "river flooded the valley", "barley harvest", "rice"):
        hits = [ix.search(question, limit=10).hits for ix in indexes]
        assert [(h.source.path, h.ordinal, h.score) for h in hits[0]] == [
            (h.source.path, h.ordinal, h.score) for h in hits[1]
        ]
    for ix in indexes:
        ix.close()


def test_unchanged_and_moved_sources_keep_their_passage_ids(
    tmp_path: Path, write_corpus: WriteCorpus
) -> None:
    corpus = write_corpus(FILES)
    db_path = tmp_path / "i.sqlite"
    build_index(corpus, db_path, IndexSettings())
    before = passage_ids(db_path)
    (corpus / "b.md").write_text(FILES["b.md"] + "\n\nBarley too.", "utf-8")
    (corpus / "c.txt").rename(corpus / "sub-c.txt")
    build_index(corpus, db_path, IndexSettings())
    after = passage_ids(db_path)
    assert len(before) == len(after) == 3
    assert after[("a.txt", 0)] == before[("a.txt", 0)]
    assert after[("sub-c.txt", 0)] == before[("c.txt", 0)]
    # Changed passages get new ids: an id never names two texts.
    assert after[("b.md", 0)] not in before.values()


def test_touched_file_is_hashed_not_analyzed(tmp_path: Path, write_corpus: WriteCorpus) -> None:
    corpus = write_corpus(FILES)
    db_path = tmp_path / "i.sqlite"
    build_index(corpus, db_path, IndexSettings())
    files, ids = segment_files(db_path), passage_ids(db_path)
    os.utime(corpus / "a.txt", ns=(1, 1))
    report = build_index(corpus, db_path, IndexSettings())
    assert (report.touched, report.unchanged, report.changed, report.added) == (1, 3, (), ())
    assert segment_files(db_path) == files  # nothing was written but the new file times
    assert passage_ids(db_path) == ids
    again = build_index(corpus, db_path, IndexSettings())
    assert (again.touched, again.unchanged) == (0, 3)  # the new time was stored


def test_open_index_keeps_its_snapshot_while_a_reindex_commits(
    tmp_path: Path, write_corpus: WriteCorpus
) -> None:
    corpus = write_corpus(FILES)
    db_path = tmp_path / "i.sqlite"
    build_index(corpus, db_path, IndexSettings())
    old = Index.open(db_path)
    [hit] = old.search("rice", limit=5).hits
    (corpus / "c.txt").write_text("Farmers planted millet along the road.", "utf-8")
    (corpus / "a.txt").unlink()
    for _ in range(3):  # merges and removes segment files the old snapshot still maps
        build_index(corpus, db_path, IndexSettings())
        (corpus / "b.md").write_text((corpus / "b.md").read_text("utf-8") + "\n\nMore.", "utf-8")
    new = Index.open(db_path)
    try:
        assert [s.path for s in old.sources()] == ["a.txt", "b.md", "c.txt"]
        assert old.passage(hit.passage_id) is not None
        assert old.passage(hit.passage_id).text == FILES["c.txt"]  # type: ignore[union-attr]
        assert old.search("river flooded", limit=5).found
        assert [s.path for s in new.sources()] == ["b.md", "c.txt"]
        assert new.passage(hit.passage_id) is None
        assert not new.search("rice", limit=5).found
        assert new.search("millet", limit=5).found
    finally:
        old.close()
        new.close()


def test_files_of_killed_builds_are_removed(tmp_path: Path, write_corpus: WriteCorpus) -> None:
    corpus = write_corpus(FILES)
    db_path = tmp_path / "i.sqlite"
    dead = tmp_path / ".i.sqlite.building-999999999-1"
    live = tmp_path / f".i.sqlite.building-{os.getppid()}-1"
    for path in (dead, dead.with_name(dead.name + "-journal"), live):
        path.write_bytes(b"partial")
    build_index(corpus, db_path, IndexSettings())
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [live.name]
    folder = segment_folder(db_path)
    orphan = folder / "999999999-0123456789abcdef.seg"
    running = folder / f"{os.getppid()}-0123456789abcdef.seg"  # a build still writing
    orphan.write_bytes(b"partial")
    running.write_bytes(b"partial")
    build_index(corpus, db_path, IndexSettings())
    assert not orphan.exists()
    assert running.exists()


def test_parallel_build_equals_one_process(
    tmp_path: Path, write_corpus: WriteCorpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {
        f"f{i}.txt": f"Report {i} on {word} and the river.\n\nIt rained {i} days in {word}."
        for i, word in enumerate(["Lima", "Quito", "Bogotá", "Caracas", "Santiago"] * 40)
    }
    corpus = write_corpus(files)
    build_index(corpus, tmp_path / "one.sqlite", IndexSettings())
    monkeypatch.setattr(readingmod, "PARALLEL_FROM_BYTES", 0)
    monkeypatch.setattr(readingmod, "BATCH_BYTES", 2000)
    build_index(corpus, tmp_path / "many.sqlite", IndexSettings())
    assert live_passages(tmp_path / "many.sqlite") == live_passages(tmp_path / "one.sqlite")


def test_small_segments_are_merged_and_deleted_rows_dropped(
    tmp_path: Path, write_corpus: WriteCorpus
) -> None:
    corpus = write_corpus(FILES)
    db_path = tmp_path / "i.sqlite"
    build_index(corpus, db_path, IndexSettings())
    for i in range(12):
        (corpus / "b.md").write_text(FILES["b.md"] + f"\n\nUpdate {i}.", "utf-8")
        build_index(corpus, db_path, IndexSettings())
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT rows, length(deleted) / 8 FROM segments").fetchall()
    assert len(rows) <= 3
    assert all(2 * deleted <= total - deleted for total, deleted in rows)
    assert len(segment_files(db_path)) == len(rows)  # replaced files are gone
    fresh = tmp_path / "fresh.sqlite"
    build_index(corpus, fresh, IndexSettings())
    assert live_passages(db_path) == live_passages(fresh)


def test_older_format_is_refused_then_rebuilt(tmp_path: Path, write_corpus: WriteCorpus) -> None:
    corpus = write_corpus(FILES)
    db_path = tmp_path / "i.sqlite"
    build_index(corpus, db_path, IndexSettings())
    conn = sqlite3.connect(db_path)
    old = json.loads(conn.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()[0])
    old["format"] = 3
    conn.execute(
        "UPDATE meta SET value = ? WHERE key = 'fingerprint'", (json.dumps(old, sort_keys=True),)
    )
    conn.execute("DROP TABLE segments")
    conn.execute("CREATE TABLE arrays (name TEXT)")  # as format 3 had
    conn.commit()
    conn.close()
    with pytest.raises(IndexIncompatibleError, match="rebuild"):
        Index.open(db_path)
    report = build_index(corpus, db_path, IndexSettings())
    assert len(report.added) == len(FILES)  # nothing reused from another format
    index = Index.open(db_path)
    assert index.search("drought").found
    index.close()


def test_damaged_segment_is_refused_then_rebuilt(tmp_path: Path, write_corpus: WriteCorpus) -> None:
    corpus = write_corpus(FILES)
    db_path = tmp_path / "i.sqlite"
    build_index(corpus, db_path, IndexSettings())
    [segment] = segment_folder(db_path).iterdir()
    segment.write_bytes(segment.read_bytes()[:-100])
    with pytest.raises(IndexIncompatibleError, match="incomplete or damaged"):
        Index.open(db_path)
    report = build_index(corpus, db_path, IndexSettings())
    assert len(report.added) == len(FILES)
    fresh = tmp_path / "fresh.sqlite"
    build_index(corpus, fresh, IndexSettings())
    assert live_passages(db_path) == live_passages(fresh)
    assert not segment.exists()


def test_missing_segment_is_refused(tmp_path: Path, write_corpus: WriteCorpus) -> None:
    corpus = write_corpus(FILES)
    db_path = tmp_path / "i.sqlite"
    build_index(corpus, db_path, IndexSettings())
    for path in segment_folder(db_path).iterdir():
        path.unlink()
    with pytest.raises(IndexIncompatibleError, match="lacks segment files"):
        Index.open(db_path)


def test_terms_of_a_changed_file_keep_their_ids(tmp_path: Path, write_corpus: WriteCorpus) -> None:
    corpus = write_corpus(FILES)
    db_path = tmp_path / "i.sqlite"
    build_index(corpus, db_path, IndexSettings())
    with sqlite3.connect(db_path) as conn:
        before = dict(conn.execute("SELECT term, id FROM terms"))
    (corpus / "c.txt").write_text("Farmers planted rice and millet along the river.", "utf-8")
    build_index(corpus, db_path, IndexSettings())
    with sqlite3.connect(db_path) as conn:
        after = dict(conn.execute("SELECT term, id FROM terms"))
    assert {t: after[t] for t in before} == before
    assert set(after) - set(before) == {"millet"}
    assert len(set(after.values())) == len(after)
    assert np.all(np.diff(sorted(after.values())) == 1)


def test_index_answers_from_its_word_forms_without_the_lemmatizer(
    tmp_path: Path, write_corpus: WriteCorpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = write_corpus(FILES)
    db_path = tmp_path / "i.sqlite"
    build_index(corpus, db_path, IndexSettings())

    def unavailable(*args: object, **kwargs: object) -> str:
        raise AssertionError("the lemmatizer was asked")

    monkeypatch.setattr("index.analyzer.simplemma.lemmatize", unavailable)
    index = Index.open(db_path)  # country names and adjectives are stored forms too
    try:
        result = index.search("Which teams arrived when the river flooded?")
        assert result.found
        assert result.hits[0].source.path == "a.txt"
        # A country no source names is decisive: read from the stored forms too.
        result = index.search("Which teams arrived when the river flooded in Peru?")
        assert (result.found, result.reason, result.missing) == (
            False,
            Reason.MISSING_NAME,
            ("Peru",),
        )
    finally:
        index.close()
