"""Reindexes that must not swap: too many sources gone, the corpus gone, the disk full.

Each time the old index keeps answering, the CLI says why in one line (exit 2), the bot
says why in the status message, which always ends in done or failed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from index import (
    CorpusError,
    Index,
    IndexSettings,
    IndexWriteError,
    SwapRefusedError,
    build_index,
    segment_files,
)
from index import documents as documents_module
from tests.conftest import WriteCorpus
from tests.reindex_cases import filling_connect, notes, write_notes


def source_count(db: Path) -> int:
    index = Index.open(db)
    try:
        return len(index.sources())
    finally:
        index.close()


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- the index


def test_a_rebuild_that_drops_most_sources_is_refused(
    tmp_path: Path, write_corpus: WriteCorpus
) -> None:
    corpus = write_corpus(notes(10))
    db = tmp_path / "i.sqlite"
    build_index(corpus, db, IndexSettings(), embedding_model="", max_drop=0.5)
    for i in range(5):
        (corpus / f"notes/n{i}.txt").unlink()
    assert (
        build_index(corpus, db, IndexSettings(), embedding_model="", max_drop=0.5).sources == 5
    )  # half: allowed
    for i in range(5, 8):
        (corpus / f"notes/n{i}.txt").unlink()
    with pytest.raises(SwapRefusedError) as refused:
        build_index(corpus, db, IndexSettings(), embedding_model="", max_drop=0.5)
    assert str(refused.value).startswith(
        "the new index would hold 2 source(s) instead of 5 (60% fewer, more than the 50% "
        "allowed); the previous index is kept."
    )
    assert (refused.value.previous, refused.value.built) == (5, 2)
    assert source_count(db) == 5
    assert (
        build_index(corpus, db, IndexSettings(), embedding_model="", max_drop=None).sources == 2
    )  # forced
    assert [p.name for p in tmp_path.iterdir() if ".building-" in p.name] == []


def test_a_corpus_that_vanishes_during_the_build_is_never_swapped_in(
    tmp_path: Path, write_corpus: WriteCorpus
) -> None:
    corpus = write_corpus(notes(20))
    db = tmp_path / "i.sqlite"
    build_index(corpus, db, IndexSettings(), embedding_model="")
    write_notes(corpus, 20, start=100)  # changed sources must be read again
    for path in corpus.glob("notes/n?.txt"):
        path.write_text(path.read_text() + " Updated.", encoding="utf-8")

    def rename_away(done: int, total: int) -> None:
        if done == 10 and corpus.exists():
            corpus.rename(tmp_path / "moved")

    with pytest.raises(CorpusError, match="vanished or was replaced during the build"):
        build_index(
            corpus, db, IndexSettings(), rename_away, embedding_model="", max_drop=None
        )  # even forced
    assert source_count(db) == 20


def test_a_full_disk_is_one_named_error_and_the_old_index_stays(
    tmp_path: Path, write_corpus: WriteCorpus, disk_fills_up: None
) -> None:
    corpus = write_corpus(notes(3))
    db = tmp_path / "i.sqlite"
    with contextlib.suppress(IndexWriteError):
        build_index(corpus, db, IndexSettings(), embedding_model="")  # small enough to fit
    assert source_count(db) == 3
    write_notes(corpus, 200, start=3)
    with pytest.raises(IndexWriteError) as full:
        build_index(corpus, db, IndexSettings(), embedding_model="")
    assert str(full.value) == (
        f"no space left on the index's disk ({tmp_path}); free some space there and index again"
    )
    assert source_count(db) == 3
    assert [p.name for p in tmp_path.iterdir() if ".building-" in p.name] == []


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (errno.ENOSPC, "no space left on the index's disk"),
        (errno.EDQUOT, "no space left on the index's disk"),
        (errno.EACCES, "cannot write the index in {folder} (Permission denied); make the folder"),
        (errno.EROFS, "cannot write the index in {folder} (Read-only file system)"),
    ],
)
def test_failures_of_the_swap_itself_are_named(
    tmp_path: Path,
    write_corpus: WriteCorpus,
    monkeypatch: pytest.MonkeyPatch,
    error: int,
    message: str,
) -> None:
    corpus = write_corpus(notes(3))
    expected = re.escape(message.format(folder=tmp_path))

    # A new index is built aside, then moved in place.
    def replace(src: Any, dst: Any) -> None:
        raise OSError(error, os.strerror(error), str(dst))

    monkeypatch.setattr(os, "replace", replace)  # the fresh build's move into place
    with pytest.raises(IndexWriteError, match=expected):
        build_index(corpus, tmp_path / "new.sqlite", IndexSettings())
    assert not (tmp_path / "new.sqlite").exists()
    assert [p.name for p in tmp_path.iterdir() if ".building-" in p.name] == []
    assert list((tmp_path / "new.sqlite.segments").iterdir()) == []
    monkeypatch.undo()

    # An index is refreshed in place: new segment files are written, then one commit.
    db = tmp_path / "i.sqlite"
    build_index(corpus, db, IndexSettings())
    write_notes(corpus, 2, start=3)

    def write(segment: Any, path: Path) -> None:
        raise OSError(error, os.strerror(error), str(path))

    monkeypatch.setattr(segment_files, "write", write)
    with pytest.raises(IndexWriteError, match=expected):
        build_index(corpus, db, IndexSettings())
    assert source_count(db) == 3


def test_a_permission_error_in_the_corpus_is_not_called_an_index_failure(
    tmp_path: Path, write_corpus: WriteCorpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = write_corpus(notes(3))

    def scan(folder: Path) -> Any:
        raise PermissionError(errno.EACCES, "Permission denied", str(folder / "private"))

    monkeypatch.setattr(documents_module, "scan", scan)
    with pytest.raises(PermissionError):
        build_index(corpus, tmp_path / "i.sqlite", IndexSettings(), embedding_model="")


# ---------------------------------------------------------------- a real small disk


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of the given size mounted at path; skips the test where mounting is not allowed."""
    path.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_really_full_disk(
    tmp_path: Path,
    write_corpus: WriteCorpus,
    capsys: pytest.CaptureFixture[str],
    bm25_config: Path,
) -> None:
    corpus = write_corpus(notes(3))
    with small_disk(tmp_path / "disk", "512k") as disk:
        db = disk / "index.sqlite"
        args = ("--config", str(bm25_config), "--corpus", str(corpus), "--db", str(db))
        assert cli(capsys, "index", *args)[0] == 0
        write_notes(corpus, 300, start=3)  # about 1 MB of text
        code, out, err = cli(capsys, "index", *args)
        assert code == 2
        assert out == ""
        assert err == (
            f"error: no space left on the index's disk ({disk}); free some space there and "
            "index again\n"
        )
        code, out, _ = cli(capsys, "ask", *args, "tides at pier 1")
        assert code == 0
        assert "Note 1 on the tides at pier 1" in out
        assert source_count(db) == 3
        # Nothing of the failed build is left: the index and the segments it lists.
        assert sorted(p.name for p in disk.iterdir()) == ["index.sqlite", "index.sqlite.segments"]
        with contextlib.closing(sqlite3.connect(db)) as conn:
            listed = {row[0] for row in conn.execute("SELECT file FROM segments")}
        assert {p.name for p in (disk / "index.sqlite.segments").iterdir()} == listed
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        code, _, err = cli(capsys, "index", *args)
        assert code == 2
        assert err.startswith(f"error: cannot write the index in {disk}")
        assert err.count("\n") == 1


# ---------------------------------------------------------------- the command line


def test_the_cli_refuses_a_suspicious_swap_in_one_line_and_force_overrides(
    tmp_path: Path,
    write_corpus: WriteCorpus,
    capsys: pytest.CaptureFixture[str],
    bm25_config: Path,
) -> None:
    corpus = write_corpus(notes(10))
    args = (
        "--config",
        str(bm25_config),
        "--corpus",
        str(corpus),
        "--db",
        str(tmp_path / "i.sqlite"),
    )
    assert cli(capsys, "index", *args)[0] == 0
    shutil.rmtree(corpus / "notes")
    (corpus / "left.txt").write_text("Only this note is left about the tides.", encoding="utf-8")
    code, out, err = cli(capsys, "index", *args)
    assert (code, out) == (2, "")
    assert err.startswith("error: the new index would hold 1 source(s) instead of 10 (90% fewer")
    assert err.endswith("index again with force: python -m bot index --force\n")
    assert err.count("\n") == 1
    code, out, _ = cli(capsys, "index", *args, "--force")
    assert code == 0
    assert "Indexed 1 source(s)" in out
    assert "10 removed" in out


def test_the_cli_names_a_full_disk_in_one_line(
    tmp_path: Path,
    write_corpus: WriteCorpus,
    capsys: pytest.CaptureFixture[str],
    bm25_config: Path,
) -> None:
    corpus = write_corpus(notes(3))
    args = (
        "--config",
        str(bm25_config),
        "--corpus",
        str(corpus),
        "--db",
        str(tmp_path / "i.sqlite"),
    )
    assert cli(capsys, "index", *args)[0] == 0
    write_notes(corpus, 200, start=3)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sqlite3, "connect", filling_connect(sqlite3.connect))
        code, out, err = cli(capsys, "index", *args)
    assert (code, out) == (2, "")
    assert err == (
        f"error: no space left on the index's disk ({tmp_path}); free some space there and "
        "index again\n"
    )
