"""One noisy chat never holds up another: the real bot over HTTP, on a clock the test moves.

With Telegram's own pace (1 message a second a chat, 20 a minute a group) and a clock that
only moves when the test says so, "the private reply did not wait behind the group" is a
fact about order, not about how fast this machine is: the group cannot send its second
message before the test advances the clock, so a private reply that arrives before that
did not wait behind it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.config import DeliveryConfig, LimitsConfig
from bot.gate import SLOW_DOWN_CHAT, SLOW_DOWN_USER
from tests import fake_bot_api as api
from tests.bot_env import Env, reply_to, running_bot
from tests.fake_clock import ManualClock

TELEGRAM_PACE = DeliveryConfig()
LIMITS = LimitsConfig(window_seconds=60, user_questions=10, chat_questions=10)
GROUP = -100900
QUESTION = "What did Peru commit to?"


async def until(predicate: Callable[[], bool], within: float = 60.0) -> None:
    """Wait until predicate holds (a safety timeout, not a measure)."""
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)


def slow_down(text: str) -> bool:
    return text.startswith((SLOW_DOWN_CHAT.split("(")[0], SLOW_DOWN_USER.split(":")[0]))


def replies(server: api.FakeBotApi, chat: int) -> list[api.Call]:
    return [c for c in server.sent(chat) if c not in server.failed]


async def drain(env: Env, clock: ManualClock, chat: int, count: int) -> list[api.Call]:
    """Advance the clock a second at a time until chat has count replies."""

    def done() -> bool:
        return len(replies(env.server, chat)) >= count

    while not done():
        # Move time only when something waits for it (a reply may be on its way instead).
        await until(lambda: done() or bool(clock.sleeping_until()))
        if not done():
            clock.advance(1)
    return replies(env.server, chat)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.mark.slow
async def test_a_600_question_group_burst_and_a_1000_message_flood_do_not_delay_a_private_reply(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, clock: ManualClock
) -> None:
    settings: dict[str, Any] = {"delivery": TELEGRAM_PACE, "limits": LIMITS}
    async with running_bot(tmp_path, caplog, clock=clock, config=settings) as env:
        server = env.server
        t0 = clock.now()
        for i in range(600):
            server.push(api.group_update(f"/ask {QUESTION}", chat_id=GROUP, user_id=1000 + i % 50))
        for _ in range(1000):
            server.push(api.text_update("popular jaguar", chat_id=77, user_id=77))
        [reply] = await reply_to(server, api.text_update(QUESTION, chat_id=31, user_id=31))
        assert "solidarity efforts for Venezuela" in reply.params["text"]
        # No pacing time has passed: the private reply waited behind nobody's backlog.
        assert clock.now() == t0
        assert len(replies(server, GROUP)) <= 1
        assert len(replies(server, 77)) <= 1
        limits = env.app.bot_data.limits
        await until(lambda: limits.checked == 1601)  # every question of the burst was seen

        # The group: 10 answers and one notice in this window, the rest is silence.
        group = await drain(env, clock, GROUP, 11)
        flood = await drain(env, clock, 77, 11)
        texts = [c.params["text"] for c in group]
        assert sum(slow_down(t) for t in texts) == 1
        assert sum("solidarity efforts for Venezuela" in t for t in texts) == 10
        assert sum(slow_down(c.params["text"]) for c in flood) == 1
        # Nothing else was waiting: both queues empty out (more would wait for the clock).
        outbox = env.app.bot_data.outbox
        await until(lambda: outbox.backlog(GROUP) == 0 and outbox.backlog(77) == 0)

        # The next window: answers again, and again one notice.
        clock.advance(61)
        for i in range(30):
            server.push(api.group_update(f"/ask {QUESTION}", chat_id=GROUP, user_id=2000 + i))
        group = await drain(env, clock, GROUP, 22)
        texts = [c.params["text"] for c in group[11:]]
        assert sum(slow_down(t) for t in texts) == 1
        assert sum("solidarity efforts for Venezuela" in t for t in texts) == 10
        assert len(replies(server, GROUP)) == 22


async def test_a_429_for_one_chat_delays_only_that_chat_and_is_delivered_once_after_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, clock: ManualClock
) -> None:
    settings: dict[str, Any] = {"delivery": TELEGRAM_PACE}
    async with running_bot(tmp_path, caplog, clock=clock, config=settings) as env:
        server = env.server
        server.faults.append(api.Fault.flood("sendMessage", retry_after=30, chat_id=41))
        waiting = api.text_update("popular jaguar", chat_id=41, user_id=41)
        server.push(waiting)
        await server.wait_for(lambda c: c in server.failed)
        t0 = clock.now()
        await clock.wait_for_sleeper(t0 + 30)  # chat 41 waits out its flood control
        for chat in (42, 43, 44):
            [other] = await reply_to(server, api.text_update(QUESTION, chat_id=chat, user_id=chat))
            assert "solidarity efforts for Venezuela" in other.params["text"]
        assert clock.now() == t0  # the others did not wait for chat 41
        assert replies(server, 41) == []
        clock.advance(30)
        [late] = await server.wait_for(
            lambda c: c.params.get("chat_id") == 41 and c in replies(server, 41)
        )
        assert "popular jaguar" in late.params["text"]
        assert late.params["reply_parameters"]["message_id"] == waiting["message"]["message_id"]
        # A later question in the same chat comes after it: nothing was sent twice.
        after = api.text_update(QUESTION, chat_id=41, user_id=41)
        server.push(after)
        await clock.wait_for_sleeper(clock.now() + 1)
        clock.advance(1)
        await server.wait_for(
            lambda c: (
                (c.params.get("reply_parameters") or {}).get("message_id")
                == after["message"]["message_id"]
            )
        )
        assert [c.params["reply_parameters"]["message_id"] for c in replies(server, 41)] == [
            waiting["message"]["message_id"],
            after["message"]["message_id"],
        ]
        assert len(server.sent(41)) == 3  # the refused attempt, the late answer, the next one


async def test_a_user_who_blocked_the_bot_gets_nothing_more(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(tmp_path, caplog) as env:
        server = env.server
        server.blocked.add(51)
        for text in ("popular jaguar", QUESTION):
            server.push(api.text_update(text, chat_id=51, user_id=51))
        outbox = env.app.bot_data.outbox
        await until(lambda: outbox.undelivered >= 2)  # the 403, then the refused second answer
        assert len(server.sent(51)) == 1
        assert server.blocked_calls == server.sent(51)
        assert "Sorry, something went wrong" not in caplog.text
        assert "error while handling an update" not in caplog.text
        # Unblocking the bot (Telegram sends my_chat_member) lets answers through again.
        server.blocked.discard(51)
        server.push(
            {
                "my_chat_member": {
                    "chat": {"id": 51, "type": "private", "first_name": "Ana"},
                    "from": api.user(51),
                    "date": 0,
                    "old_chat_member": {
                        "status": "kicked",
                        "user": server.bot_user(),
                        "until_date": 0,
                    },
                    "new_chat_member": {"status": "member", "user": server.bot_user()},
                }
            }
        )
        await until(lambda: not outbox.blocked(51))
        [reply] = await reply_to(server, api.text_update(QUESTION, chat_id=51, user_id=51))
        assert "solidarity efforts for Venezuela" in reply.params["text"]


async def test_an_answer_is_delivered_when_the_question_was_deleted(env: Env) -> None:
    update = api.group_update(f"/ask {QUESTION}", chat_id=-100901)
    env.server.push(update)
    env.server.delete_message(-100901, update["message"]["message_id"])  # a moderation bot
    [reply] = await env.server.wait_for(lambda c: c.params.get("chat_id") == -100901)
    assert "solidarity efforts for Venezuela" in reply.params["text"]
    assert reply.params["reply_parameters"]["allow_sending_without_reply"] is True


async def test_sources_in_a_group_is_one_message_paged_in_place(env: Env) -> None:
    for i in range(45):
        (env.corpus / f"note{i:02}.txt").write_text(
            f"date 2025-03-{1 + i % 28:02d} Note {i} about the harbour and its cranes. "
            + "The cranes were counted again. " * 5,
            encoding="utf-8",
        )
    env.server.push(api.text_update("/reindex", chat_id=4242, user_id=4242))
    await env.server.wait_for(
        lambda c: c.method == "editMessageText" and "Reindex done" in c.params["text"], within=120
    )
    chat = -100902
    [first] = await reply_to(env.server, api.group_update("/sources", chat_id=chat))
    assert "<b>47 indexed source(s)</b> · page 1 of 3" in first.params["text"]
    [[next_button]] = first.params["reply_markup"]["inline_keyboard"]
    assert next_button["text"] == "Next ›"
    sent = {
        "message_id": 999_001,
        "date": 0,
        "chat": {"id": chat, "type": "supergroup", "title": "G"},
        "text": "x",
    }
    env.server.push(api.callback_update(next_button["callback_data"], sent, user_id=222))
    [edit] = await env.server.wait_for(
        lambda c: c.method == "editMessageText" and c.params["chat_id"] == chat
    )
    assert "page 2 of 3" in edit.params["text"]
    [buttons] = edit.params["reply_markup"]["inline_keyboard"]
    assert [b["text"] for b in buttons] == ["‹ Previous", "Next ›"]
    assert len(env.server.sent(chat)) == 1  # turning pages sends nothing new
