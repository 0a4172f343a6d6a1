"""Telegram handlers for questions and quotes: /ask, plain text, /quote, inline mode, and the
Full passage and More buttons under an answer. The answers come from bot/service.py."""

from __future__ import annotations

import logging

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from index import Reason

from . import buttons, feedback_chat, render_telegram
from .addressing import group_question, is_chitchat, mentions
from .answer import Answer
from .buttons import Kind
from .chat import (
    STALE_BUTTON,
    BotApplication,
    Context,
    answer_query,
    current_press,
    on_stale_button,
    reply,
    reply_plain,
)
from .service import AnswerService

log = logging.getLogger(__name__)

ASK_USAGE = "Usage: /ask your question, for example: /ask What did Peru commit to?"
QUOTE_USAGE = 'Usage: /quote words, or /quote "exact phrase"'
NO_QUOTES = "No quotes in the sources match that."
CHITCHAT_HINT = "Happy to help. Ask me about the sources with /ask and your question."
INLINE_QUERY_CHARS = 256


def register(app: BotApplication) -> None:
    """Add the handlers for questions, quotes, inline mode and the answer buttons."""
    only_new = filters.UpdateType.MESSAGE
    app.add_handler(CommandHandler("ask", on_ask, filters=only_new))
    app.add_handler(CommandHandler("quote", on_quote, filters=only_new))
    app.add_handler(MessageHandler(only_new & filters.TEXT & ~filters.COMMAND, on_text))
    app.add_handler(CallbackQueryHandler(on_passage_button, pattern=buttons.PATTERNS[Kind.PASSAGE]))
    app.add_handler(CallbackQueryHandler(on_more_button, pattern=buttons.PATTERNS[Kind.MORE]))
    app.add_handler(InlineQueryHandler(on_inline))


async def _answer(message: Message, context: Context, question: str) -> None:
    service = context.service
    question = " ".join(question.split())
    if not question:
        reply_plain(context, message, ASK_USAGE)
        return
    answer = await service.answer(question)
    votes = await feedback_chat.record(context, message, answer)
    markup = _answer_buttons(service, answer, votes)
    reply(context, message, render_telegram.answer_messages(answer), markup)


def _answer_buttons(
    service: AnswerService, answer: Answer, votes: list[InlineKeyboardButton] | None = None
) -> InlineKeyboardMarkup | None:
    """Full passage [n] and More for an answer's citations; the vote buttons last."""
    rows: list[list[InlineKeyboardButton]] = []
    if answer.found and answer.citations:
        generation = service.generation
        rows = buttons.rows(
            [buttons.passage(c.n, generation, c.passage_id) for c in answer.citations]
        )
        if answer.has_more:
            key = service.remember(answer.question)
            offset = answer.offset + len(answer.citations)
            rows.append([buttons.more(generation, key, offset)])
    if votes:
        rows.append(votes)
    return InlineKeyboardMarkup(rows) if rows else None


async def on_ask(update: Update, context: Context) -> None:
    """/ask question — in any chat."""
    message = update.message
    if message is None:
        return
    await _answer(message, context, " ".join(context.args or []))


async def on_text(update: Update, context: Context) -> None:
    """Plain text: a question in private chats; in groups only when addressed to the bot."""
    message = update.message
    if message is None or message.text is None:
        return
    if message.chat.type == ChatType.PRIVATE:
        await _answer(message, context, message.text)
        return
    if message.chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
        return
    question = group_question(message, context.bot)
    if question is None:
        return
    if is_chitchat(question):
        # "thanks!" in reply to an answer needs no answer; a bare mention gets a hint.
        if mentions(message, context.bot):
            reply_plain(context, message, CHITCHAT_HINT)
        else:
            log.debug("chit-chat in chat %s: no answer", message.chat_id)
        return
    await _answer(message, context, question)


async def on_quote(update: Update, context: Context) -> None:
    """/quote words, or /quote "exact phrase"."""
    message = update.message
    if message is None:
        return
    query = " ".join(context.args or [])
    if not query.strip():
        reply_plain(context, message, QUOTE_USAGE)
        return
    result = await context.service.quotes(query)
    if not result.cards:
        text = QUOTE_USAGE if result.reason is Reason.NO_TERMS else NO_QUOTES
        reply_plain(context, message, text)
        return
    reply(context, message, render_telegram.quote_messages(result.cards))


async def on_inline(update: Update, context: Context) -> None:
    """@bot words in any chat: up to 10 quote cards."""
    inline = update.inline_query
    if inline is None:
        return
    service = context.service
    query = inline.query[:INLINE_QUERY_CHARS].strip()
    if query:
        cards = (await service.quotes(query, limit=10)).cards
    else:
        cards = await service.notable(limit=5)
    results = [
        InlineQueryResultArticle(
            id=f"{service.generation}:{card.passage_id}:{i}",
            title=render_telegram.inline_title(card),
            description=render_telegram.inline_description(card),
            input_message_content=InputTextMessageContent(render_telegram.quote_block(card)),
        )
        for i, card in enumerate(cards[: render_telegram.INLINE_RESULTS_LIMIT])
    ]
    await context.outbox.call(
        lambda: inline.answer(results, cache_time=30, is_personal=False), "inline answer"
    )


async def on_passage_button(update: Update, context: Context) -> None:
    """ "Full passage [n]": the whole passage an excerpt came from."""
    press = current_press(update, context)
    if press is None:
        await on_stale_button(update, context)
        return
    card = await context.service.passage(int(press.fields["passage"]))
    if card is None or press.message is None:
        await answer_query(context, press.query, STALE_BUTTON)
        return
    await answer_query(context, press.query)
    reply(context, press.message, render_telegram.passage_messages(card))


async def on_more_button(update: Update, context: Context) -> None:
    """ "More": the next citations of an answer."""
    press = current_press(update, context)
    if press is None:
        await on_stale_button(update, context)
        return
    service = context.service
    question = service.recall(press.fields["key"])
    offset = int(press.fields["offset"])
    if question is None or press.message is None or offset < 1:
        await answer_query(context, press.query, STALE_BUTTON)
        return
    answer = await service.answer(question, offset=offset)
    if not answer.citations:
        await answer_query(context, press.query, STALE_BUTTON)
        return
    await answer_query(context, press.query)
    markup = _answer_buttons(service, answer)
    reply(context, press.message, render_telegram.answer_messages(answer), markup)
