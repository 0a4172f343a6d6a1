"""/reindex over HTTP: admins only, progress while the old index answers, one at a time,
failures; the status message edited only with new text, as Telegram requires."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bot import corpus
from bot import service as service_module
from bot.config import Config
from bot.reindex_chat import STARTED
from tests import bot_env
from tests import fake_bot_api as api
from tests.bot_env import ADMIN, Env, reply_to, running_bot
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


async def test_reindex_refused_for_non_admins(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    [reply] = await reply_to(env.server, api.group_update("/reindex", user_id=999))
    assert reply.params["text"] == "Sorry, only the bot's admins can reindex."
    assert "refused /reindex from user id 999" in caplog.text


async def test_reindex_by_admin_reports_progress_and_keeps_answering(
    env: Env, paused_build: bot_env.PausedBuild
) -> None:
    for i in range(150):
        (env.corpus / "bulk" / f"{i // 50}").mkdir(parents=True, exist_ok=True)
        (env.corpus / "bulk" / f"{i // 50}" / f"n{i}.txt").write_text(
            f"date 2025-01-{1 + i % 28:02d} Report {i} on harvest number {i}. "
            + " ".join(f"Field {j} yielded {i * j} sacks of grain." for j in range(40)),
            encoding="utf-8",
        )
    (env.corpus / "bad.txt").write_bytes(b"\xff\xfe\xfa broken")
    update = api.text_update("/reindex", chat_id=ADMIN, user_id=ADMIN)
    [status] = await reply_to(env.server, update)
    assert status.params["text"].startswith("Reindexing")
    await paused_build.wait_until_reached()
    [progress] = await env.server.wait_for(
        lambda c: c.method == "editMessageText" and "files" in c.params["text"]
    )
    assert "/153 files" in progress.params["text"]
    # Still answering from the previous index while the new one is built.
    [during] = await reply_to(env.server, api.text_update("popular jaguar", chat_id=5, user_id=5))
    assert "popular jaguar" in during.params["text"]
    [stale] = await reply_to(env.server, api.text_update("harvest number 77", chat_id=5, user_id=5))
    assert "Report 77" not in stale.params["text"]
    paused_build.release.set()
    done = await env.server.wait_for(
        lambda c: c.method == "editMessageText" and "Reindex done" in c.params["text"], within=120
    )
    assert during.at < done[0].at
    text = done[0].params["text"]
    assert "150 added" in text
    assert "skipped: bad.txt: not valid UTF-8" in text
    assert "Now serving 152 source(s)" in text
    [after] = await reply_to(env.server, api.text_update("harvest number 77", chat_id=5, user_id=5))
    assert "Report 77 on harvest number 77" in after.params["text"]


async def test_second_reindex_is_told_one_is_running(
    env: Env, paused_build: bot_env.PausedBuild
) -> None:
    (env.corpus / "memo.txt").write_text("Memo. " + "Words here. " * 200, encoding="utf-8")
    env.server.push(api.text_update("/reindex", chat_id=ADMIN, user_id=ADMIN))
    await paused_build.wait_until_reached()
    [busy] = await reply_to(env.server, api.text_update("/reindex", chat_id=ADMIN, user_id=ADMIN))
    assert busy.params["text"].startswith("A reindex is already running")
    paused_build.release.set()
    await env.server.wait_for(
        lambda c: c.method == "editMessageText" and "Reindex done" in c.params["text"], within=120
    )


async def test_failed_reindex_keeps_serving_the_old_index(env: Env) -> None:
    shutil.rmtree(env.corpus)
    env.corpus.mkdir()
    env.server.push(api.text_update("/reindex", chat_id=ADMIN, user_id=ADMIN))
    [failed] = await env.server.wait_for(
        lambda c: c.method == "editMessageText" and "Reindex failed" in c.params["text"]
    )
    assert "no indexable sources" in failed.params["text"]
    assert failed.params["text"].endswith("; the previous index is still answering.")
    [reply] = await reply_to(env.server, api.text_update("popular jaguar"))
    assert "popular jaguar" in reply.params["text"]
