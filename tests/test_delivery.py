"""The per-chat outbox and the question limits, on a clock the tests move by hand."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.config import DeliveryConfig, LimitsConfig
from bot.delivery import ChatKind, Outbox
from bot.limits import QuestionLimits, Scope, Verdict
from tests.fake_clock import ManualClock

PRIVATE, GROUP = ChatKind.PRIVATE, ChatKind.GROUP
TELEGRAM = DeliveryConfig()  # Telegram's own limits: 1/s a chat, 20/min a group, 30/s in all


class Recorder:
    """Fake Bot API calls that record which chat got what, at which clock time."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.sent: list[tuple[int, int, float]] = []
        self.attempts: list[tuple[int, int]] = []

    def call(
        self, chat: int, n: int, *failures: Exception
    ) -> Callable[[], Awaitable[tuple[int, int]]]:
        pending = list(failures)

        async def send() -> tuple[int, int]:
            self.attempts.append((chat, n))
            if pending:
                raise pending.pop(0)
            self.sent.append((chat, n, self.clock.now()))
            return chat, n

        return send

    def times(self, chat: int) -> list[float]:
        return [t for c, _, t in self.sent if c == chat]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


async def test_each_chat_is_paced_alone(clock: ManualClock) -> None:
    outbox = Outbox(TELEGRAM, clock)
    rec = Recorder(clock)
    t0 = clock.now()
    a = [outbox.post(1, PRIVATE, rec.call(1, i)) for i in range(3)]
    b = outbox.post(2, PRIVATE, rec.call(2, 0))
    assert await a[0] == (1, 0)
    assert await b == (2, 0)  # chat 2 does not wait behind chat 1's backlog
    for i in (1, 2):
        await clock.wait_for_sleeper(t0 + i)
        assert not a[i].done()
        clock.advance(1)
        assert await a[i] == (1, i)
    assert rec.times(1) == [t0, t0 + 1, t0 + 2]
    assert rec.times(2) == [t0]
    await outbox.close(grace=0)


async def test_a_group_gets_20_messages_a_minute(clock: ManualClock) -> None:
    outbox = Outbox(TELEGRAM, clock)
    rec = Recorder(clock)
    t0 = clock.now()
    sent = [outbox.post(-100, GROUP, rec.call(-100, i)) for i in range(22)]
    await sent[0]
    for i in range(1, 20):
        await clock.wait_for_sleeper(t0 + i)
        clock.advance(1)
        await sent[i]
    await clock.wait_for_sleeper(t0 + 60)
    assert not sent[20].done()
    clock.advance(t0 + 60 - clock.now())
    await sent[20]
    await clock.wait_for_sleeper(t0 + 61)
    clock.advance(1)
    await sent[21]
    assert rec.times(-100) == [t0 + i for i in range(20)] + [t0 + 60, t0 + 61]
    await outbox.close(grace=0)


async def test_chats_take_turns_at_the_overall_limit(clock: ManualClock) -> None:
    outbox = Outbox(DeliveryConfig(per_chat_per_second=1000, overall_per_second=2), clock)
    rec = Recorder(clock)
    t0 = clock.now()
    futures = [
        outbox.post(chat, PRIVATE, rec.call(chat, i)) for chat in (1, 2, 3) for i in range(3)
    ]
    for second in range(1, 5):
        await clock.wait_for_sleeper(t0 + second)
        clock.advance(1)
    await asyncio.gather(*futures)
    order = [(chat, n) for chat, n, _ in rec.sent]
    # A chat with a backlog holds one place in the shared queue at a time.
    assert order == [(1, 0), (2, 0), (3, 0), (1, 1), (2, 1), (3, 1), (1, 2), (2, 2), (3, 2)]
    times = [t for _, _, t in rec.sent]
    assert all(times.count(t) <= 2 for t in times)
    await outbox.close(grace=0)


async def test_a_flood_wait_delays_only_its_chat_and_delivers_once(clock: ManualClock) -> None:
    outbox = Outbox(TELEGRAM, clock)
    rec = Recorder(clock)
    t0 = clock.now()
    slow = outbox.post(1, PRIVATE, rec.call(1, 0, RetryAfter(dt.timedelta(seconds=30))))
    await clock.wait_for_sleeper(t0 + 30)
    others = [outbox.post(chat, PRIVATE, rec.call(chat, 0)) for chat in (2, 3)]
    assert await asyncio.gather(*others) == [(2, 0), (3, 0)]
    assert not slow.done()
    clock.advance(30)
    assert await slow == (1, 0)
    assert rec.times(1) == [t0 + 30]
    assert rec.attempts.count((1, 0)) == 2  # the refused attempt and one delivery
    await outbox.close(grace=0)


async def test_a_flood_wait_of_zero_still_waits_a_second(clock: ManualClock) -> None:
    outbox = Outbox(DeliveryConfig(per_chat_per_second=1000), clock)
    rec = Recorder(clock)
    t0 = clock.now()
    result = outbox.post(1, PRIVATE, rec.call(1, 0, RetryAfter(0), RetryAfter(0)))
    for second in (1, 2):
        await clock.wait_for_sleeper(t0 + second)
        assert not result.done()
        clock.advance(1)
    assert await result == (1, 0)
    assert rec.times(1) == [t0 + 2]
    await outbox.close(grace=0)


async def test_a_flood_wait_beyond_the_bound_is_given_up_and_the_queue_goes_on(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = Outbox(DeliveryConfig(max_wait_seconds=600), clock)
    rec = Recorder(clock)
    lost = outbox.post(1, PRIVATE, rec.call(1, 0, RetryAfter(dt.timedelta(seconds=601))))
    after = outbox.post(1, PRIVATE, rec.call(1, 1))
    assert await lost is None
    await clock.wait_for_sleeper(clock.now() + 1)
    clock.advance(1)
    assert await after == (1, 1)
    assert "flood control lasted longer than allowed" in caplog.text
    assert outbox.undelivered == 1
    await outbox.close(grace=0)


async def test_flood_waits_add_up_to_the_bound(clock: ManualClock) -> None:
    outbox = Outbox(DeliveryConfig(max_wait_seconds=100), clock)
    rec = Recorder(clock)
    floods = [RetryAfter(dt.timedelta(seconds=40)) for _ in range(3)]
    result = outbox.post(1, PRIVATE, rec.call(1, 0, *floods))
    for _ in range(2):
        await clock.wait_for_sleeper(clock.now() + 40)
        clock.advance(40)
    assert await result is None  # the third wait would end past 100 s
    assert rec.attempts == [(1, 0)] * 3
    await outbox.close(grace=0)


async def test_a_blocked_chat_gets_nothing_more_until_it_unblocks(clock: ManualClock) -> None:
    outbox = Outbox(TELEGRAM, clock)
    rec = Recorder(clock)
    first = outbox.post(7, PRIVATE, rec.call(7, 0, Forbidden("Forbidden: bot was blocked")))
    queued = outbox.post(7, PRIVATE, rec.call(7, 1))
    assert await first is None
    assert await queued is None
    assert await outbox.post(7, PRIVATE, rec.call(7, 2)) is None
    assert rec.attempts == [(7, 0)]
    assert outbox.blocked(7)
    outbox.unblock(7)
    again = outbox.post(7, PRIVATE, rec.call(7, 3))
    await clock.wait_for_sleeper(clock.now() + 1)  # the chat's pace since the last attempt
    clock.advance(1)
    assert await again == (7, 3)
    await outbox.close(grace=0)


async def test_network_faults_are_retried_bad_requests_are_not(clock: ManualClock) -> None:
    outbox = Outbox(DeliveryConfig(per_chat_per_second=1000), clock)
    rec = Recorder(clock)
    flaky = outbox.post(1, PRIVATE, rec.call(1, 0, TimedOut(), NetworkError("reset")))
    await clock.wait_for_sleeper(clock.now() + 0.5)
    clock.advance(0.5)
    await clock.wait_for_sleeper(clock.now() + 1.0)
    clock.advance(1.0)
    assert await flaky == (1, 0)
    bad = outbox.post(2, PRIVATE, rec.call(2, 0, BadRequest("Bad Request: chat not found")))
    assert await bad is None
    assert rec.attempts.count((2, 0)) == 1
    await outbox.close(grace=0)


async def test_a_network_fault_that_persists_is_given_up(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    outbox = Outbox(DeliveryConfig(per_chat_per_second=1000), clock)
    rec = Recorder(clock)
    down = outbox.post(1, PRIVATE, rec.call(1, 0, *[NetworkError("down")] * 10))
    for wait in (0.5, 1.0, 2.0):
        await clock.wait_for_sleeper(clock.now() + wait)
        clock.advance(wait)
    assert await down is None
    assert len(rec.attempts) == 4
    assert "Telegram could not be reached" in caplog.text
    await outbox.close(grace=0)


async def test_close_drops_what_cannot_be_sent_in_time(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = Outbox(TELEGRAM, clock)
    rec = Recorder(clock)
    futures = [outbox.post(1, PRIVATE, rec.call(1, i)) for i in range(3)]
    await futures[0]
    await clock.wait_for_sleeper(clock.now() + 1)
    await outbox.close(grace=0)
    assert [f.result() for f in futures] == [(1, 0), None, None]
    assert "shutting down with 2 message(s) not delivered" in caplog.text
    assert await outbox.post(1, PRIVATE, rec.call(1, 9)) is None


# ---------------------------------------------------------------- question limits


def test_over_the_limit_one_notice_then_silence_until_the_window_passes(
    clock: ManualClock,
) -> None:
    limits = QuestionLimits(LimitsConfig(window_seconds=60, user_questions=3), clock)
    verdicts = [limits.check(5, 5).verdict for _ in range(6)]
    assert verdicts == [Verdict.ANSWER] * 3 + [Verdict.NOTICE, Verdict.SILENT, Verdict.SILENT]
    clock.advance(30)
    decision = limits.check(5, 5)
    assert (decision.verdict, decision.scope, decision.retry_in) == (Verdict.SILENT, Scope.USER, 30)
    assert limits.check(6, 6).verdict is Verdict.ANSWER  # another person is not affected
    clock.advance(30)
    verdicts = [limits.check(5, 5).verdict for _ in range(5)]
    assert verdicts == [Verdict.ANSWER] * 3 + [Verdict.NOTICE, Verdict.SILENT]


def test_a_group_shares_one_limit_and_each_person_keeps_theirs(clock: ManualClock) -> None:
    settings = LimitsConfig(window_seconds=60, user_questions=3, chat_questions=4)
    limits = QuestionLimits(settings, clock)
    group = -100
    verdicts = [limits.check(user, group).verdict for user in (1, 2, 3, 4, 5, 6)]
    assert verdicts == [Verdict.ANSWER] * 4 + [Verdict.NOTICE, Verdict.SILENT]
    assert limits.check(1, 1).verdict is Verdict.ANSWER  # user 1 in private: own limit
    decision = limits.check(1, group)
    assert (decision.verdict, decision.scope) == (Verdict.SILENT, Scope.CHAT)


def test_one_persons_flood_leaves_the_group_its_share(clock: ManualClock) -> None:
    settings = LimitsConfig(window_seconds=60, user_questions=3, chat_questions=5)
    limits = QuestionLimits(settings, clock)
    flood = [limits.check(1, -100) for _ in range(50)]
    assert [d.verdict for d in flood[:5]] == [Verdict.ANSWER] * 3 + [Verdict.NOTICE, Verdict.SILENT]
    assert {d.scope for d in flood[3:]} == {Scope.USER}
    assert [limits.check(2, -100).verdict for _ in range(2)] == [Verdict.ANSWER] * 2
    assert limits.check(3, -100).verdict is Verdict.NOTICE  # now the group is full
    assert limits.check(1, -100).scope is Scope.CHAT


def test_zero_means_no_limit(clock: ManualClock) -> None:
    limits = QuestionLimits(LimitsConfig(user_questions=0, chat_questions=0), clock)
    assert {limits.check(1, -100).verdict for _ in range(1000)} == {Verdict.ANSWER}
