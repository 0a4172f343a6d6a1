"""Bad input from chats and faults from Telegram: short replies, no crash, nothing lost."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
from pathlib import Path
from typing import Any

import pytest

from tests import fake_bot_api as api
from tests.bot_env import ADMIN, Env, reply_to, running_bot
from tests.telegram_html import check

NO_WORDS = "Please ask with a few words that could appear in the sources."

BAD_INPUTS = [
    " ",
    "\t\n ",
    "x",
    "?",
    "😀🎉🔥",
    "مرحبا كيف حالك",
    "שלום עולם",
    "\u200b\u200c\u200d\ufeff",
    "jag\u200buar",
    "\x00\x01\x02 jaguar \x1b[31m",
    "NUL\x00BYTE",
    "<b>&amp;</b> * _ ` [x](y) ```code```",
    "a" * 4096,
    ("jaguar " * 600)[:4096],
    "\u202eevil right-to-left override",
    "�" * 50,
]


@pytest.mark.parametrize("text", BAD_INPUTS)
async def test_bad_text_gets_a_short_valid_reply(env: Env, text: str) -> None:
    [reply] = await reply_to(env.server, api.text_update(text))
    shown = check(reply.params["text"]) if reply.params.get("parse_mode") == "HTML" else None
    assert reply.params["text"]
    assert len(reply.params["text"]) <= 4096
    if shown is None:
        assert reply.params["text"] in (
            NO_WORDS,
            "Usage: /ask your question, for example: /ask What did Peru commit to?",
        )


@pytest.mark.parametrize(
    "update",
    [
        {"edited_message": api.message("What did Peru commit to?", 111, 111)},
        {"channel_post": api.message("What did Peru commit to?", -1009, 0, chat_type="channel")},
        {
            "message": api.message(
                None,
                111,
                111,
                photo=[{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}],
            )
        },
        {
            "message": api.message(
                None, 111, 111, voice={"file_id": "v", "file_unique_id": "w", "duration": 1}
            )
        },
        {
            "message": api.message(
                None, -100777, 111, chat_type="supergroup", new_chat_members=[api.user(5)]
            )
        },
        {
            "message": api.message(
                "/ask@another_bot what did Peru commit to?", -100777, 111, chat_type="supergroup"
            )
        },
        {"message": api.message("/unknowncommand", 111, 111)},
    ],
)
async def test_updates_not_for_the_bot_are_ignored(env: Env, update: dict[str, Any]) -> None:
    env.server.push(update)
    [reply] = await reply_to(
        env.server, api.text_update("popular jaguar", chat_id=999, user_id=999)
    )
    assert "jaguar" in reply.params["text"]
    await asyncio.sleep(0.2)
    sent = [c for c in env.server.calls if c.method.startswith(("send", "edit"))]
    assert [c.params["chat_id"] for c in sent if c.method == "sendMessage"] == [999]


@pytest.mark.parametrize("query", ["", "x", "<b>", "jaguar " * 40, "😀", "\x00"])
async def test_inline_queries_of_any_length(env: Env, query: str) -> None:
    env.server.push(api.inline_update(query))
    [call] = await env.server.wait_for(lambda c: c.method == "answerInlineQuery")
    assert len(call.params["results"]) <= 10


async def test_sql_and_paths_in_questions_are_just_words(env: Env) -> None:
    """SQL is searched for as words (and not found), a path is quoted from (nothing
    matches), and the index still answers afterwards."""
    replies = {
        "'; DROP TABLE passages; --": (
            "The sources do not answer this question. None of the sources mentions “DROP”, “TABLE”."
        ),
        "/quote ../../etc/passwd": "No quotes in the sources match that.",
        '/quote "\' OR 1=1 --"': "No quotes in the sources match that.",
    }
    for text, expected in replies.items():
        [reply] = await reply_to(env.server, api.text_update(text))
        assert reply.params["text"] == expected
    [after] = await reply_to(env.server, api.text_update("popular jaguar"))
    assert "jaguar" in after.params["text"]


@pytest.mark.parametrize(
    "fault",
    [
        api.Fault("sendMessage", status=502),
        api.Fault("sendMessage", drop=True),
        api.Fault("sendMessage", status=500),
    ],
    ids=["502", "dropped-connection", "500"],
)
async def test_send_faults_are_retried_and_delivered_once(env: Env, fault: api.Fault) -> None:
    env.server.faults.append(fault)
    update = api.text_update("popular jaguar", chat_id=444, user_id=444)
    env.server.push(update)
    delivered = await env.server.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and c.params["chat_id"] == 444
            and "jaguar" in c.params["text"]
            and c not in env.server.failed
        )
    )
    await drained(env, 444)
    ok = [c for c in env.server.sent(444) if c not in env.server.failed]
    assert len(ok) == 2  # the answer once, and the reply that drained the queue
    assert delivered[0] in ok


@pytest.mark.parametrize(
    "fault",
    [
        api.Fault("getUpdates", status=502),
        api.Fault("getUpdates", drop=True),
        api.Fault.flood("getUpdates"),
    ],
    ids=["502", "dropped-connection", "429"],
)
async def test_polling_faults_lose_no_update(env: Env, fault: api.Fault) -> None:
    env.server.faults.append(fault)
    for i in range(5):
        env.server.push(api.text_update("popular jaguar", chat_id=500 + i, user_id=500 + i))
    await env.server.wait_for(
        lambda c: c.method == "sendMessage" and 500 <= c.params["chat_id"] < 505, count=5
    )
    await asyncio.sleep(0.5)
    assert sorted(
        c.params["chat_id"] for c in env.server.sent() if 500 <= c.params["chat_id"] < 505
    ) == list(range(500, 505))


async def test_a_send_that_times_out_is_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(tmp_path, caplog, request_timeout=2.0) as env:
        env.server.faults.append(api.Fault("sendMessage", delay=3.0, drop=True))
        env.server.push(api.text_update("popular jaguar", chat_id=555, user_id=555))
        await env.server.wait_for(
            lambda c: (
                c.method == "sendMessage"
                and c.params["chat_id"] == 555
                and c not in env.server.failed
            ),
            within=40,
        )
        await drained(env, 555)
        assert len([c for c in env.server.sent(555) if c not in env.server.failed]) == 2


@pytest.mark.slow
async def test_bursts_are_all_answered_and_memory_stays_flat(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    """Three bursts of 300 questions from 50 chats: each answered once, and after the first
    burst has warmed the caches the bot's memory does not grow."""
    questions = ["popular jaguar", "What did Peru commit to?", "capital of Australia", "😀", "UN"]
    caplog.set_level(logging.WARNING)  # keep the test's own log capture out of the measure
    burst_size = 300
    sizes: list[int] = []
    answered: list[tuple[int, int]] = []
    for burst in range(3):
        base = 20_000 + burst * 1000
        for i in range(burst_size):
            chat = base + i % 50
            env.server.push(api.text_update(questions[i % 5], chat_id=chat, user_id=chat))
        in_burst = functools.partial(_sent_to_range, base)
        await env.server.wait_for(in_burst, count=burst_size, within=180)
        await asyncio.sleep(0.3)  # room for a second answer to any of them
        answered += [
            (c.params["chat_id"], c.params["reply_parameters"]["message_id"])
            for c in env.server.calls
            if in_burst(c)
        ]
        env.server.calls.clear()  # the stand-in server's record is not the bot's memory
        caplog.clear()
        gc.collect()
        sizes.append(_rss_bytes())
    assert len(answered) == 3 * burst_size
    assert len(set(answered)) == 3 * burst_size  # none answered twice
    # After the first burst warms caches, further bursts do not grow memory.
    assert sizes[2] - sizes[1] < 4_000_000, sizes


async def drained(env: Env, chat_id: int) -> None:
    """Wait until every reply queued for the chat so far is sent (or dropped): one more
    question's reply, queued behind them, has arrived (each chat's replies go in order)."""
    await reply_to(env.server, api.text_update("popular jaguar", chat_id=chat_id, user_id=chat_id))


def _sent_to_range(lo: int, call: api.Call) -> bool:
    return call.method == "sendMessage" and lo <= call.params["chat_id"] < lo + 50


def _rss_bytes() -> int:
    """This process's resident memory, from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


async def test_non_admin_reindex_is_refused_and_logged(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    [reply] = await reply_to(
        env.server, api.text_update("/reindex", chat_id=ADMIN + 1, user_id=ADMIN + 1)
    )
    assert reply.params["text"] == "Sorry, only the bot's admins can reindex."
    assert f"refused /reindex from user id {ADMIN + 1}" in caplog.text
