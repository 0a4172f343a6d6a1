"""Who may use the bot, and the webhook's secret: strangers never see corpus text."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot import config as configmod
from bot.config import AccessConfig, Config, ConfigError, TelegramConfig
from bot.gate import REFUSAL
from bot.telegram_app import build_application, webhook_options
from tests import bot_env
from tests import fake_bot_api as api
from tests.bot_env import ADMIN, TOKEN, Env, reply_to, running_bot
from tests.conftest import BM25, SEEDS

FRIEND, STRANGER = 111, 999
ALLOWED_GROUP, OTHER_GROUP = -100500, -100600
QUESTION = "What did Peru commit to?"
CORPUS_WORDS = ("solidarity", "Venezuela", "Peru", "<blockquote>")
ACCESS = {"access": AccessConfig(frozenset({FRIEND}), frozenset({ALLOWED_GROUP}))}


async def until(predicate: Callable[[], bool], within: float = 60.0) -> None:
    """Wait until predicate holds (a safety timeout, not a measure)."""
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)


def ignored(caplog: pytest.LogCaptureFixture, chat: int) -> int:
    """How many messages from a stranger in chat were met with silence."""
    return sum(
        f"in chat {chat}: not allowed" in r.getMessage() and r.getMessage().startswith("ignored")
        for r in caplog.records
    )


def shows_corpus(call: api.Call) -> bool:
    return any(word in str(call.params) for word in CORPUS_WORDS)


@pytest.fixture
async def closed(tmp_path: Path, caplog: pytest.LogCaptureFixture, bm25_seed_db: Path) -> Any:
    """The bot, open only to FRIEND, ADMIN and the members of ALLOWED_GROUP."""
    async with running_bot(tmp_path, caplog, config=ACCESS, index=bm25_seed_db) as env:
        yield env


async def test_a_stranger_gets_one_polite_refusal_then_silence(
    closed: Env, caplog: pytest.LogCaptureFixture
) -> None:
    [refusal] = await reply_to(closed.server, api.text_update(QUESTION, STRANGER, STRANGER))
    assert refusal.params["text"].startswith(REFUSAL)
    assert f"send your user id ({STRANGER})" in refusal.params["text"]
    for text in (
        "/start",
        "/ask jaguar",
        "/sources",
        "/quote jaguar",
        "/reindex",
        "popular jaguar",
    ):
        closed.server.push(api.text_update(text, STRANGER, STRANGER))
    await until(lambda: ignored(caplog, STRANGER) == 6)
    calls = [c for c in closed.server.calls if c.params.get("chat_id") == STRANGER]
    assert calls == [refusal]
    assert not shows_corpus(refusal)


async def test_a_stranger_in_an_allowed_group_is_answered(closed: Env) -> None:
    update = api.group_update(f"/ask {QUESTION}", chat_id=ALLOWED_GROUP, user_id=STRANGER)
    [reply] = await reply_to(closed.server, update)
    assert "solidarity efforts for Venezuela" in reply.params["text"]


async def test_an_allowed_user_is_answered_anywhere_and_so_is_an_admin(closed: Env) -> None:
    update = api.group_update(f"/ask {QUESTION}", chat_id=OTHER_GROUP, user_id=FRIEND)
    [reply] = await reply_to(closed.server, update)
    assert "solidarity efforts for Venezuela" in reply.params["text"]
    [reply] = await reply_to(closed.server, api.text_update(QUESTION, FRIEND, FRIEND))
    assert "solidarity efforts for Venezuela" in reply.params["text"]
    [reply] = await reply_to(closed.server, api.text_update(QUESTION, ADMIN, ADMIN))
    assert "solidarity efforts for Venezuela" in reply.params["text"]


async def test_a_stranger_in_another_group_is_refused_once_and_chatter_ignored(
    closed: Env, caplog: pytest.LogCaptureFixture
) -> None:
    chatter = api.group_update("what a day", chat_id=OTHER_GROUP, user_id=STRANGER)
    closed.server.push(chatter)
    mention = api.group_update(
        f"{bot_env.BOT} {QUESTION}",
        chat_id=OTHER_GROUP,
        user_id=STRANGER,
        entities=[{"type": "mention", "offset": 0, "length": len(bot_env.BOT)}],
    )
    [refusal] = await reply_to(closed.server, mention)
    assert refusal.params["text"] == REFUSAL  # no user id shown in a group
    closed.server.push(api.group_update(f"/ask {QUESTION}", chat_id=OTHER_GROUP, user_id=STRANGER))
    await until(lambda: ignored(caplog, OTHER_GROUP) == 1)
    assert [c for c in closed.server.calls if c.params.get("chat_id") == OTHER_GROUP] == [refusal]


async def test_an_inline_query_from_a_stranger_gets_no_quotes(closed: Env) -> None:
    closed.server.push(api.inline_update("jaguar", user_id=STRANGER))
    [call] = await closed.server.wait_for(lambda c: c.method == "answerInlineQuery")
    assert call.params["results"] == []
    assert call.params["button"]["text"] == "This bot is private"
    assert not shows_corpus(call)
    closed.server.push(api.inline_update("jaguar", user_id=FRIEND))
    calls = await closed.server.wait_for(lambda c: c.method == "answerInlineQuery", count=2)
    assert "popular jaguar" in str(calls[1].params["results"])


async def test_a_button_press_from_a_stranger_is_refused(closed: Env) -> None:
    [reply] = await reply_to(
        closed.server, api.text_update("Venezuela defense brigade", FRIEND, FRIEND)
    )
    buttons = [b for row in reply.params["reply_markup"]["inline_keyboard"] for b in row]
    sent = {"message_id": 1000, "date": 0, "chat": {"id": STRANGER, "type": "private"}, "text": "x"}
    for button in buttons:
        closed.server.push(api.callback_update(button["callback_data"], sent, user_id=STRANGER))
    answers = await closed.server.wait_for(
        lambda c: c.method == "answerCallbackQuery", count=len(buttons)
    )
    assert all(a.params["text"] == REFUSAL and a.params["show_alert"] for a in answers)
    assert closed.server.sent(STRANGER) == []


async def test_the_bot_is_open_when_both_lists_are_empty(env: Env) -> None:
    [reply] = await reply_to(env.server, api.text_update(QUESTION, STRANGER, STRANGER))
    assert "solidarity efforts for Venezuela" in reply.params["text"]


def test_access_lists_are_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[access]\nallowed_user_ids = [1, 2]\nallowed_chat_ids = [-1003]\n")
    access = configmod.load(path, environ={}).access
    assert access == AccessConfig(frozenset({1, 2}), frozenset({-1003}))
    assert not access.open
    path.write_text('[access]\nallowed_user_ids = ["1"]\n')
    with pytest.raises(ConfigError, match=r"access\.allowed_user_ids: must be a list of numeric"):
        configmod.load(path, environ={})


# ---------------------------------------------------------------- webhook


@pytest.mark.parametrize("secret", ["short", "sixteen-chars-no"[:15], "x" * 7])
def test_a_short_webhook_secret_is_refused(tmp_path: Path, secret: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[telegram]\nwebhook_secret = "{secret}"\n')
    with pytest.raises(ConfigError, match="too short to be a secret, use at least 16"):
        configmod.load(path, environ={})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("configured", ["", "a-strong-secret-of-32-characters"])
async def test_webhook_always_has_a_secret_and_refuses_posts_without_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, configured: str
) -> None:
    caplog.set_level(logging.DEBUG)
    server = api.FakeBotApi(TOKEN)
    await server.start()
    port = _free_port()
    config = Config(
        corpus=SEEDS,
        index_path=tmp_path / "index.sqlite",
        telegram=TelegramConfig(
            token=TOKEN,
            api_base_url=server.base_url,
            admin_ids=frozenset({ADMIN}),
            webhook_url="https://bot.example.org/hook",
            webhook_port=port,
            webhook_secret=configured,
        ),
        delivery=bot_env.FAST,
        search=BM25,
    )
    app = build_application(config)
    options = webhook_options(config)
    try:
        async with bot_env.started(app, options):
            [set_hook] = await server.wait_for(lambda c: c.method == "setWebhook")
            secret = set_hook.params["secret_token"]
            assert secret == (configured or secret)
            assert len(secret) >= 32
            forged = {"update_id": 1, **api.text_update("/reindex", chat_id=ADMIN, user_id=ADMIN)}
            url = f"http://127.0.0.1:{port}/hook"
            async with aiohttp.ClientSession() as http:
                for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong-but-long-enough"}):
                    async with http.post(url, json=forged, headers=headers) as response:
                        assert response.status == 403
                update = {"update_id": 2, **api.text_update("popular jaguar", 77, 77)}
                right = {"X-Telegram-Bot-Api-Secret-Token": secret}
                async with http.post(url, json=update, headers=right) as response:
                    assert response.status == 200
            [reply] = await server.wait_for(lambda c: c.method == "sendMessage")
            assert reply.params["chat_id"] == 77
            assert server.sent(ADMIN) == []  # the forged /reindex never ran
    finally:
        await server.stop()
    assert secret not in caplog.text  # not even at DEBUG, where the setWebhook call is logged
    assert "secret_token" in caplog.text
