"""A clock the test moves by hand: pacing and flood waits without waiting on real time."""

from __future__ import annotations

import asyncio
import contextlib
import time


class ManualClock:
    """now() stands still until advance(); sleep() returns once now() has passed its end."""

    def __init__(self) -> None:
        self._now = 1000.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []
        self._changed: asyncio.Condition | None = None

    def now(self) -> float:
        """The clock's time."""
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Wait until the test has advanced the clock by seconds."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self._now + seconds, future)
        self._sleepers.append(entry)
        await self._notify()
        try:
            await future
        finally:
            self._sleepers.remove(entry)

    def advance(self, seconds: float) -> None:
        """Move time on, waking every sleeper whose end has come."""
        self._now += seconds
        for end, future in self._sleepers:
            if end <= self._now and not future.done():
                future.set_result(None)

    def sleeping_until(self) -> list[float]:
        """The end times of the sleeps in progress."""
        return sorted(end for end, future in self._sleepers if not future.done())

    async def wait_for_sleeper(self, until: float, within: float = 60.0) -> None:
        """Wait until something sleeps until at least `until` (it waits on this clock).

        A task that sleeps has done all it could before that time: advancing the clock
        then is never too early.
        """
        deadline = time.monotonic() + within
        condition = self._condition()
        while not any(end >= until for end in self.sleeping_until()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"nothing sleeps until {until}: {self.sleeping_until()}")
            async with condition:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(condition.wait(), min(remaining, 0.2))

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def _notify(self) -> None:
        condition = self._condition()
        async with condition:
            condition.notify_all()
