"""What every Telegram handler shares: the typed bot data and replies queued per chat."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any

from telegram import CallbackQuery, Chat, InlineKeyboardMarkup, Message
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, CallbackContext, ExtBot

from .config import Config
from .delivery import ChatKind, Clock, Outbox
from .feedback import FeedbackStore
from .limits import QuestionLimits
from .service import AnswerService

log = logging.getLogger(__name__)

_REMEMBERED = 10_000


class BotData:
    """What every handler shares; set up once by build_application."""

    config: Config
    service: AnswerService
    outbox: Outbox
    limits: QuestionLimits
    clock: Clock

    def __init__(self) -> None:
        self.refused: OrderedDict[int, None] = OrderedDict()
        self.answered: OrderedDict[str, None] = OrderedDict()
        self.source_pages: tuple[str, list[str]] | None = None
        # Open while the bot runs with [feedback] enabled; None otherwise.
        self.feedback: FeedbackStore | None = None


Context = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]
BotApplication = Application[ExtBot[None], Context, dict[Any, Any], dict[Any, Any], BotData, None]


def remember(seen: OrderedDict[Any, None], key: object) -> bool:
    """Add key to a bounded memory; whether it was new."""
    if key in seen:
        return False
    seen[key] = None
    while len(seen) > _REMEMBERED:
        seen.popitem(last=False)
    return True


async def answer_query(
    context: Context, query: CallbackQuery, text: str | None = None, alert: bool = False
) -> None:
    """Answer a button press, once: later errors must not answer it a second time."""
    if not remember(context.bot_data.answered, query.id):
        return
    try:
        await query.answer(text, show_alert=alert)
    except TelegramError as exc:  # the spinner stops by itself; nothing else to do
        log.info("could not answer a button press: %s", exc)


def kind_of(chat: Chat) -> ChatKind:
    return ChatKind.PRIVATE if chat.type == ChatType.PRIVATE else ChatKind.GROUP


def reply(
    context: Context,
    message: Message,
    texts: list[str],
    markup: InlineKeyboardMarkup | None = None,
    *,
    html: bool = True,
) -> asyncio.Future[Message | None]:
    """Queue one or more replies quoting message; buttons go on the last. Returns the last."""
    outbox = context.bot_data.outbox
    kind = kind_of(message.chat)
    future: asyncio.Future[Message | None] | None = None
    for i, text in enumerate(texts):
        last = i == len(texts) - 1

        def send(text: str = text, first: bool = i == 0, last: bool = last) -> Awaitable[Message]:
            return message.reply_text(
                text,
                parse_mode=ParseMode.HTML if html else None,
                do_quote=first,
                reply_markup=markup if last else None,
            )

        future = outbox.post(message.chat_id, kind, send)
    if future is None:
        raise ValueError("no text to send")
    return future


def reply_plain(context: Context, message: Message, text: str) -> None:
    """Queue one plain-text reply quoting message."""
    reply(context, message, [text], html=False)
