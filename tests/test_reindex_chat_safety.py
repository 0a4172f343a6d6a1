"""/reindex in the chat when the reindex must not swap: the disk full, too many sources
gone, the corpus gone mid-build, an unexpected error, a deleted status message. Each time
the old index keeps answering and the status message ends in done, refused or failed."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import pytest

from bot.reindex_chat import STILL_SERVING
from tests import fake_bot_api as api
from tests.bot_env import ADMIN, Env, PausedBuild, reply_to
from tests.reindex_cases import write_notes


def _no_progress_task() -> bool:
    return not [t for t in asyncio.all_tasks() if t.get_name() == "reindex-progress"]


async def _reindex(env: Env, text: str = "/reindex") -> str:
    """Ask for a reindex and return its final status text (done, refused or failed)."""
    update = api.text_update(text, chat_id=ADMIN, user_id=ADMIN)
    [status] = await reply_to(env.server, update)
    assert status.params["text"].startswith("Reindexing")
    [final] = await env.server.wait_for(
        lambda c: (
            c.params.get("chat_id") == ADMIN
            and c.params.get("text", "").startswith(
                ("Reindex failed", "Reindex refused", "<b>Reindex done")
            )
            and c.at >= status.at
        ),
        within=120,
    )
    assert _no_progress_task()
    return str(final.params["text"])


async def test_the_bot_reports_a_full_disk_and_keeps_answering(
    env: Env, disk_fills_up: None
) -> None:
    write_notes(env.corpus, 200)
    text = await _reindex(env)
    folder = env.config.index_path.parent
    assert text == (
        f"Reindex failed: no space left on the index's disk ({folder}); free some space there "
        f"and index again; {STILL_SERVING}"
    )
    [reply] = await reply_to(env.server, api.text_update("popular jaguar", chat_id=5, user_id=5))
    assert "popular jaguar" in reply.params["text"]


async def test_the_bot_refuses_a_suspicious_swap_until_forced(env: Env) -> None:
    write_notes(env.corpus, 8)
    assert "Now serving 10 source(s)" in await _reindex(env)
    shutil.rmtree(env.corpus / "notes")
    text = await _reindex(env)
    assert text.startswith("Reindex refused: the new index would hold 2 source(s) instead of 10")
    assert text.endswith(f"send /reindex force to swap it in anyway; {STILL_SERVING}")
    [reply] = await reply_to(env.server, api.text_update("tides at pier 3", chat_id=5, user_id=5))
    assert "Note 3 on the tides at pier 3" in reply.params["text"]
    text = await _reindex(env, "/reindex force")
    assert "Now serving 2 source(s)" in text
    [usage] = await reply_to(env.server, api.text_update("/reindex now", ADMIN, ADMIN))
    assert usage.params["text"].startswith("Usage: /reindex")


async def test_the_corpus_vanishing_mid_reindex_keeps_the_old_index(
    env: Env, paused_build: PausedBuild
) -> None:
    paused_build.at = 10**9  # this first reindex runs through
    write_notes(env.corpus, 30)
    assert "Now serving 32 source(s)" in await _reindex(env)
    for path in (env.corpus / "notes").iterdir():
        path.write_text(path.read_text() + " Revised.", encoding="utf-8")
    paused_build.at = 10
    paused_build.reached.clear()
    update = api.text_update("/reindex", chat_id=ADMIN, user_id=ADMIN)
    env.server.push(update)
    await paused_build.wait_until_reached()
    moved = env.corpus.with_name("moved-away")
    env.corpus.rename(moved)
    paused_build.release.set()
    [failed] = await env.server.wait_for(
        lambda c: c.method == "editMessageText" and "vanished" in c.params["text"], within=120
    )
    assert failed.params["text"].startswith(
        f"Reindex failed: the corpus folder {str(env.corpus)!r} vanished or was replaced"
    )
    assert failed.params["text"].endswith(STILL_SERVING)
    [reply] = await reply_to(env.server, api.text_update("tides at pier 3", chat_id=5, user_id=5))
    assert "Note 3 on the tides at pier 3" in reply.params["text"]
    assert _no_progress_task()


async def test_an_unexpected_error_still_ends_the_status(
    env: Env, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the build")

    from bot import service as service_module

    monkeypatch.setattr(service_module, "build", broken)
    text = await _reindex(env)
    assert text == (
        f"Reindex failed: an unexpected error (details in the bot's log); {STILL_SERVING}"
    )
    assert "RuntimeError: a bug in the build" in caplog.text


async def test_the_result_arrives_even_when_the_status_message_was_deleted(
    env: Env, paused_build: PausedBuild
) -> None:
    write_notes(env.corpus, 5)
    update = api.text_update("/reindex", chat_id=ADMIN, user_id=ADMIN)
    [status] = await reply_to(env.server, update)
    await paused_build.wait_until_reached()
    env.server.delete_message(ADMIN, _sent_id(env, status))
    paused_build.release.set()
    [done] = await env.server.wait_for(
        lambda c: c.method == "sendMessage" and "Reindex done" in c.params["text"], within=120
    )
    assert "Now serving 7 source(s)" in done.params["text"]
    # The failed edit is the one rejection expected here.
    rejected = [(c.method, why) for c, why in env.server.rejected]
    assert set(rejected) <= {("editMessageText", "Bad Request: message to edit not found")}
    env.server.rejected.clear()


def _sent_id(env: Env, status: api.Call) -> int:
    """The message id the stand-in server gave a sent message."""
    for (chat, message_id), (text, _) in env.server.messages.items():
        if chat == ADMIN and text == status.params["text"]:
            return message_id
    raise AssertionError("status message not found")
