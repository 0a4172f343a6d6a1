"""The gate every update passes before any handler: access lists, then question limits.

Registered in group -1 (and the chat-member bookkeeping in -2) by build_application, so a
handler added later in group 0 is covered without doing anything.
"""

from __future__ import annotations

import contextlib
import logging

from telegram import Chat, InlineQueryResultsButton, Update, User
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ChatMemberHandler, TypeHandler

from .addressing import is_addressed
from .chat import BotApplication, Context, answer_query, kind_of, remember, reply_plain
from .config import Config
from .limits import Scope, Verdict

log = logging.getLogger(__name__)

REFUSAL = "Sorry, this bot only answers the people and groups its admins have allowed."
REFUSAL_PRIVATE = REFUSAL + " If you should have access, send your user id ({user_id}) to them."
REFUSAL_INLINE = "This bot is private"
SLOW_DOWN_USER = (
    "Slow down, please: I answer up to {limit} questions {per} from each person. "
    "Ask again in {wait} s."
)
SLOW_DOWN_CHAT = (
    "This chat is asking faster than I can answer (up to {limit} questions {per}). "
    "Ask again in {wait} s."
)


def register(app: BotApplication) -> None:
    """Bookkeeping first (group -2), then the gate (group -1)."""
    app.add_handler(ChatMemberHandler(on_my_chat_member), group=-2)
    app.add_handler(TypeHandler(Update, on_gate), group=-1)


def _allowed(config: Config, user: User | None, chat: Chat | None) -> bool:
    access = config.access
    if access.open:
        return True
    if user is not None and (
        user.id in access.allowed_user_ids or user.id in config.telegram.admin_ids
    ):
        return True
    return chat is not None and chat.id in access.allowed_chat_ids


async def on_gate(update: Update, context: Context) -> None:
    """Every update passes here first: strangers are refused, floods slowed down."""
    config = context.config
    user, chat = update.effective_user, update.effective_chat
    addressed = is_addressed(update, context.bot)
    if not _allowed(config, user, chat):
        if addressed:
            await _refuse(update, context)
        raise ApplicationHandlerStop
    if not addressed or update.inline_query is not None:
        return
    if user is not None and context.is_admin(user.id):
        return
    decision = context.bot_data.limits.check(
        user.id if user is not None else None, chat.id if chat is not None else None
    )
    if decision.verdict is Verdict.ANSWER:
        return
    notice = None
    if decision.verdict is Verdict.NOTICE:
        limits = config.limits
        template, limit = (
            (SLOW_DOWN_USER, limits.user_questions)
            if decision.scope is Scope.USER
            else (SLOW_DOWN_CHAT, limits.chat_questions)
        )
        window = limits.window_seconds
        per = "a minute" if window == 60 else f"every {window:g} s"
        notice = template.format(limit=limit, per=per, wait=max(1, round(decision.retry_in)))
        who = chat if decision.scope is Scope.CHAT else user
        log.info("%s id %s is over its question limit", decision.scope, who.id if who else "?")
    if update.callback_query is not None:
        await answer_query(context, update.callback_query, notice)
    elif notice is not None and update.message is not None:
        reply_plain(context, update.message, notice)
    raise ApplicationHandlerStop


async def _refuse(update: Update, context: Context) -> None:
    user = update.effective_user
    user_id = user.id if user is not None else 0
    if update.callback_query is not None:
        await answer_query(context, update.callback_query, REFUSAL, alert=True)
        return
    if update.inline_query is not None:
        inline = update.inline_query
        button = InlineQueryResultsButton(text=REFUSAL_INLINE, start_parameter="private")
        with contextlib.suppress(TelegramError):
            await inline.answer([], cache_time=300, is_personal=True, button=button)
        return
    message = update.message
    if message is None:
        return
    if not remember(context.bot_data.refused, message.chat_id):
        log.debug("ignored user id %s in chat %s: not allowed", user_id, message.chat_id)
        return
    log.info("refused user id %s in chat %s: not allowed", user_id, message.chat_id)
    private = message.chat.type == ChatType.PRIVATE
    reply_plain(context, message, REFUSAL_PRIVATE.format(user_id=user_id) if private else REFUSAL)


async def on_my_chat_member(update: Update, context: Context) -> None:
    """Blocked by a user or removed from a group: stop writing there; unblocked: resume."""
    change = update.my_chat_member
    if change is None:
        return
    status = change.new_chat_member.status
    if status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):
        context.outbox.block(change.chat.id, kind_of(change.chat))
    else:
        context.outbox.unblock(change.chat.id)
