"""Logging that never shows secrets."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from index import ELLIPSIS

REDACTED = "[redacted]"
# Longer log messages are cut: python-telegram-bot logs whole Bot API requests and answers
# at DEBUG, which would put every user's full messages (and megabytes) on one line.
MAX_MESSAGE_CHARS = 1000


class _RedactingFactory:
    """A log record factory that blanks out secrets in messages and tracebacks."""

    def __init__(self, previous: Callable[..., logging.LogRecord]) -> None:
        self.previous = previous
        self.secrets: set[str] = set()

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        message = record.getMessage()
        if self._contains(message):
            message = self.redact(message)
            record.msg, record.args = message, None
        if len(message) > MAX_MESSAGE_CHARS:
            cut = len(message) - MAX_MESSAGE_CHARS
            kept = message[:MAX_MESSAGE_CHARS]
            record.msg = f"{kept}{ELLIPSIS} [{cut} more characters not logged]"
            record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            text = "".join(traceback.format_exception(*record.exc_info))
            if self._contains(text):
                record.exc_text = self.redact(text.rstrip("\n"))
        if record.stack_info and self._contains(record.stack_info):
            record.stack_info = self.redact(record.stack_info)
        return record

    def _contains(self, text: str) -> bool:
        return any(secret in text for secret in self.secrets)

    def redact(self, text: str) -> str:
        """The text with every secret replaced."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text


def protect(secrets: Iterable[str]) -> None:
    """Redact these secrets from every log record, whichever library logs it."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _RedactingFactory):
        factory = _RedactingFactory(factory)
        logging.setLogRecordFactory(factory)
    factory.secrets.update(s for s in secrets if len(s) >= 8)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def setup(level: int) -> None:
    """Log to stderr at the given level."""
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
