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


# A reindex in a child process that reports each file it reaches on stdout and, at the file
# the test picked, stops until it is killed: the kill lands mid-build however fast the machine.
_CHILD = """
import sys
from pathlib import Path
from index import IndexSettings, build_index

stop_at = int(sys.argv[3])

def progress(done, total):
    print(done, flush=True)
    if done == stop_at:
        sys.stdin.readline()  # wait here for the kill

build_index(Path(sys.argv[1]), Path(sys.argv[2]), IndexSettings(), progress, embedding_model="")
print("finished", flush=True)
"""


def test_kill_9_at_random_points_of_a_reindex_always_leaves_a_complete_index(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus"
    db = tmp_path / "index.sqlite"
    files = 200
    _write_corpus(corpus, version=0, files=files)
    # BM25 only: 26 full rebuilds of 1,200 passages would spend most of an hour embedding,
    # and the swap under test is the same with or without vectors.
    build_index(corpus, db, IndexSettings(), embedding_model="")
    rng = random.Random(20261121)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    served = 0
    for attempt in range(1, KILLS + TAIL_KILLS + 1):
        _write_corpus(corpus, version=attempt, files=files)
        # Held at any file of the scan; the last runs are killed at a random moment after
        # the scan, while the new file is written and swapped in (or just after).
        tail = attempt > KILLS
        stop_at = files + 1 if tail else rng.randint(0, files)
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(corpus), str(db), str(stop_at)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == str(min(stop_at, files)):
                break
        else:
            raise AssertionError(f"the child build ended before file {stop_at}")
        if tail:
            time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert tail or proc.returncode == -signal.SIGKILL
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        index = Index.open(db)
        try:
            assert len(index.sources()) == files
            hits = index.search("barrels version", limit=files).hits
            versions = {
                v
                for h in hits
                for v in re.findall(r"Version (\d+)", index.passage(h.passage_id).text)  # type: ignore[union-attr]
            }
            # One complete build, never a mix: the previous one, or this one if it finished.
            assert len(versions) == 1, versions
            [version] = versions
            assert int(version) == served or (tail and int(version) == attempt), versions
            served = int(version)
        finally:
            index.close()
        if proc.stdin is not None:
            proc.stdin.close()
        if proc.stdout is not None:
            proc.stdout.close()
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
