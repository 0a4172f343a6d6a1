"""The Telegram layer: handlers that turn updates into answers, over python-telegram-bot."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlparse

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from index import NO_TERMS, ReindexBusyError, SearchIndexError

from . import logs, messages, sources_chat
from .answer import Answer
from .config import Config
from .corpus import report_lines
from .service import AnswerService

log = logging.getLogger(__name__)

COMMANDS = [
    BotCommand("ask", "Ask the sources a question"),
    BotCommand("quote", 'Verbatim quotes for words or an "exact phrase"'),
    BotCommand("sources", "List the indexed sources"),
    BotCommand("help", "What this bot does"),
]
ALLOWED_UPDATES = ["message", "callback_query", "inline_query"]
APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."
STALE_BUTTON = "This button has expired. Please ask again."
ASK_USAGE = "Usage: /ask your question, for example: /ask What did Peru commit to?"
QUOTE_USAGE = 'Usage: /quote words, or /quote "exact phrase"'
NO_QUOTES = "No quotes in the sources match that."
NOT_ADMIN = "Sorry, only the bot's admins can reindex."
BUSY = "A reindex is already running; I will report when it is done."
REINDEX_STARTED = "Reindexing… scanning the corpus folder."
INLINE_QUERY_CHARS = 256
PROGRESS_INTERVAL_S = 1.0
SEND_ATTEMPTS = 4

T = TypeVar("T")
Context = ContextTypes.DEFAULT_TYPE
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def build_application(config: Config) -> Application:  # type: ignore[type-arg]
    """The python-telegram-bot application with every handler wired to one AnswerService."""
    logs.protect([config.telegram.token, config.telegram.webhook_secret])
    service = AnswerService(config)

    async def post_init(app: Application) -> None:  # type: ignore[type-arg]
        await service.open()
        await _with_retries(lambda: app.bot.set_my_commands(COMMANDS))

    async def post_shutdown(app: Application) -> None:  # type: ignore[type-arg]
        await service.close()

    builder = (
        ApplicationBuilder()
        .token(config.telegram.token)
        .rate_limiter(AIORateLimiter(max_retries=5))
        .read_timeout(config.telegram.request_timeout)
        .write_timeout(config.telegram.request_timeout)
        .connect_timeout(min(config.telegram.request_timeout, 10.0))
        .pool_timeout(config.telegram.request_timeout)
        .concurrent_updates(True)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if config.telegram.api_base_url:
        base = config.telegram.api_base_url.rstrip("/")
        builder = builder.base_url(base).base_file_url(_file_url(base))
    app = builder.build()
    app.bot_data["service"] = service
    app.bot_data["config"] = config

    only_new = filters.UpdateType.MESSAGE
    app.add_handler(CommandHandler(["start", "help"], on_help, filters=only_new))
    app.add_handler(CommandHandler("ask", on_ask, filters=only_new))
    app.add_handler(CommandHandler("quote", on_quote, filters=only_new))
    app.add_handler(CommandHandler("sources", on_sources, filters=only_new))
    app.add_handler(CommandHandler("reindex", on_reindex, filters=only_new))
    sources_chat.register(app)
    app.add_handler(MessageHandler(only_new & filters.TEXT & ~filters.COMMAND, on_text))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(InlineQueryHandler(on_inline))
    app.add_error_handler(on_error)
    return app


def webhook_options(config: Config) -> dict[str, Any]:
    """Arguments for python-telegram-bot's webhook server, from the configuration."""
    tg = config.telegram
    return {
        "listen": tg.webhook_listen,
        "port": tg.webhook_port,
        "url_path": urlparse(tg.webhook_url).path.lstrip("/"),
        "webhook_url": tg.webhook_url,
        "secret_token": tg.webhook_secret or None,
        "allowed_updates": ALLOWED_UPDATES,
    }


def _file_url(base: str) -> str:
    head, sep, tail = base.rpartition("/bot")
    return f"{head}/file/bot" if sep and not tail else base + "/file"


def _service(context: Context) -> AnswerService:
    service: AnswerService = context.bot_data["service"]
    return service


def _config(context: Context) -> Config:
    config: Config = context.bot_data["config"]
    return config


async def _with_retries(call: Callable[[], Awaitable[T]]) -> T:
    """Retry a Bot API call through network faults and flood waits; bad requests are final."""
    delay = 0.5
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return await call()
        except RetryAfter as exc:
            if attempt == SEND_ATTEMPTS:
                raise
            await asyncio.sleep(_seconds(exc.retry_after))
        except BadRequest:
            raise
        except NetworkError:
            if attempt == SEND_ATTEMPTS:
                raise
            await asyncio.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]


async def _reply(
    message: Message, texts: list[str], markup: InlineKeyboardMarkup | None = None
) -> None:
    """Reply with one or more HTML messages, quoting the question; buttons go on the last."""
    for i, text in enumerate(texts):
        last = i == len(texts) - 1

        async def send(text: str = text, first: bool = i == 0, last: bool = last) -> Message:
            return await message.reply_html(
                text,
                do_quote=first,
                reply_markup=markup if last else None,
                link_preview_options=_NO_PREVIEW,
            )

        await _with_retries(send)


async def _reply_plain(message: Message, text: str) -> None:
    await _with_retries(lambda: message.reply_text(text, do_quote=True))


# ---------------------------------------------------------------- questions


async def _answer(message: Message, context: Context, question: str) -> None:
    service = _service(context)
    question = " ".join(question.split())
    if not question:
        await _reply_plain(message, ASK_USAGE)
        return
    answer = await service.answer(question)
    await _reply(message, messages.answer_messages(answer), _answer_buttons(service, answer))


def _answer_buttons(service: AnswerService, answer: Answer) -> InlineKeyboardMarkup | None:
    if not answer.found:
        return None
    generation = service.generation
    rows = [
        [
            InlineKeyboardButton(
                f"Full passage [{c.n}]", callback_data=f"p:{generation}:{c.passage_id}"
            )
            for c in answer.citations
        ]
    ]
    if answer.has_more:
        key = service.remember(answer.question)
        offset = answer.offset + len(answer.citations)
        rows.append([InlineKeyboardButton("More", callback_data=f"m:{generation}:{key}:{offset}")])
    return InlineKeyboardMarkup(rows)


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
    question = _addressed_question(message, context)
    if question is not None:
        await _answer(message, context, question)


def _addressed_question(message: Message, context: Context) -> str | None:
    """The question when a group message mentions the bot or replies to it, else None."""
    text = message.text or ""
    bot = context.bot
    username = (bot.username or "").casefold()
    mentioned = False
    spans: list[tuple[int, int]] = []
    for entity, value in message.parse_entities(
        [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
    ).items():
        is_bot = (entity.type == MessageEntity.MENTION and value.casefold() == f"@{username}") or (
            entity.type == MessageEntity.TEXT_MENTION
            and entity.user is not None
            and entity.user.id == bot.id
        )
        if is_bot:
            mentioned = True
            spans.append((entity.offset, entity.offset + entity.length))
    replied = message.reply_to_message is not None and (
        message.reply_to_message.from_user is not None
        and message.reply_to_message.from_user.id == bot.id
    )
    if not mentioned and not replied:
        return None
    if spans:
        # Entity offsets count UTF-16 units.
        encoded = text.encode("utf-16-le")
        for start, end in sorted(spans, reverse=True):
            encoded = encoded[: start * 2] + b" \x00" + encoded[end * 2 :]
        text = encoded.decode("utf-16-le")
    return text


# ---------------------------------------------------------------- quotes


async def on_quote(update: Update, context: Context) -> None:
    """/quote words, or /quote "exact phrase"."""
    message = update.message
    if message is None:
        return
    query = " ".join(context.args or [])
    if not query.strip():
        await _reply_plain(message, QUOTE_USAGE)
        return
    result = await _service(context).quotes(query)
    if not result.quotes:
        text = QUOTE_USAGE if result.reason == NO_TERMS else NO_QUOTES
        await _reply_plain(message, text)
        return
    await _reply(message, messages.quote_messages(result.quotes))


async def on_inline(update: Update, context: Context) -> None:
    """@bot words in any chat: up to 10 quote cards."""
    inline = update.inline_query
    if inline is None:
        return
    service = _service(context)
    query = inline.query[:INLINE_QUERY_CHARS].strip()
    if query:
        quotes = (await service.quotes(query, limit=10)).quotes
    else:
        quotes = await service.notable(limit=5)
    results = [
        InlineQueryResultArticle(
            id=f"{service.generation}:{q.passage_id}:{i}",
            title=messages.inline_title(q),
            description=messages.inline_description(q),
            input_message_content=InputTextMessageContent(
                messages.quote_block(q), parse_mode=ParseMode.HTML, link_preview_options=_NO_PREVIEW
            ),
        )
        for i, q in enumerate(quotes[: messages.INLINE_RESULTS_LIMIT])
    ]
    await _with_retries(lambda: inline.answer(results, cache_time=30, is_personal=False))


# ---------------------------------------------------------------- buttons


async def on_button(update: Update, context: Context) -> None:
    """ "More" and "Full passage" buttons; anything forged or stale gets a short notice."""
    query = update.callback_query
    if query is None:
        return
    service = _service(context)
    parts = (query.data or "").split(":")
    message = query.message if isinstance(query.message, Message) else None
    if not parts or parts[0] not in ("m", "p") or len(parts) < 3 or parts[1] != service.generation:
        await _with_retries(lambda: query.answer(STALE_BUTTON, show_alert=False))
        return
    if parts[0] == "p" and len(parts) == 3 and parts[2].isdigit():
        passage = await service.passage(int(parts[2]))
        if passage is None or message is None:
            await _with_retries(lambda: query.answer(STALE_BUTTON))
            return
        await _with_retries(query.answer)
        await _reply(message, messages.passage_messages(passage))
        return
    if parts[0] == "m" and len(parts) == 4 and parts[3].isdigit():
        question = service.recall(parts[2])
        if question is None or message is None:
            await _with_retries(lambda: query.answer(STALE_BUTTON))
            return
        await _with_retries(query.answer)
        answer = await service.answer(question, offset=int(parts[3]))
        await _reply(message, messages.answer_messages(answer), _answer_buttons(service, answer))
        return
    await _with_retries(lambda: query.answer(STALE_BUTTON))


# ---------------------------------------------------------------- sources, help, reindex


async def on_sources(update: Update, context: Context) -> None:
    """/sources: the indexed sources with dates and passage counts."""
    message = update.message
    if message is None:
        return
    index = _service(context).index
    await _reply(message, messages.sources_messages(index.sources(), len(index.skipped())))


async def on_help(update: Update, context: Context) -> None:
    """/start and /help: what the bot does, with an example question."""
    message = update.message
    if message is None:
        return
    service = _service(context)
    example = await service.example_question()
    text = messages.help_message(
        context.bot.username or "bot", len(service.index.sources()), example
    )
    await _reply(message, [text])


async def on_reindex(update: Update, context: Context) -> None:
    """/reindex: rebuild the index from the corpus folder; admins only."""
    message = update.message
    user = update.effective_user
    if message is None or user is None:
        return
    if user.id not in _config(context).telegram.admin_ids:
        log.warning("refused /reindex from user id %s", user.id)
        await _reply_plain(message, NOT_ADMIN)
        return
    service = _service(context)
    if service.reindexing:
        await _reply_plain(message, BUSY)
        return
    status = await _with_retries(lambda: message.reply_text(REINDEX_STARTED, do_quote=True))
    progress: list[tuple[int, int]] = [(0, 0)]

    def on_progress(done: int, total: int) -> None:
        progress[0] = (done, total)  # read by the ticker on the event loop

    ticker = asyncio.create_task(_report_progress(status, progress))
    started = time.perf_counter()
    try:
        outcome = await service.reindex(on_progress)
    except ReindexBusyError:
        ticker.cancel()
        await _reply_plain(message, BUSY)
        return
    except (SearchIndexError, OSError) as exc:
        ticker.cancel()
        log.warning("reindex failed: %s", exc)
        text = f"Reindex failed: {exc}\nStill answering from the previous index."
        await _edit(status, messages.html_text(messages.trim(text, 3000)))
        return
    ticker.cancel()
    lines = report_lines(outcome.report, limit=10)
    lines.append(f"Now serving {outcome.sources} source(s), {outcome.passages} passage(s).")
    log.info("reindex by user id %s done in %.2f s", user.id, time.perf_counter() - started)
    await _edit(status, messages.reindex_report(lines))


async def _report_progress(status: Message, progress: list[tuple[int, int]]) -> None:
    shown = ""
    while True:
        await asyncio.sleep(PROGRESS_INTERVAL_S)
        done, total = progress[0]
        text = (
            f"Reindexing… {done}/{total} files"
            if total
            else "Reindexing… scanning the corpus folder."
        )
        if text != shown:
            shown = text
            try:
                await status.edit_text(text)
            except TelegramError as exc:  # progress is best effort; the result is sent anyway
                log.debug("progress edit failed: %s", exc)


async def _edit(status: Message, html: str) -> None:
    await _with_retries(
        lambda: status.edit_text(html, parse_mode=ParseMode.HTML, link_preview_options=_NO_PREVIEW)
    )


# ---------------------------------------------------------------- errors


async def on_error(update: object, context: Context) -> None:
    """Log every unhandled error with its traceback and apologise to the user."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update):
        if update.effective_message is not None and update.callback_query is None:
            try:
                await update.effective_message.reply_text(APOLOGY)
            except TelegramError:
                log.warning("could not send the apology")
        elif update.callback_query is not None:
            try:
                await update.callback_query.answer(APOLOGY)
            except TelegramError:
                log.warning("could not answer the callback query")
