"""Building the SQLite store: contents, refreshes, skips and refusals."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from index import (
    CorpusError,
    Index,
    IndexCorruptError,
    IndexIncompatibleError,
    IndexMissingError,
    IndexSettings,
    build_index,
    documents,
)
from index.analyzer import AnalyzerSettings
from index.store import unpack
from tests.conftest import SEEDS, WriteCorpus

ALPHA = "date 2024-02-03 Alpha report. The river flooded the valley.\n\nRescue teams arrived."
BETA = "---\ntitle: Beta notes\n---\nThe harvest failed after the drought."


def test_store_holds_sources_their_text_once_and_settings(
    tmp_path: Path, write_corpus: WriteCorpus
) -> None:
    corpus = write_corpus({"a.txt": ALPHA, "sub/deeper/b.md": BETA})
    db_path = tmp_path / "i.sqlite"
    report = build_index(corpus, db_path, IndexSettings())
    assert (report.sources, report.added) == (2, ("a.txt", "sub/deeper/b.md"))
    db = sqlite_utils.Database(db_path)
    rows = {r["path"]: r for r in db["sources"].rows}
    assert rows["a.txt"]["date"] == "2024-02-03"
    assert rows["sub/deeper/b.md"]["title"] == "Beta notes"
    assert rows["sub/deeper/b.md"]["date"] is None
    assert len(rows["a.txt"]["sha256"]) == 64
    texts = {r["source_id"]: unpack(r["content"]) for r in db["texts"].rows}
    assert texts[rows["a.txt"]["id"]] == ALPHA
    # The text is stored once, whole; passages are offsets into it, and no table holds
    # token strings (passage vectors have their own two tables).
    tables = set(db.table_names()) - {"sqlite_sequence", "embeddings", "embedding_meta"}
    assert tables == {"meta", "skipped", "sources", "texts", "terms", "forms", "segments"}
    index = Index.open(db_path)
    for source in index.sources():
        passages = [index.passage(i) for i in index.source_passages(source.id)]
        assert passages
        for passage in passages:
            assert passage is not None
            assert passage.text in texts[source.id]
            assert "date 2024" not in passage.text
    index.close()
    meta = {r["key"]: r["value"] for r in db["meta"].rows}
    assert '"language": "english"' in meta["fingerprint"]


def test_refresh_reports_added_changed_removed_and_keeps_unchanged(
    tmp_path: Path, write_corpus: WriteCorpus
) -> None:
    corpus = write_corpus({"a.txt": ALPHA, "b.md": BETA, "c.txt": "Gamma text here."})
    db_path = tmp_path / "i.sqlite"
    build_index(corpus, db_path, IndexSettings())
    (corpus / "b.md").write_text(BETA + "\n\nA new paragraph about wheat.", encoding="utf-8")
    (corpus / "c.txt").unlink()
    (corpus / "d.txt").write_text("Delta text here.", encoding="utf-8")
    report = build_index(corpus, db_path, IndexSettings())
    assert report.added == ("d.txt",)
    assert report.changed == ("b.md",)
    assert report.removed == ("c.txt",)
    assert report.unchanged == 1
    index = Index.open(db_path)
    assert [s.path for s in index.sources()] == ["a.txt", "b.md", "d.txt"]
    assert index.search("wheat").found
    assert not index.search("gamma").found
    index.close()


def test_touched_but_identical_file_is_unchanged(tmp_path: Path, write_corpus: WriteCorpus) -> None:
    corpus = write_corpus({"a.txt": ALPHA})
    db_path = tmp_path / "i.sqlite"
    build_index(corpus, db_path, IndexSettings())
    os.utime(corpus / "a.txt", ns=(1, 1))
    report = build_index(corpus, db_path, IndexSettings())
    assert (report.unchanged, report.changed) == (1, ())


def test_bad_files_are_skipped_and_indexing_goes_on(
    tmp_path: Path, write_corpus: WriteCorpus
) -> None:
    corpus = write_corpus(
        {
            "good.txt": ALPHA,
            "latin1.txt": b"caf\xe9",
            "empty.md": "",
            "blob.txt": b"\x00\x01\x02binary",
            "copy.txt": ALPHA,
            "notes.pdf": b"%PDF",
            "notes.odt": b"PK\x03\x04",
        }
    )
    report = build_index(corpus, tmp_path / "i.sqlite", IndexSettings())
    reasons = {s.path: s.reason for s in report.skipped}
    assert report.sources == 1
    assert "UTF-8" in reasons["latin1.txt"]
    assert "empty" in reasons["empty.md"]
    assert "binary" in reasons["blob.txt"]
    assert reasons["good.txt"] == "duplicate of copy.txt"  # paths are read in sorted order
    assert "not a PDF" in reasons["notes.pdf"]
    assert "not a supported file type" in reasons["notes.odt"]
    index = Index.open(tmp_path / "i.sqlite")
    assert ("latin1.txt", reasons["latin1.txt"]) in index.skipped()
    index.close()


def test_symlink_outside_the_corpus_is_not_followed(
    tmp_path: Path, write_corpus: WriteCorpus
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("The password is swordfish.", encoding="utf-8")
    corpus = write_corpus({"a.txt": ALPHA})
    (corpus / "leak.txt").symlink_to(secret)
    report = build_index(corpus, tmp_path / "i.sqlite", IndexSettings())
    assert [s.path for s in report.skipped] == ["leak.txt"]
    assert "outside the corpus" in report.skipped[0].reason


@pytest.mark.parametrize("files", [{}, {"only.txt": ""}, {"x.pdf": b"%PDF"}])
def test_empty_corpus_is_a_clear_error_and_keeps_the_old_index(
    tmp_path: Path, write_corpus: WriteCorpus, files: dict[str, str | bytes]
) -> None:
    db_path = tmp_path / "i.sqlite"
    build_index(SEEDS, db_path, IndexSettings(), embedding_model="")
    before = db_path.read_bytes()
    corpus = write_corpus(files)
    with pytest.raises(CorpusError, match=r"no indexable sources"):
        build_index(corpus, db_path, IndexSettings())
    assert db_path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_missing_corpus_folder_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"does not exist.*corpus.path"):
        build_index(tmp_path / "nope", tmp_path / "i.sqlite", IndexSettings())


def test_foreign_database_is_never_overwritten(tmp_path: Path) -> None:
    db_path = tmp_path / "precious.sqlite"
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE accounts (id INTEGER)")
    conn.commit()
    conn.close()
    before = db_path.read_bytes()
    with pytest.raises(IndexCorruptError, match="not an index of this bot"):
        build_index(SEEDS, db_path, IndexSettings(), embedding_model="")
    with pytest.raises(IndexCorruptError, match="move the file away"):
        Index.open(db_path)
    assert db_path.read_bytes() == before


def test_garbage_file_is_reported_not_overwritten(tmp_path: Path) -> None:
    db_path = tmp_path / "junk.sqlite"
    db_path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(IndexCorruptError):
        build_index(SEEDS, db_path, IndexSettings(), embedding_model="")
    assert db_path.read_bytes() == b"this is not sqlite at all" * 100


def test_missing_and_incompatible_indexes_are_detected(tmp_path: Path) -> None:
    db_path = tmp_path / "i.sqlite"
    with pytest.raises(IndexMissingError, match="python -m bot index"):
        Index.open(db_path)
    build_index(SEEDS, db_path, IndexSettings(), embedding_model="")
    other = IndexSettings(analyzer=AnalyzerSettings(language="french"))
    with pytest.raises(IndexIncompatibleError, match="rebuild"):
        Index.open(db_path, other)
    report = build_index(SEEDS, db_path, other, embedding_model="")
    assert len(report.added) == 2  # nothing reused across analyzer settings
    Index.open(db_path, other).close()


def test_special_and_vanished_files_are_skipped(tmp_path: Path, write_corpus: WriteCorpus) -> None:
    corpus = write_corpus({"a.txt": ALPHA})
    os.mkfifo(corpus / "pipe.txt")
    (corpus / "dangling.md").symlink_to(corpus / "missing.md")
    report = build_index(corpus, tmp_path / "i.sqlite", IndexSettings())
    reasons = {s.path: s.reason for s in report.skipped}
    assert reasons["pipe.txt"] == "not a regular file"
    assert reasons["dangling.md"].startswith("cannot be read")
    assert report.sources == 1


def test_file_deleted_between_scan_and_read_is_reported(write_corpus: WriteCorpus) -> None:
    corpus = write_corpus({"a.txt": ALPHA, "b.txt": BETA})
    entries, _ = documents.scan(corpus)
    (corpus / "b.txt").unlink()
    result = documents.read(entries[1])
    assert isinstance(result, documents.Skipped)
    assert result.reason.startswith("deleted while indexing")


def test_files_over_the_size_cap_are_skipped(tmp_path: Path, write_corpus: WriteCorpus) -> None:
    corpus = write_corpus({"a.txt": ALPHA, "big.txt": "word " * 50_000})
    settings = IndexSettings(max_file_bytes=100_000)
    report = build_index(corpus, tmp_path / "i.sqlite", settings)
    assert [(s.path, s.reason.split(" (")[0]) for s in report.skipped] == [
        ("big.txt", "larger than the 97.7 KB limit")
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file_is_skipped(tmp_path: Path, write_corpus: WriteCorpus) -> None:
    corpus = write_corpus({"a.txt": ALPHA, "locked.txt": BETA})
    (corpus / "locked.txt").chmod(0)
    report = build_index(corpus, tmp_path / "i.sqlite", IndexSettings())
    assert [s.path for s in report.skipped] == ["locked.txt"]
    assert "Permission denied" in report.skipped[0].reason
