"""The real bot, polling a stand-in Bot API server over HTTP."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import Config, TelegramConfig
from bot.telegram_app import build_application, webhook_options
from index import Index
from tests import bot_env
from tests import fake_bot_api as api
from tests.conftest import BM25, SEEDS
from tests.telegram_html import check

TOKEN, ADMIN, BOT = bot_env.TOKEN, bot_env.ADMIN, bot_env.BOT
Env = bot_env.Env
reply_to = bot_env.reply_to


async def test_start_registers_the_command_menu(env: Env) -> None:
    calls = await env.server.wait_for(lambda c: c.method == "setMyCommands")
    names = [c["command"] for c in calls[0].params["commands"]]
    assert names == ["ask", "quote", "sources", "help"]


async def test_private_question_gets_a_cited_answer_quoting_the_message(env: Env) -> None:
    [reply] = await reply_to(env.server, api.text_update("What did Peru commit to?"))
    text = reply.params["text"]
    assert reply.params["parse_mode"] == "HTML"
    assert "solidarity efforts for Venezuela" in text
    assert "<b>[1]</b>" in text
    assert "<i>undated</i>" in text
    buttons = [b for row in reply.params["reply_markup"]["inline_keyboard"] for b in row]
    assert any(b["text"].startswith("Full passage") for b in buttons)
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)


async def test_dated_source_shows_its_date(env: Env) -> None:
    [reply] = await reply_to(env.server, api.text_update("What did Trump say about Petro?"))
    assert "<i>2026-01-07</i>" in reply.params["text"]


async def test_unanswerable_question_says_so(env: Env) -> None:
    [reply] = await reply_to(env.server, api.text_update("how do I bake sourdough bread?"))
    assert reply.params["text"] == "The sources do not answer this question."
    rows = reply.params["reply_markup"]["inline_keyboard"]
    assert [b["text"] for row in rows for b in row] == ["👍", "👎"]  # nothing to open, a vote


async def test_group_answers_only_when_addressed(env: Env) -> None:
    chat = -100555
    ignored = api.group_update("What did Peru commit to?", chat_id=chat)
    env.server.push(ignored)
    env.server.push(api.group_update("/ask@other_bot What did Peru commit to?", chat_id=chat))
    mention = api.group_update(
        f"{BOT} what did Peru commit to?",
        chat_id=chat,
        entities=[{"type": "mention", "offset": 0, "length": len(BOT)}],
    )
    [reply] = await reply_to(env.server, mention)
    assert "solidarity efforts for Venezuela" in reply.params["text"]
    await asyncio.sleep(0.3)
    assert len(env.server.sent(chat)) == 1


async def test_group_reply_to_the_bot_is_a_question(env: Env) -> None:
    chat = -100556
    bot_message = api.message("earlier answer", chat, api.BOT_ID, chat_type="supergroup")
    bot_message["from"] = env.server.bot_user()
    update = api.group_update("and what about the jaguar?", chat_id=chat, reply_to=bot_message)
    [reply] = await reply_to(env.server, update)
    assert "popular jaguar" in reply.params["text"]


async def test_ask_with_bot_name_and_usage_hint(env: Env) -> None:
    chat = -100557
    [reply] = await reply_to(
        env.server, api.group_update(f"/ask{BOT} who was kidnapped?", chat_id=chat)
    )
    assert "Nicolás Maduro" in reply.params["text"]
    [usage] = await reply_to(env.server, api.group_update("/ask", chat_id=chat))
    assert usage.params["text"].startswith("Usage: /ask")


async def test_quote_exact_phrase(env: Env) -> None:
    [reply] = await reply_to(env.server, api.text_update('/quote "WATCH his ass"'))
    text = reply.params["text"]
    assert "“watch his ass”" in text
    assert "<i>2026-01-07</i>" in text
    [miss] = await reply_to(env.server, api.text_update('/quote "watch his back"'))
    assert miss.params["text"] == "No quotes in the sources match that."


async def test_quote_words_prefers_quoted_speech(env: Env) -> None:
    [reply] = await reply_to(env.server, api.text_update("/quote Peru defense brigade"))
    first = check(reply.params["text"]).split("\n")[0]
    assert "“" in first


async def test_inline_query_offers_quote_cards(env: Env) -> None:
    env.server.push(api.inline_update("jaguar"))
    [call] = await env.server.wait_for(lambda c: c.method == "answerInlineQuery")
    results = call.params["results"]
    assert 1 <= len(results) <= 10
    assert "jaguar" in results[0]["title"]
    assert "2026-01-07" in results[0]["description"]
    assert "popular jaguar" in results[0]["input_message_content"]["message_text"]
    env.server.push(api.inline_update(""))
    calls = await env.server.wait_for(lambda c: c.method == "answerInlineQuery", count=2)
    assert 1 <= len(calls[1].params["results"]) <= 10


async def test_more_and_full_passage_buttons(env: Env) -> None:
    [reply] = await reply_to(env.server, api.text_update("Venezuela defense brigade"))
    buttons = [b for row in reply.params["reply_markup"]["inline_keyboard"] for b in row]
    more = next(b for b in buttons if b["text"] == "More")
    full = next(b for b in buttons if b["text"] == "Full passage [1]")
    sent = {"message_id": 1000, "date": 0, "chat": {"id": 111, "type": "private"}, "text": "x"}
    before = len(env.server.sent(111))
    env.server.push(api.callback_update(more["callback_data"], sent))
    env.server.push(api.callback_update(full["callback_data"], sent))
    calls = await env.server.wait_for(
        lambda c: c.method == "sendMessage" and c.params.get("chat_id") == 111, count=before + 2
    )
    texts = [c.params["text"] for c in calls[before:]]
    assert any("<b>[4]</b>" in t for t in texts)  # the next page starts at citation 4
    passage = next(t for t in texts if "<b>[4]</b>" not in t)
    assert len(check(passage)) > len(check(reply.params["text"]).split("\n")[0])
    answers = await env.server.wait_for(lambda c: c.method == "answerCallbackQuery", count=2)
    assert all("text" not in a.params for a in answers)


@pytest.mark.parametrize(
    "data", ["m:bogus", "p:00000000:1", "garbage", "p:xx:yy:zz", "m:" + "9" * 60]
)
async def test_forged_or_stale_callback_gets_a_notice(env: Env, data: str) -> None:
    sent = {"message_id": 1, "date": 0, "chat": {"id": 111, "type": "private"}, "text": "x"}
    env.server.push(api.callback_update(data, sent))
    [call] = await env.server.wait_for(lambda c: c.method == "answerCallbackQuery")
    assert call.params["text"] == "This button has expired. Please ask again."


async def test_sources_lists_titles_dates_and_counts(env: Env) -> None:
    [reply] = await reply_to(env.server, api.text_update("/sources"))
    text = reply.params["text"]
    assert "2 indexed source(s)" in text
    assert "<i>2026-01-07</i>" in text
    assert "<i>undated</i>" in text
    assert "passage(s)" in text


async def test_help_has_an_example_question_from_the_corpus(env: Env) -> None:
    [reply] = await reply_to(env.server, api.text_update("/help"))
    text = reply.params["text"]
    assert "<code>What did Colombia commit to?</code>" in text
    [start] = await reply_to(env.server, api.text_update("/start"))
    assert start.params["text"] == text


@pytest.mark.parametrize(
    ("question", "found"),
    [
        ("What did Peru commit to? <&>", True),
        ("*Peru* _commit_ `to` [it](peru)?", True),
        ("<b>Brazil</b> & <script>alert(1)</script>", False),
        ("&lt;i&gt; &amp; </blockquote>", False),
    ],
)
async def test_html_and_markdown_in_the_question_are_harmless(
    env: Env, question: str, found: bool
) -> None:
    [reply] = await reply_to(env.server, api.text_update(question))
    shown = check(reply.params["text"])
    assert ("solidarity efforts for Venezuela" in shown) is found
    assert "<script>" not in reply.params["text"]


async def test_message_without_text_is_ignored(env: Env) -> None:
    sticker = {
        "message": api.message(
            None,
            111,
            111,
            sticker={
                "file_id": "x",
                "file_unique_id": "y",
                "type": "regular",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
            },
        )
    }
    env.server.push(sticker)
    [reply] = await reply_to(env.server, api.text_update("jaguar"))
    assert "jaguar" in reply.params["text"]
    assert len(env.server.sent(111)) == 1


async def test_flood_limit_answer_is_waited_out(env: Env) -> None:
    env.server.faults.append(api.Fault.flood("sendMessage"))
    update = api.text_update("popular jaguar", chat_id=333, user_id=333)
    server = env.server
    server.push(update)
    calls = await server.wait_for(
        lambda c: c.method == "sendMessage" and c.params["chat_id"] == 333, count=2
    )
    assert calls[1].at - calls[0].at >= 0.9
    await asyncio.sleep(0.3)
    assert len(server.sent(333)) == 2  # the refused attempt and one delivery


async def test_webhook_mode_answers_posted_updates(tmp_path: Path) -> None:
    server = api.FakeBotApi(TOKEN)
    await server.start()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = Config(
        corpus=SEEDS,
        index_path=tmp_path / "index.sqlite",
        telegram=TelegramConfig(
            token=TOKEN,
            api_base_url=server.base_url,
            webhook_url="https://bot.example.org/hook/path",
            webhook_listen="127.0.0.1",
            webhook_port=port,
            webhook_secret="s3cret-value-long-enough",
        ),
        search=BM25,
    )
    app = build_application(config)
    async with bot_env.started(app, webhook_options(config)):
        [set_hook] = await server.wait_for(lambda c: c.method == "setWebhook")
        assert set_hook.params["url"] == "https://bot.example.org/hook/path"
        assert set_hook.params["secret_token"] == "s3cret-value-long-enough"
        update = {"update_id": 1, **api.text_update("popular jaguar", chat_id=77, user_id=77)}
        url = f"http://127.0.0.1:{port}/hook/path"
        async with aiohttp.ClientSession() as http:
            wrong = {"X-Telegram-Bot-Api-Secret-Token": "nope"}
            async with http.post(url, json=update, headers=wrong) as response:
                assert response.status == 403
            right = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-value-long-enough"}
            async with http.post(url, json=update, headers=right) as response:
                assert response.status == 200
        [reply] = await server.wait_for(lambda c: c.method == "sendMessage")
        assert "popular jaguar" in reply.params["text"]
        await asyncio.sleep(0.2)
        assert len(server.sent(77)) == 1
    await server.stop()


async def test_burst_from_many_chats_is_answered_once_each_off_the_loop(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop_thread = threading.get_ident()
    on_loop: list[str] = []
    original = Index.search

    def search(self: Index, question: str, limit: int = 3, offset: int = 0) -> Any:
        if threading.get_ident() == loop_thread:
            on_loop.append(question)
        return original(self, question, limit, offset)

    monkeypatch.setattr(Index, "search", search)
    questions = ["popular jaguar", "What did Peru commit to?", "capital of Australia", "UN"]
    pushed: dict[int, int] = {}
    for i in range(200):
        chat = 10_000 + i % 50
        update = api.text_update(questions[i % 4], chat_id=chat, user_id=chat)
        pushed[update["message"]["message_id"]] = chat
        env.server.push(update)
    calls = await env.server.wait_for(
        lambda c: c.method == "sendMessage" and c.params.get("chat_id", 0) >= 10_000,
        count=200,
        within=120,
    )
    await asyncio.sleep(0.5)
    replies = [c for c in env.server.sent() if c.params.get("chat_id", 0) >= 10_000]
    answered = [c.params["reply_parameters"]["message_id"] for c in replies]
    assert sorted(answered) == sorted(pushed)  # every question once, none twice
    assert all(
        pushed[c.params["reply_parameters"]["message_id"]] == c.params["chat_id"] for c in calls
    )
    assert on_loop == []


async def test_chit_chat_in_a_group_gets_silence_or_a_hint(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    chat = -100558
    bot_message = api.message("earlier answer", chat, api.BOT_ID, chat_type="supergroup")
    bot_message["from"] = env.server.bot_user()
    for text in ("thanks!", "Thank you so much 🙏", "ok", "👍"):
        env.server.push(api.group_update(text, chat_id=chat, reply_to=bot_message))
    await until_logged(caplog, f"chit-chat in chat {chat}: no answer", 4)
    assert env.server.sent(chat) == []
    hello = api.group_update(
        f"{BOT} thanks",
        chat_id=chat,
        entities=[{"type": "mention", "offset": 0, "length": len(BOT)}],
    )
    [hint] = await reply_to(env.server, hello)
    assert hint.params["text"].startswith("Happy to help. Ask me about the sources with /ask")
    real = api.group_update(
        "thanks, and what did Peru commit to?", chat_id=chat, reply_to=bot_message
    )
    [answer] = await reply_to(env.server, real)
    assert "solidarity efforts for Venezuela" in answer.params["text"]


async def test_debug_logs_never_hold_a_whole_long_message(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    text = "jaguar " + "x" * 4000
    await reply_to(env.server, api.text_update(text))
    assert text not in caplog.text
    assert max(len(r.getMessage()) for r in caplog.records) <= 1100


async def until_logged(caplog: pytest.LogCaptureFixture, message: str, count: int) -> None:
    deadline = asyncio.get_running_loop().time() + 60
    while sum(r.getMessage() == message for r in caplog.records) < count:
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting for the log"
        await asyncio.sleep(0.01)
