"""Faults: killed reindexes, corrupted index files."""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.cli import main
from index import Index, IndexSettings, build_index
from tests.conftest import ROOT

KILLS = 20


def _write_corpus(corpus: Path, version: int, files: int = 400) -> None:
    for i in range(files):
        path = corpus / f"d{i // 50}" / f"f{i}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = " ".join(
            f"Version {version} line {j} of file {i} reports {i * j} barrels." for j in range(60)
        )
        path.write_text(f"date 2025-02-{1 + i % 28:02d} {body}", encoding="utf-8")


def test_kill_9_at_random_points_of_a_reindex_always_leaves_a_complete_index(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus"
    db = tmp_path / "index.sqlite"
    _write_corpus(corpus, version=0)
    build_index(corpus, db, IndexSettings())
    rng = random.Random(20261121)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    completed = 0
    for attempt in range(1, KILLS + 1):
        _write_corpus(corpus, version=attempt)
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "index", "--corpus", str(corpus), "--db", str(db)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.2, 2.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        else:
            completed += 1
        proc.wait()
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        index = Index.open(db)
        try:
            assert len(index.sources()) == 400
            hits = index.search("barrels version", limit=400).hits
            versions = {
                v
                for h in hits
                for v in re.findall(r"Version (\d+)", index.passage(h.passage_id).text)  # type: ignore[union-attr]
            }
            assert len(versions) == 1, versions  # one complete build, never a mix
        finally:
            index.close()
    assert completed < KILLS  # most runs were really killed mid-build
    report = build_index(corpus, db, IndexSettings())
    assert report.sources == 400
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
