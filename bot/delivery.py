"""Fair delivery to Telegram: one queue and one worker per chat, paced to Telegram's limits.

python-telegram-bot's AIORateLimiter pauses every chat on one chat's 429 and lets a busy
group's backlog hold up everyone else. Here each chat has its own queue: a chat waiting out
its flood control or its per-chat pace only delays itself, and the overall limit is shared
first come, first served, one message at a time per chat. This is the bot's only retry
layer, for messages and for the few calls outside any chat (the command list, inline
answers): a flood wait is honoured (within max_wait_seconds in all), network faults are
retried a few times, and a chat that blocked the bot (403) gets nothing more until it
unblocks it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from .config import DeliveryConfig

log = logging.getLogger(__name__)

T = TypeVar("T")

NETWORK_ATTEMPTS = 4
FIRST_BACKOFF_S = 0.5
MIN_FLOOD_WAIT_S = 1.0  # a 429 asking for no wait at all must not make the worker spin
GROUP_WINDOW_S = 60.0
# Calls outside any chat (the command list, an inline answer) are useless after this long.
DIRECT_MAX_WAIT_S = 30.0
_IDLE_CHATS_KEPT = 10_000


class Clock(Protocol):
    """Time as the pacing sees it; tests use a clock they move by hand."""

    def now(self) -> float:
        """Seconds on a monotonic scale."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait until now() has moved on by seconds."""
        ...


class MonotonicClock:
    """The real clock."""

    def now(self) -> float:
        """time.monotonic()."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """asyncio.sleep."""
        await asyncio.sleep(max(seconds, 0.0))


class ChatKind(StrEnum):
    """Telegram limits private chats and groups differently."""

    PRIVATE = "private"
    GROUP = "group"


class Outcome(StrEnum):
    """Why a message was not delivered."""

    BLOCKED = "the chat blocked the bot or removed it"
    GAVE_UP = "flood control lasted longer than allowed"
    REJECTED = "Telegram rejected the request"
    NETWORK = "Telegram could not be reached"
    CLOSED = "the bot is shutting down"


class Undelivered(Exception):
    """A message that could not be delivered; outcome says why."""

    def __init__(self, outcome: Outcome, detail: str = "") -> None:
        super().__init__(f"{outcome.value}: {detail}" if detail else outcome.value)
        self.outcome = outcome


@dataclass
class _Job:
    call: Callable[[], Awaitable[Any]]
    future: asyncio.Future[Any]
    what: str


@dataclass
class _Lane:
    """Where calls wait their turn: next_at is the earliest next attempt (a flood wait, a
    network back-off)."""

    next_at: float = 0.0


@dataclass
class _Chat(_Lane):
    kind: ChatKind = ChatKind.PRIVATE
    queue: deque[_Job] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None
    # next_at is also the per-chat pace here.
    window: deque[float] = field(default_factory=deque)  # sends of the last minute (groups)
    blocked: bool = False


class _Window:
    """At most limit events per span seconds."""

    def __init__(self, limit: int, span: float) -> None:
        self.limit = limit
        self.span = span
        self.times: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more event fits."""
        while self.times and self.times[0] <= now - self.span:
            self.times.popleft()
        if len(self.times) < self.limit:
            return 0.0
        return self.times[0] + self.span - now


class Outbox:
    """Per-chat send queues with Telegram's pacing and one layer of retries."""

    def __init__(self, settings: DeliveryConfig, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or MonotonicClock()
        self._chats: dict[int, _Chat] = {}
        self._overall = _Window(settings.overall_per_second, 1.0)
        self._overall_lock = asyncio.Lock()  # FIFO: chats take turns at the shared limit
        self._closed = False
        self.delivered = 0
        self.undelivered = 0

    # ------------------------------------------------------------ posting

    def post(
        self,
        chat_id: int,
        kind: ChatKind,
        call: Callable[[], Awaitable[T]],
        what: str = "message",
    ) -> asyncio.Future[T | None]:
        """Queue a Bot API call for a chat; the future gives its result, or None if undelivered.

        Calls for one chat run in the order they were posted. Callers need not await the
        future: delivery goes on without them.
        """
        future: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()
        chat = self._chat(chat_id, kind)
        if self._closed or chat.blocked:
            self.undelivered += 1
            future.set_result(None)
            return future
        chat.queue.append(_Job(call, future, what))
        if chat.worker is None:
            chat.worker = asyncio.create_task(self._run(chat_id, chat), name=f"outbox-{chat_id}")
        return future

    async def send(
        self, chat_id: int, kind: ChatKind, call: Callable[[], Awaitable[T]], what: str = "message"
    ) -> T | None:
        """Post a call and wait for its result (None when it could not be delivered)."""
        return await self.post(chat_id, kind, call, what)

    async def call(
        self, call: Callable[[], Awaitable[T]], what: str, max_wait: float = DIRECT_MAX_WAIT_S
    ) -> T:
        """A Bot API call outside any chat's queue, with the same retries and no pacing.

        Raises the last TelegramError when it gives up.
        """
        lane = _Lane()
        return await self._retrying(call, what, "the bot", lane, self._waiter(lane), max_wait)

    def blocked(self, chat_id: int) -> bool:
        """Whether the chat blocked the bot (or removed it) as far as the bot knows."""
        chat = self._chats.get(chat_id)
        return chat is not None and chat.blocked

    def block(self, chat_id: int, kind: ChatKind) -> None:
        """Stop sending to a chat: drop what is queued for it, refuse what comes."""
        chat = self._chat(chat_id, kind)
        chat.blocked = True
        self._drop(chat, Outcome.BLOCKED)

    def unblock(self, chat_id: int) -> None:
        """The chat may be written to again (it unblocked the bot or added it back)."""
        chat = self._chats.get(chat_id)
        if chat is not None:
            chat.blocked = False

    def backlog(self, chat_id: int) -> int:
        """Calls waiting for a chat, the one being sent included."""
        chat = self._chats.get(chat_id)
        return len(chat.queue) if chat is not None else 0

    async def close(self, grace: float = 5.0) -> None:
        """Refuse new calls, give queued ones up to grace seconds, then drop the rest."""
        self._closed = True
        workers = [c.worker for c in self._chats.values() if c.worker is not None]
        if workers:
            await asyncio.wait(workers, timeout=grace)
        left = 0
        for chat in self._chats.values():
            if chat.worker is not None:
                chat.worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await chat.worker
            left += len(chat.queue)
            self._drop(chat, Outcome.CLOSED)
        if left:
            log.warning("shutting down with %d message(s) not delivered", left)

    # ------------------------------------------------------------ workers

    def _chat(self, chat_id: int, kind: ChatKind) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            if len(self._chats) >= _IDLE_CHATS_KEPT:
                self._forget_idle()
            chat = self._chats[chat_id] = _Chat(kind=kind)
        return chat

    def _forget_idle(self) -> None:
        now = self.clock.now()
        for chat_id, chat in list(self._chats.items()):
            idle = chat.worker is None and not chat.blocked and chat.next_at <= now
            if idle and (not chat.window or chat.window[-1] <= now - GROUP_WINDOW_S):
                del self._chats[chat_id]

    def _drop(self, chat: _Chat, outcome: Outcome) -> None:
        while chat.queue:
            job = chat.queue.popleft()
            if not job.future.done():
                self.undelivered += 1
                job.future.set_result(None)
        if outcome is Outcome.BLOCKED:
            log.debug("dropped the queue of a chat: %s", outcome.value)

    async def _run(self, chat_id: int, chat: _Chat) -> None:
        try:
            while chat.queue:
                job = chat.queue[0]
                try:
                    result = await self._deliver(chat_id, chat, job)
                except Undelivered as exc:
                    self.undelivered += 1
                    if exc.outcome is Outcome.BLOCKED:
                        log.info(
                            "chat %s blocked the bot or removed it; not writing to it", chat_id
                        )
                        chat.blocked = True
                    else:
                        log.warning("%s to chat %s not delivered: %s", job.what, chat_id, exc)
                    result = None
                except Exception:
                    self.undelivered += 1
                    log.exception("%s to chat %s failed", job.what, chat_id)
                    result = None
                else:
                    self.delivered += 1
                if chat.queue and chat.queue[0] is job:
                    chat.queue.popleft()
                if not job.future.done():
                    job.future.set_result(result)
                if chat.blocked:
                    self._drop(chat, Outcome.BLOCKED)
        finally:
            chat.worker = None

    async def _deliver(self, chat_id: int, chat: _Chat, job: _Job) -> Any:
        """Send one call of a chat's queue at the chat's pace; why it failed, as an outcome."""
        max_wait = self.settings.max_wait_seconds
        where = f"chat {chat_id}"
        try:
            return await self._retrying(
                job.call, job.what, where, chat, lambda: self._pace(chat), max_wait
            )
        except RetryAfter as exc:
            wait = _flood_wait(exc)
            raise Undelivered(Outcome.GAVE_UP, f"asked to wait {wait:.0f} s") from None
        except Forbidden as exc:
            raise Undelivered(Outcome.BLOCKED, exc.message) from None
        except BadRequest as exc:
            raise Undelivered(Outcome.REJECTED, exc.message) from None
        except NetworkError as exc:
            raise Undelivered(Outcome.NETWORK, exc.message) from None
        except TelegramError as exc:  # a migrated chat, a conflict: not worth retrying
            raise Undelivered(Outcome.REJECTED, exc.message) from None

    async def _retrying(
        self,
        call: Callable[[], Awaitable[T]],
        what: str,
        where: str,
        lane: _Lane,
        turn: Callable[[], Awaitable[None]],
        max_wait: float,
    ) -> T:
        """The retry policy: flood waits honoured within max_wait in all, network faults
        (timeouts, lost connections) retried NETWORK_ATTEMPTS times with a doubling back-off;
        anything else, or giving up, raises the TelegramError. turn waits for the lane."""
        clock = self.clock
        deadline = clock.now() + max_wait
        backoff = FIRST_BACKOFF_S
        failures = 0
        while True:
            await turn()
            try:
                return await call()
            except RetryAfter as exc:
                wait = _flood_wait(exc)
                if clock.now() + wait > deadline:
                    raise
                log.warning("flood control: %s waits %.0f s", where, wait)
                lane.next_at = max(lane.next_at, clock.now() + wait)
            except BadRequest:  # a NetworkError to python-telegram-bot, but final
                raise
            except NetworkError as exc:
                failures += 1
                if failures >= NETWORK_ATTEMPTS or clock.now() + backoff > deadline:
                    raise
                log.info("retrying %s to %s after: %s", what, where, exc.message)
                lane.next_at = max(lane.next_at, clock.now() + backoff)
                backoff *= 2

    def _waiter(self, lane: _Lane) -> Callable[[], Awaitable[None]]:
        """Waiting for a lane that has no pace of its own: only its flood waits and back-offs."""

        async def turn() -> None:
            while (wait := lane.next_at - self.clock.now()) > 0:
                await self.clock.sleep(wait)

        return turn

    async def _pace(self, chat: _Chat) -> None:
        """Wait for this chat's turn, then for a slot of the overall limit."""
        clock = self.clock
        settings = self.settings
        while True:
            now = clock.now()
            wait = chat.next_at - now
            if chat.kind is ChatKind.GROUP:
                while chat.window and chat.window[0] <= now - GROUP_WINDOW_S:
                    chat.window.popleft()
                if len(chat.window) >= settings.per_group_per_minute:
                    wait = max(wait, chat.window[0] + GROUP_WINDOW_S - now)
            if wait <= 0:
                break
            await clock.sleep(wait)
        async with self._overall_lock:
            while (wait := self._overall.wait(clock.now())) > 0:
                await clock.sleep(wait)
            now = clock.now()
            self._overall.times.append(now)
        chat.next_at = now + 1.0 / settings.per_chat_per_second
        if chat.kind is ChatKind.GROUP:
            chat.window.append(now)


def seconds(value: float | dt.timedelta) -> float:
    """A retry_after as seconds, whether python-telegram-bot gives an int or a timedelta."""
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def _flood_wait(exc: RetryAfter) -> float:
    """How long flood control asks to wait; never no time at all."""
    return max(seconds(exc.retry_after), MIN_FLOOD_WAIT_S)
