"""Faults: killed reindexes, corrupted index files."""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import random
import re
import signal
import sqlite3
import time
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from bot.cli import main
from index import Index, IndexSettings, build_index
from tests.conftest import ROOT

KILLS = 10
TAIL_KILLS = 4


def _write_corpus(corpus: Path, version: int, files: int = 400) -> None:
    for i in range(files):
        path = corpus / f"d{i // 50}" / f"f{i}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = " ".join(
            f"Version {version} line {j} of file {i} reports {i * j} barrels." for j in range(60)
        )
        path.write_text(f"date 2025-02-{1 + i % 28:02d} {body}", encoding="utf-8")


def _child_build(corpus: Path, db: Path, stop_at: int, conn: Connection) -> None:
    """A reindex that reports each file it reaches and, at the file the test picked, stops
    until it is killed: the kill lands mid-build however fast the machine is."""

    def progress(done: int, total: int) -> None:
        conn.send(done)
        if done == stop_at:
            conn.recv()  # wait here for the kill

    build_index(corpus, db, IndexSettings(), progress, embedding_model="")
    conn.send("finished")


@pytest.fixture(scope="module")
def builders() -> multiprocessing.context.ForkServerContext:
    """Processes forked from one that has already imported the index: each killed build
    starts at once instead of importing everything again."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.test_reliability"])
    return context


@pytest.mark.slow
def test_kill_9_at_random_points_of_a_reindex_always_leaves_a_complete_index(
    tmp_path: Path, builders: multiprocessing.context.ForkServerContext
) -> None:
    corpus = tmp_path / "corpus"
    db = tmp_path / "index.sqlite"
    files = 100
    _write_corpus(corpus, version=0, files=files)
    # BM25 only: 16 full rebuilds of 600 passages would spend minutes embedding, and the
    # swap under test is the same with or without vectors.
    build_index(corpus, db, IndexSettings(), embedding_model="")
    rng = random.Random(20261121)
    served = 0
    for attempt in range(1, KILLS + TAIL_KILLS + 1):
        _write_corpus(corpus, version=attempt, files=files)
        # Held at any file of the scan; the last runs are killed at a random moment after
        # the scan, while the new file is written and swapped in (or just after).
        tail = attempt > KILLS
        stop_at = files + 1 if tail else rng.randint(0, files)
        ours, theirs = builders.Pipe()
        proc = builders.Process(target=_child_build, args=(corpus, db, stop_at, theirs))
        proc.start()
        theirs.close()
        while (reached := ours.recv()) != min(stop_at, files):
            assert reached != "finished", f"the child build ended before file {stop_at}"
        if tail:
            time.sleep(rng.uniform(0.0, 0.4))
        proc.kill()
        proc.join()
        ours.close()
        assert tail or proc.exitcode == -signal.SIGKILL
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        index = Index.open(db)
        try:
            assert len(index.sources()) == files
            hits = index.search("barrels version", limit=files).hits
            texts = [index.passage(h.passage_id) for h in hits]
            versions = {
                v for t in texts if t is not None for v in re.findall(r"Version (\d+)", t.text)
            }
            # One complete build, never a mix: the previous one, or this one if it finished.
            assert len(versions) == 1, versions
            [version] = versions
            assert int(version) == served or (tail and int(version) == attempt), versions
            served = int(version)
        finally:
            index.close()
    report = build_index(corpus, db, IndexSettings(), embedding_model="")
    assert report.sources == files
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".index.sqlite")]
    assert leftovers == []


@pytest.mark.parametrize("content", [b"garbage" * 500, b"SQLite format 3\x00" + b"\x00" * 200])
def test_corrupted_index_file_is_a_clear_error_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    db = tmp_path / "index.sqlite"
    db.write_bytes(content)
    code = main(["ask", "--db", str(db), "--corpus", str(ROOT / "seeds"), "jaguar"])
    err = capsys.readouterr().err
    assert code == 2
    assert "is not an index of this bot" in err
    assert "move the file away or set index.path" in err
    assert err.count("\n") == 1
    assert db.read_bytes() == content
