"""Shared fixtures: the bundled seeds and small literal corpora written to tmp_path."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from index import Index, IndexSettings, SearchSettings, build_index
from tests.reindex_cases import filling_connect

# python-telegram-bot's opt-in to timedelta durations, as `python -m bot run` sets it.
os.environ.setdefault("PTB_TIMEDELTA", "1")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
UNDATED_SEED = "000_63e586bc02c946bd.txt"
DATED_SEED = "001_b657fdf5db65832a.txt"

WriteCorpus = Callable[[Mapping[str, str | bytes]], Path]

# BM25 only. Hybrid retrieval is the default with the semantic extra (which dev installs),
# and embedding runs at about ten passages a second here: tests that are not about
# embeddings build and search without them. The seed index (seed_db) and test_dense.py
# keep the hybrid path covered.
BM25 = SearchSettings(embedding_model="")
BM25_TOML = '[retrieval]\nembedding_model = ""\n'


@pytest.fixture(autouse=True)
def _root_logging() -> Iterator[None]:
    """The command line configures logging for its process (logs.setup): a test that runs it
    must not leave the next tests its handler, on a capture stream closed since, nor its
    level. (Each record sent there cost a 'Logging error' traceback: 7 % of a bot test.)"""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler and handler not in before:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture
def write_corpus(tmp_path: Path) -> WriteCorpus:
    """Write {relative path: text or bytes} into a fresh corpus folder."""

    def write(files: Mapping[str, str | bytes]) -> Path:
        corpus = tmp_path / "corpus"
        corpus.mkdir(exist_ok=True)
        for rel, content in files.items():
            path = corpus / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return corpus

    return write


@pytest.fixture(scope="session")
def bm25_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config file for the command line that builds and answers with BM25 only."""
    path = tmp_path_factory.mktemp("config") / "bm25.toml"
    path.write_text(BM25_TOML, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def seed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the bundled seeds with passage vectors (hybrid), built once per session.

    Shared by every test that asks the seeds: open it, never write to it.
    """
    db = tmp_path_factory.mktemp("seed-index") / "index.sqlite"
    build_index(SEEDS, db, IndexSettings())
    return db


@pytest.fixture(scope="session")
def bm25_seed_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the bundled seeds without vectors, built once per session; tests copy it."""
    db = tmp_path_factory.mktemp("seed-index-bm25") / "index.sqlite"
    build_index(SEEDS, db, IndexSettings(), embedding_model="")
    return db


@pytest.fixture
def seed_index(seed_db: Path) -> Iterator[Index]:
    """The seed index, opened."""
    index = Index.open(seed_db)
    yield index
    index.close()


@pytest.fixture
async def env(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, bm25_seed_db: Path
) -> AsyncIterator[Any]:
    """The real bot polling a stand-in Bot API server, on a copy of the seeds."""
    from tests.bot_env import running_bot

    async with running_bot(tmp_path, caplog, index=bm25_seed_db) as bot:
        yield bot


@pytest.fixture
def paused_build(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The bot's next reindex pauses mid-way until the test releases it."""
    from tests.bot_env import PausedBuild

    paused = PausedBuild()
    paused.install(monkeypatch)
    try:
        yield paused
    finally:
        paused.release.set()  # never leave a worker thread waiting after the test


@pytest.fixture
def disk_fills_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Builds hit a full disk: see tests/reindex_cases.filling_connect."""
    monkeypatch.setattr(sqlite3, "connect", filling_connect(sqlite3.connect))
