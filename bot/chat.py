"""What every Telegram handler shares: the typed bot data and replies queued per chat."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any

from telegram import Chat, InlineKeyboardMarkup, Message
from telegram.constants import ChatType, ParseMode
from telegram.ext import Application, CallbackContext, ExtBot

from .config import Config
from .delivery import ChatKind, Clock, Outbox
from .limits import QuestionLimits
from .service import AnswerService


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


Context = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]
BotApplication = Application[ExtBot[None], Context, dict[Any, Any], dict[Any, Any], BotData, None]


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
