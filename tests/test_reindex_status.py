"""The /reindex status message: edited only with new text, as Telegram requires."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bot import corpus
from bot import service as service_module
from bot.config import Config
from bot.reindex_chat import STARTED
from tests import fake_bot_api as api
from tests.bot_env import ADMIN, Env, running_bot
from tests.fake_clock import ManualClock


async def test_the_status_is_never_edited_to_the_text_it_shows(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    bm25_seed_db: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Progress ticks while the corpus scan has not reported yet: "Reindexing… scanning the
    corpus folder." is already shown, and Telegram answers an identical edit with "message
    is not modified" (the stand-in server too; running_bot fails on any refused call)."""
    entered, release = threading.Event(), threading.Event()

    def held_build(config: Config, progress: Any = None, *, force: bool = False) -> Any:
        entered.set()
        release.wait()
        return corpus.build(config, progress, force=force)

    monkeypatch.setattr(service_module, "build", held_build)
    clock = ManualClock()
    async with running_bot(tmp_path, caplog, clock=clock, index=bm25_seed_db) as env:
        try:
            await _ticks_before_the_scan(env, clock, entered)
        finally:
            release.set()  # never leave the build waiting, or the bot could not stop
        deadline = time.monotonic() + 60  # a safety timeout, not a measure
        while not [c for c in env.server.calls if "Reindex done" in c.params.get("text", "")]:
            assert time.monotonic() < deadline, "the reindex never ended"
            clock.advance(1)  # pacing and ticks run on this clock
            await asyncio.sleep(0.01)
        assert env.server.rejected == []


async def _ticks_before_the_scan(env: Env, clock: ManualClock, entered: threading.Event) -> None:
    env.server.push(api.text_update("/reindex", chat_id=ADMIN, user_id=ADMIN))
    [status] = await env.server.wait_for(
        lambda c: c.method == "sendMessage" and c.params["chat_id"] == ADMIN
    )
    assert status.params["text"] == STARTED
    assert await asyncio.to_thread(entered.wait, 60), "the build never started"
    for _ in range(3):  # three progress ticks before the scan says how many files
        await clock.wait_for_sleeper(clock.now() + 1)
        clock.advance(1)
    await clock.wait_for_sleeper(clock.now() + 1)  # the third tick is done
    assert [c for c in env.server.calls if c.method == "editMessageText"] == []
