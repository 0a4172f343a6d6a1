"""Question limits per person and per chat: over the limit, one notice, then silence."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum

from .config import LimitsConfig
from .delivery import Clock

_KEYS_KEPT = 50_000


class Verdict(StrEnum):
    """What to do with a question."""

    ANSWER = "answer"
    NOTICE = "notice"  # over the limit: say so, once per window
    SILENT = "silent"  # over the limit and already told


class Scope(StrEnum):
    """Which limit a question met."""

    USER = "user"
    CHAT = "chat"


@dataclass(frozen=True)
class Decision:
    """A verdict, the limit that gave it, and when that limit's window ends."""

    verdict: Verdict
    scope: Scope | None = None
    retry_in: float = 0.0


@dataclass
class _Window:
    start: float
    count: int = 0
    told: bool = False


class _Counter:
    """Questions per key in fixed windows that start at a key's first question."""

    def __init__(self, limit: int, window: float, clock: Clock) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._windows: OrderedDict[int, _Window] = OrderedDict()

    def current(self, key: int) -> _Window:
        """The key's window now, a fresh one when the last has passed."""
        now = self.clock.now()
        window = self._windows.get(key)
        if window is None or now >= window.start + self.window:
            window = self._windows[key] = _Window(now)
            self._forget_old(now)
        self._windows.move_to_end(key)
        return window

    def retry_in(self, window: _Window) -> float:
        """Seconds until a window passes."""
        return max(0.0, window.start + self.window - self.clock.now())

    def _forget_old(self, now: float) -> None:
        while len(self._windows) > _KEYS_KEPT:
            key, oldest = next(iter(self._windows.items()))
            if now < oldest.start + self.window:
                break
            del self._windows[key]


class QuestionLimits:
    """The per-chat and per-user question limits of the configuration."""

    def __init__(self, settings: LimitsConfig, clock: Clock) -> None:
        window = settings.window_seconds
        self._chats = _Counter(settings.chat_questions, window, clock)
        self._users = _Counter(settings.user_questions, window, clock)
        self.checked = 0

    def check(self, user_id: int | None, chat_id: int | None) -> Decision:
        """Count a question from a user in a chat and say whether to answer it.

        A full chat speaks first (one notice for the whole group, not one per member); a
        question that is not answered counts against no one, so one person's flood does
        not use up the group's share.
        """
        self.checked += 1
        windows: list[tuple[_Counter, _Window, Scope]] = []
        if chat_id is not None and chat_id != user_id and self._chats.limit:
            windows.append((self._chats, self._chats.current(chat_id), Scope.CHAT))
        if user_id is not None and self._users.limit:
            windows.append((self._users, self._users.current(user_id), Scope.USER))
        for counter, window, scope in windows:
            if window.count < counter.limit:
                continue
            if window.told:
                return Decision(Verdict.SILENT, scope, counter.retry_in(window))
            window.told = True
            return Decision(Verdict.NOTICE, scope, counter.retry_in(window))
        for _, window, _ in windows:
            window.count += 1
        return Decision(Verdict.ANSWER)
