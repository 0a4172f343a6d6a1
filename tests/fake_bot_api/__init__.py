"""A stand-in Telegram Bot API server on 127.0.0.1: real HTTP, real-shaped JSON, calls recorded.

`server` serves and records, `methods` answers each method as strictly as Telegram,
`updates` builds the updates a test pushes.
"""

from tests.fake_bot_api.methods import BOT_ID, BOT_USERNAME, ApiError
from tests.fake_bot_api.server import Call, FakeBotApi, Fault
from tests.fake_bot_api.updates import (
    callback_update,
    document_update,
    group_update,
    inline_update,
    message,
    text_update,
    user,
)

__all__ = [
    "BOT_ID",
    "BOT_USERNAME",
    "ApiError",
    "Call",
    "FakeBotApi",
    "Fault",
    "callback_update",
    "document_update",
    "group_update",
    "inline_update",
    "message",
    "text_update",
    "user",
]
