"""The answer service on its own (no Telegram): views out, one reindex at a time."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from bot import corpus
from bot import service as service_module
from bot.config import Config
from bot.service import AnswerService
from index import Reason, ReindexBusyError
from tests.conftest import BM25, WriteCorpus

HARBOUR = {
    "harbour.md": "# Harbour cranes counted\n\nThe harbour cranes were counted twice this "
    "spring. Twelve cranes stood on the north quay and nine on the south quay.",
    "tides.txt": "Tide tables for the pier. The tide rose over the pier at dawn.",
}


def _config(corpus_dir: Path, tmp_path: Path) -> Config:
    return Config(corpus=corpus_dir, index_path=tmp_path / "index.sqlite", search=BM25)


async def test_views_come_out_and_the_index_must_be_open(
    tmp_path: Path, write_corpus: WriteCorpus
) -> None:
    service = AnswerService(_config(write_corpus(HARBOUR), tmp_path))
    with pytest.raises(RuntimeError, match="not open"):
        _ = service.index
    await service.open()
    try:
        # No country in these sources: the example is asked from a title.
        assert await service.example_question() == "What about Harbour cranes counted?"
        listing = await service.sources()
        assert [s.path for s in listing.sources] == ["harbour.md", "tides.txt"]
        quotes = await service.quotes("cranes quay")
        assert quotes.cards
        assert quotes.cards[0].cited.path == "harbour.md"
        assert (await service.quotes("the of")).reason is Reason.NO_TERMS
        card = await service.passage(quotes.cards[0].passage_id)
        assert card is not None
        assert "Twelve cranes" in card.text
        assert await service.passage(10**9) is None
    finally:
        await service.close()


async def test_a_second_reindex_while_one_runs_is_refused(
    tmp_path: Path, write_corpus: WriteCorpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()

    def held_build(config: Config, progress: Any = None, *, force: bool = False) -> Any:
        entered.set()
        release.wait()
        return corpus.build(config, progress, force=force)

    service = AnswerService(_config(write_corpus(HARBOUR), tmp_path))
    await service.open()
    monkeypatch.setattr(service_module, "build", held_build)
    first = asyncio.create_task(service.reindex())
    try:
        assert await asyncio.to_thread(entered.wait, 60), "the first reindex never started"
        assert service.reindexing
        with pytest.raises(ReindexBusyError):
            await service.reindex()
    finally:
        release.set()
        outcome = await first
        await service.close()
    assert (outcome.sources, outcome.report.unchanged) == (2, 2)
