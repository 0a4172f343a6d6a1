"""Telegram handlers for feedback: 👍 / 👎 under answers, the reasons under 👎, and /stats.

The store is bot/feedback_store.py (no Telegram code). A vote is answered with a notice only the
voter sees; the buttons never show counts, so nobody in a group learns how others voted.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from . import buttons, render_telegram
from .answer import Answer
from .buttons import Choice, Kind
from .chat import (
    BotApplication,
    Context,
    admin_message,
    answer_query,
    kind_of,
    reply,
    reply_plain,
)
from .config import Config
from .feedback import (
    COMPLAINT_LABELS,
    Asker,
    Complaint,
    Recorded,
    Vote,
    worth_recording,
)
from .feedback_store import FeedbackStore

log = logging.getLogger(__name__)

# The vote buttons' data (bot/buttons.py): f:<answer id>:<choice>:<token>; the token binds
# the button to its answer and its chat.
VOTE_DATA = buttons.PATTERNS[Kind.VOTE]
_CHOICES: dict[Choice, tuple[Vote, Complaint | None]] = {
    Choice.UP: (Vote.UP, None),
    Choice.DOWN: (Vote.DOWN, None),
    Choice.WRONG_SOURCE: (Vote.DOWN, Complaint.WRONG_SOURCE),
    Choice.CUT_OFF: (Vote.DOWN, Complaint.CUT_OFF),
    Choice.SHOULD_SAY_NOT_FOUND: (Vote.DOWN, Complaint.SHOULD_SAY_NOT_FOUND),
    Choice.IT_IS_THERE: (Vote.DOWN, Complaint.IT_IS_THERE),
}
# What 👎 on an answer that cited something may mean; a "not found" voted down can only
# mean that the sources do answer it, so it needs no second choice.
_REASON_ROWS = (
    ((Choice.WRONG_SOURCE, "Wrong source"), (Choice.CUT_OFF, "Answer cut off")),
    ((Choice.SHOULD_SAY_NOT_FOUND, "Should say “not found”"),),
)

THANKS_UP = "Thanks! Noted: 👍. You can change your vote at any time."
ASK_REASON = "Thanks. Noted: 👎. What was wrong? Pick a reason under the answer, if you like."
THANKS_DOWN = "Thanks. Noted: 👎 ({reason})."
VOTE_REFUSED = "Sorry, I can no longer take a vote on this answer."
FEEDBACK_OFF = "Sorry, feedback is turned off for this bot."
NOT_ADMIN = "Sorry, only the bot's admins can see the statistics."
STATS_IN_PRIVATE = (
    "Please send /stats in a private chat with me: it shows questions asked in every chat."
)
STATS_OFF = "Feedback is turned off ([feedback] enabled = false): nothing is recorded."


def register(app: BotApplication) -> None:
    """Add the handlers for vote buttons and /stats."""
    app.add_handler(CallbackQueryHandler(on_vote, pattern=VOTE_DATA))
    app.add_handler(CommandHandler("stats", on_stats, filters=filters.UpdateType.MESSAGE))


def open_store(config: Config) -> FeedbackStore | None:
    """The feedback store the configuration asks for; None when feedback is off."""
    if not config.feedback.enabled:
        return None
    return FeedbackStore.open(config.feedback_path, config.feedback.store_ids)


async def record(context: Context, message: Message, answer: Answer) -> list[InlineKeyboardButton]:
    """Record an answer about to be sent in reply to message; the vote buttons for it.

    No buttons when feedback is off, when the answer is not one to rate, or when the store
    cannot be written (the answer is sent all the same).
    """
    store = context.bot_data.feedback
    if store is None or not worth_recording(answer):
        return []
    user = message.from_user
    asker = Asker(str(message.chat.type), message.chat_id, user.id if user is not None else 0)
    generation = context.service.generation
    try:
        answer_id = await asyncio.to_thread(store.record_answer, answer, generation, asker)
    except Exception as exc:  # feedback must never cost the answer
        log.warning("feedback: could not record an answer: %s", exc)
        return []
    return _vote_row(answer_id, store.vote_token(answer_id, message.chat_id))


def _vote_row(answer_id: int, token: str) -> list[InlineKeyboardButton]:
    return [
        buttons.vote(answer_id, Choice.UP, token, "👍"),
        buttons.vote(answer_id, Choice.DOWN, token, "👎"),
    ]


def _reason_rows(answer_id: int, token: str) -> list[list[InlineKeyboardButton]]:
    return [[buttons.vote(answer_id, c, token, label) for c, label in row] for row in _REASON_ROWS]


async def on_vote(update: Update, context: Context) -> None:
    """👍, 👎 or a reason under an answer: stored (or changed) for this person."""
    query = update.callback_query
    if query is None or not context.matches:
        return
    store = context.bot_data.feedback
    if store is None:
        await answer_query(context, query, FEEDBACK_OFF)
        return
    fields = context.matches[0]
    answer_id, choice, token = int(fields["answer"]), Choice(fields["choice"]), fields["token"]
    where = query.message
    if where is None or not store.token_matches(answer_id, where.chat.id, token):
        log.info("refused a vote that was not made for this chat (answer %s)", answer_id)
        await answer_query(context, query, VOTE_REFUSED)
        return
    vote, complaint = _CHOICES[choice]
    recorded = await asyncio.to_thread(
        store.record_vote, answer_id, query.from_user.id, vote, complaint
    )
    if recorded is None:
        log.info("refused a vote on answer %s: it is not in the feedback store", answer_id)
        await answer_query(context, query, VOTE_REFUSED)
        return
    # The reasons unfold under the answer; a message too old to edit gets the thanks alone.
    editable = isinstance(where, Message) and where.is_accessible
    ask_reason = (
        editable and recorded.vote is Vote.DOWN and recorded.found and recorded.complaint is None
    )
    await answer_query(context, query, _thanks(recorded, ask_reason))
    if editable and isinstance(where, Message):
        _show_buttons(context, where, answer_id, token, ask_reason)


def _thanks(recorded: Recorded, ask_reason: bool) -> str:
    if recorded.vote is Vote.UP:
        return THANKS_UP
    if ask_reason:
        return ASK_REASON
    reason = COMPLAINT_LABELS[recorded.complaint] if recorded.complaint else "no reason given"
    return THANKS_DOWN.format(reason=reason)


def _show_buttons(
    context: Context, message: Message, answer_id: int, token: str, ask_reason: bool
) -> None:
    """The answer's buttons with the reasons under 👎 shown or folded away again."""
    current = message.reply_markup
    rows = [
        list(row)
        for row in (current.inline_keyboard if current is not None else ())
        if not any(buttons.is_vote(b) for b in row)
    ]
    rows.append(_vote_row(answer_id, token))
    if ask_reason:
        rows.extend(_reason_rows(answer_id, token))
    markup = InlineKeyboardMarkup(rows)
    if current is not None and markup.to_dict() == current.to_dict():
        return  # nothing to change (Telegram refuses an edit that changes nothing)
    context.outbox.post(
        message.chat_id,
        kind_of(message.chat),
        lambda: message.edit_reply_markup(markup),
        "feedback buttons",
    )


async def on_stats(update: Update, context: Context) -> None:
    """/stats: questions per day, the answered share, votes, the most asked gaps; admins only."""
    message = admin_message(update, context, "/stats", NOT_ADMIN)
    if message is None:
        return
    if message.chat.type != ChatType.PRIVATE:
        reply_plain(context, message, STATS_IN_PRIVATE)
        return
    store = context.bot_data.feedback
    if store is None:
        reply_plain(context, message, STATS_OFF)
        return
    stats = await asyncio.to_thread(store.stats)
    reply(context, message, [render_telegram.stats_message(stats)])
