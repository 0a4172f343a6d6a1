"""What every Telegram handler shares: the typed context and replies queued per chat."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from telegram import CallbackQuery, Chat, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, CallbackContext, ExtBot

from .config import Config
from .delivery import ChatKind, Clock, Outbox
from .feedback_store import FeedbackStore
from .limits import QuestionLimits
from .service import AnswerService

log = logging.getLogger(__name__)

_REMEMBERED = 10_000
STALE_BUTTON = "This button has expired. Please ask again."


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


class Context(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """The context every handler gets (ContextTypes(context=Context, bot_data=BotData))."""

    @property
    def config(self) -> Config:
        """The bot's configuration."""
        return self.bot_data.config

    @property
    def service(self) -> AnswerService:
        """The answer service: the index, questions, quotes, reindexing."""
        return self.bot_data.service

    @property
    def outbox(self) -> Outbox:
        """Every chat's reply queue, and the one retry layer."""
        return self.bot_data.outbox

    def is_admin(self, user_id: int) -> bool:
        """Whether the user is one of the bot's admins (not a group's)."""
        return user_id in self.config.telegram.admin_ids


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


@dataclass(frozen=True)
class Press:
    """A button pressed under a message the bot sent, with its callback data's fields."""

    query: CallbackQuery
    message: Message | None  # None when Telegram no longer has it (too old)
    fields: re.Match[str]


def current_press(update: Update, context: Context) -> Press | None:
    """The press routed here by its pattern, when the current index made the button; None
    for a button of an older index (its generation field differs)."""
    query = update.callback_query
    if query is None or not context.matches:
        return None
    fields = context.matches[0]
    if fields["generation"] != context.service.generation:
        return None
    message = query.message if isinstance(query.message, Message) else None
    return Press(query, message, fields)


async def on_stale_button(update: Update, context: Context) -> None:
    """Buttons of an older index, and anything forged: a short notice."""
    if update.callback_query is not None:
        await answer_query(context, update.callback_query, STALE_BUTTON)


def kind_of(chat: Chat) -> ChatKind:
    """Private chat or group, as the pacing sees it."""
    return ChatKind.PRIVATE if chat.type == ChatType.PRIVATE else ChatKind.GROUP


def reply(
    context: Context,
    message: Message,
    texts: list[str],
    markup: InlineKeyboardMarkup | None = None,
    *,
    html: bool = True,
) -> asyncio.Future[Message | None]:
    """Queue one or more replies quoting message; buttons go on the last. Returns the last.

    HTML is the default parse mode (build_application's Defaults); html=False sends text
    as it is.
    """
    kind = kind_of(message.chat)
    future: asyncio.Future[Message | None] | None = None
    for i, text in enumerate(texts):
        last = i == len(texts) - 1

        def send(text: str = text, first: bool = i == 0, last: bool = last) -> Awaitable[Message]:
            if html:
                return message.reply_text(
                    text, do_quote=first, reply_markup=markup if last else None
                )
            return message.reply_text(
                text, parse_mode=None, do_quote=first, reply_markup=markup if last else None
            )

        future = context.outbox.post(message.chat_id, kind, send)
    if future is None:
        raise ValueError("no text to send")
    return future


def reply_plain(context: Context, message: Message, text: str) -> None:
    """Queue one plain-text reply quoting message."""
    reply(context, message, [text], html=False)


def admin_message(update: Update, context: Context, what: str, refusal: str) -> Message | None:
    """The update's message when one of the bot's admins sent it. Anyone else's is logged
    (what: the command or kind of message) and answered with the refusal; None then."""
    message = update.message
    user = update.effective_user
    if message is None or user is None:
        return None
    if not context.is_admin(user.id):
        log.warning("refused %s from user id %s", what, user.id)
        reply_plain(context, message, refusal)
        return None
    return message
