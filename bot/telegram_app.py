"""The Telegram layer: handlers that turn updates into answers, over python-telegram-bot."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import secrets
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlparse

import httpx
from telegram import (
    BotCommand,
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    Message,
    Update,
    User,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from index import NO_TERMS, ReindexBusyError, SearchIndexError, SwapRefusedError

from . import feedback_chat, logs, render_telegram, sources_chat, views
from .addressing import group_question, is_addressed, is_chitchat, mentions
from .answer import Answer
from .chat import (
    BotApplication,
    BotData,
    Context,
    answer_query,
    kind_of,
    remember,
    reply,
    reply_plain,
)
from .config import Config
from .delivery import Clock, MonotonicClock, Outbox, seconds
from .limits import QuestionLimits, Scope, Verdict
from .service import AnswerService
from .views import ReindexStatus

log = logging.getLogger(__name__)

COMMANDS = [
    BotCommand("ask", "Ask the sources a question"),
    BotCommand("quote", 'Verbatim quotes for words or an "exact phrase"'),
    BotCommand("sources", "List the indexed sources"),
    BotCommand("help", "What this bot does"),
]
ALLOWED_UPDATES = ["message", "callback_query", "inline_query", "my_chat_member"]
APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."
STALE_BUTTON = "This button has expired. Please ask again."
ASK_USAGE = "Usage: /ask your question, for example: /ask What did Peru commit to?"
QUOTE_USAGE = 'Usage: /quote words, or /quote "exact phrase"'
NO_QUOTES = "No quotes in the sources match that."
NOT_ADMIN = "Sorry, only the bot's admins can reindex."
BUSY = "A reindex is already running; I will report when it is done."
REINDEX_USAGE = "Usage: /reindex, or /reindex force to swap in an index with far fewer sources."
REINDEX_STARTED = "Reindexing… scanning the corpus folder."
STILL_SERVING = "the previous index is still answering."
REFUSAL = "Sorry, this bot only answers the people and groups its admins have allowed."
REFUSAL_PRIVATE = REFUSAL + " If you should have access, send your user id ({user_id}) to them."
REFUSAL_INLINE = "This bot is private"
CHITCHAT_HINT = "Happy to help. Ask me about the sources with /ask and your question."
SLOW_DOWN_USER = (
    "Slow down, please: I answer up to {limit} questions {per} from each person. "
    "Ask again in {wait} s."
)
SLOW_DOWN_CHAT = (
    "This chat is asking faster than I can answer (up to {limit} questions {per}). "
    "Ask again in {wait} s."
)
INLINE_QUERY_CHARS = 256
PROGRESS_INTERVAL_S = 1.0
CALL_ATTEMPTS = 4
CALL_MAX_WAIT_S = 30.0
BUTTONS_PER_ROW = 3
SHUTDOWN_GRACE_S = 5.0

# Callback data: ASCII digits only, bounded lengths, nothing else after.
PASSAGE_DATA = re.compile(r"p:([0-9a-f]{8}):([0-9]{1,12})\Z", re.ASCII)
MORE_DATA = re.compile(r"m:([0-9a-f]{8}):([A-Za-z0-9_-]{1,16}):([0-9]{1,4})\Z", re.ASCII)
SOURCES_DATA = re.compile(r"s:([0-9a-f]{8}):([0-9]{1,5})\Z", re.ASCII)

T = TypeVar("T")
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def build_application(config: Config, clock: Clock | None = None) -> BotApplication:
    """The python-telegram-bot application with every handler wired to one AnswerService."""
    logs.protect([config.telegram.token, config.telegram.webhook_secret])
    clock = clock or MonotonicClock()
    service = AnswerService(config)
    outbox = Outbox(config.delivery, clock)

    async def post_init(app: BotApplication) -> None:
        await service.open()
        app.bot_data.feedback = await asyncio.to_thread(feedback_chat.open_store, config)
        await _with_retries(lambda: app.bot.set_my_commands(COMMANDS))

    async def post_stop(app: BotApplication) -> None:
        await outbox.close(SHUTDOWN_GRACE_S)

    async def post_shutdown(app: BotApplication) -> None:
        await service.close()
        store, app.bot_data.feedback = app.bot_data.feedback, None
        if store is not None:
            store.close()

    timeout = config.telegram.request_timeout
    tls = {"verify": _tls_context()}
    builder = (
        ApplicationBuilder()
        .token(config.telegram.token)
        .context_types(ContextTypes(bot_data=BotData))
        .defaults(Defaults(allow_sending_without_reply=True, link_preview_options=_NO_PREVIEW))
        .job_queue(None)
        # python-telegram-bot's own choices (256 connections, one for getUpdates with its
        # default timeouts), with one TLS context for both clients.
        .request(
            HTTPXRequest(
                connection_pool_size=256,
                read_timeout=timeout,
                write_timeout=timeout,
                connect_timeout=min(timeout, 10.0),
                pool_timeout=timeout,
                httpx_kwargs=tls,
            )
        )
        .get_updates_request(HTTPXRequest(connection_pool_size=1, httpx_kwargs=tls))
        .concurrent_updates(True)
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    if config.telegram.api_base_url:
        base = config.telegram.api_base_url.rstrip("/")
        builder = builder.base_url(base).base_file_url(_file_url(base))
    app = builder.build()
    data = app.bot_data
    data.config, data.service, data.outbox, data.clock = config, service, outbox, clock
    data.limits = QuestionLimits(config.limits, clock)

    # Bookkeeping first, then the gate every other update passes (access, question limits):
    # handlers added later in group 0 are covered without doing anything.
    app.add_handler(ChatMemberHandler(on_my_chat_member), group=-2)
    app.add_handler(TypeHandler(Update, on_gate), group=-1)
    only_new = filters.UpdateType.MESSAGE
    app.add_handler(CommandHandler(["start", "help"], on_help, filters=only_new))
    app.add_handler(CommandHandler("ask", on_ask, filters=only_new))
    app.add_handler(CommandHandler("quote", on_quote, filters=only_new))
    app.add_handler(CommandHandler("sources", on_sources, filters=only_new))
    app.add_handler(CommandHandler("reindex", on_reindex, filters=only_new))
    sources_chat.register(app)
    feedback_chat.register(app)
    app.add_handler(MessageHandler(only_new & filters.TEXT & ~filters.COMMAND, on_text))
    app.add_handler(CallbackQueryHandler(on_passage_button, pattern=PASSAGE_DATA))
    app.add_handler(CallbackQueryHandler(on_more_button, pattern=MORE_DATA))
    app.add_handler(CallbackQueryHandler(on_sources_button, pattern=SOURCES_DATA))
    app.add_handler(CallbackQueryHandler(on_stale_button))
    app.add_handler(InlineQueryHandler(on_inline))
    app.add_error_handler(on_error)
    return app


def webhook_options(config: Config) -> dict[str, Any]:
    """Arguments for python-telegram-bot's webhook server, from the configuration.

    Without a configured secret, a strong one is made for this run and given to Telegram
    with setWebhook: the webhook never accepts updates without it.
    """
    tg = config.telegram
    secret = tg.webhook_secret
    if not secret:
        secret = secrets.token_urlsafe(32)
        log.info("webhook: no webhook_secret configured; using a new random one for this run")
    logs.protect([secret])
    return {
        "listen": tg.webhook_listen,
        "port": tg.webhook_port,
        "url_path": urlparse(tg.webhook_url).path.lstrip("/"),
        "webhook_url": tg.webhook_url,
        "secret_token": secret,
        "allowed_updates": ALLOWED_UPDATES,
    }


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The TLS context of every Bot API client in this process, made once: reading the CA
    bundle costs more than building the rest of an application (httpx makes one per client).
    """
    return httpx.create_ssl_context()


def _file_url(base: str) -> str:
    head, sep, tail = base.rpartition("/bot")
    return f"{head}/file/bot" if sep and not tail else base + "/file"


def _service(context: Context) -> AnswerService:
    return context.bot_data.service


def _config(context: Context) -> Config:
    return context.bot_data.config


async def _with_retries(call: Callable[[], Awaitable[T]]) -> T:
    """A Bot API call that is not a chat message: flood waits and network faults retried.

    Chat messages go through the Outbox instead, which paces them per chat.
    """
    delay = 0.5
    waited = 0.0
    for attempt in range(1, CALL_ATTEMPTS + 1):
        try:
            return await call()
        except RetryAfter as exc:
            wait = seconds(exc.retry_after)
            if attempt == CALL_ATTEMPTS or waited + wait > CALL_MAX_WAIT_S:
                raise
            waited += wait
            await asyncio.sleep(wait)
        except BadRequest:
            raise
        except NetworkError:
            if attempt == CALL_ATTEMPTS:
                raise
            await asyncio.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- the gate


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
    data = context.bot_data
    user, chat = update.effective_user, update.effective_chat
    addressed = is_addressed(update, context.bot)
    if not _allowed(data.config, user, chat):
        if addressed:
            await _refuse(update, context)
        raise ApplicationHandlerStop
    if not addressed or update.inline_query is not None:
        return
    if user is not None and user.id in data.config.telegram.admin_ids:
        return
    decision = data.limits.check(
        user.id if user is not None else None, chat.id if chat is not None else None
    )
    if decision.verdict is Verdict.ANSWER:
        return
    notice = None
    if decision.verdict is Verdict.NOTICE:
        limits = data.config.limits
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
    outbox = context.bot_data.outbox
    if status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):
        outbox.block(change.chat.id, kind_of(change.chat))
    else:
        outbox.unblock(change.chat.id)


# ---------------------------------------------------------------- questions


async def _answer(message: Message, context: Context, question: str) -> None:
    service = _service(context)
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
        buttons = [
            InlineKeyboardButton(
                f"Full passage [{c.n}]", callback_data=f"p:{generation}:{c.passage_id}"
            )
            for c in answer.citations
        ]
        rows = [buttons[i : i + BUTTONS_PER_ROW] for i in range(0, len(buttons), BUTTONS_PER_ROW)]
        if answer.has_more:
            key = service.remember(answer.question)
            offset = answer.offset + len(answer.citations)
            more = f"m:{generation}:{key}:{offset}"
            rows.append([InlineKeyboardButton("More", callback_data=more)])
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


# ---------------------------------------------------------------- quotes


async def on_quote(update: Update, context: Context) -> None:
    """/quote words, or /quote "exact phrase"."""
    message = update.message
    if message is None:
        return
    query = " ".join(context.args or [])
    if not query.strip():
        reply_plain(context, message, QUOTE_USAGE)
        return
    result = await _service(context).quotes(query)
    if not result.cards:
        text = QUOTE_USAGE if result.reason == NO_TERMS else NO_QUOTES
        reply_plain(context, message, text)
        return
    reply(context, message, render_telegram.quote_messages(result.cards))


async def on_inline(update: Update, context: Context) -> None:
    """@bot words in any chat: up to 10 quote cards."""
    inline = update.inline_query
    if inline is None:
        return
    service = _service(context)
    query = inline.query[:INLINE_QUERY_CHARS].strip()
    if query:
        quotes = (await service.quotes(query, limit=10)).cards
    else:
        quotes = await service.notable(limit=5)
    results = [
        InlineQueryResultArticle(
            id=f"{service.generation}:{q.passage_id}:{i}",
            title=render_telegram.inline_title(q),
            description=render_telegram.inline_description(q),
            input_message_content=InputTextMessageContent(
                render_telegram.quote_block(q), parse_mode=ParseMode.HTML
            ),
        )
        for i, q in enumerate(quotes[: render_telegram.INLINE_RESULTS_LIMIT])
    ]
    await _with_retries(lambda: inline.answer(results, cache_time=30, is_personal=False))


# ---------------------------------------------------------------- buttons


def _button(update: Update, context: Context) -> tuple[CallbackQuery, Message | None, Any] | None:
    """The press, its message and the data's groups, when made by the current index."""
    query = update.callback_query
    if query is None or not context.matches:
        return None
    match = context.matches[0]
    message = query.message if isinstance(query.message, Message) else None
    if match.group(1) != _service(context).generation:
        return None
    return query, message, match


async def on_passage_button(update: Update, context: Context) -> None:
    """ "Full passage [n]": the whole passage an excerpt came from."""
    pressed = _button(update, context)
    if pressed is None:
        await on_stale_button(update, context)
        return
    query, message, match = pressed
    passage = await _service(context).passage(int(match.group(2)))
    if passage is None or message is None:
        await answer_query(context, query, STALE_BUTTON)
        return
    await answer_query(context, query)
    reply(context, message, render_telegram.passage_messages(passage))


async def on_more_button(update: Update, context: Context) -> None:
    """ "More": the next citations of an answer."""
    pressed = _button(update, context)
    if pressed is None:
        await on_stale_button(update, context)
        return
    query, message, match = pressed
    service = _service(context)
    question = service.recall(match.group(2))
    offset = int(match.group(3))
    if question is None or message is None or offset < 1:
        await answer_query(context, query, STALE_BUTTON)
        return
    answer = await service.answer(question, offset=offset)
    if not answer.citations:
        await answer_query(context, query, STALE_BUTTON)
        return
    await answer_query(context, query)
    reply(
        context, message, render_telegram.answer_messages(answer), _answer_buttons(service, answer)
    )


async def on_sources_button(update: Update, context: Context) -> None:
    """ "‹ Previous" and "Next ›" under /sources: turn the page in place."""
    pressed = _button(update, context)
    if pressed is None:
        await on_stale_button(update, context)
        return
    query, message, match = pressed
    pages = await _source_pages(context)
    page = int(match.group(2))
    if message is None or page >= len(pages):
        await answer_query(context, query, STALE_BUTTON)
        return
    await answer_query(context, query)
    markup = _page_buttons(_service(context).generation, page, len(pages))
    context.bot_data.outbox.post(
        message.chat_id,
        kind_of(message.chat),
        lambda: message.edit_text(pages[page], parse_mode=ParseMode.HTML, reply_markup=markup),
        "page",
    )


async def on_stale_button(update: Update, context: Context) -> None:
    """Buttons of an older index, and anything forged: a short notice."""
    if update.callback_query is not None:
        await answer_query(context, update.callback_query, STALE_BUTTON)


# ---------------------------------------------------------------- sources, help, reindex


async def _source_pages(context: Context) -> list[str]:
    data = context.bot_data
    service = data.service
    generation = service.generation
    if data.source_pages is None or data.source_pages[0] != generation:
        listing = await service.sources()
        # Formatting thousands of sources is work too: off the event loop like the reading.
        pages = await asyncio.to_thread(render_telegram.sources_pages, listing)
        data.source_pages = (generation, pages)
    return data.source_pages[1]


def _page_buttons(generation: str, page: int, pages: int) -> InlineKeyboardMarkup | None:
    row = []
    if page > 0:
        row.append(InlineKeyboardButton("‹ Previous", callback_data=f"s:{generation}:{page - 1}"))
    if page + 1 < pages:
        row.append(InlineKeyboardButton("Next ›", callback_data=f"s:{generation}:{page + 1}"))
    return InlineKeyboardMarkup([row]) if row else None


async def on_sources(update: Update, context: Context) -> None:
    """/sources: the indexed sources with dates and passage counts, one page at a time."""
    message = update.message
    if message is None:
        return
    pages = await _source_pages(context)
    markup = _page_buttons(_service(context).generation, 0, len(pages))
    reply(context, message, [pages[0]], markup)


async def on_help(update: Update, context: Context) -> None:
    """/start and /help: what the bot does, with an example question."""
    message = update.message
    if message is None:
        return
    service = _service(context)
    example = await service.example_question()
    text = render_telegram.help_message(
        context.bot.username or "bot", len(service.index.sources()), example
    )
    reply(context, message, [text])


async def on_reindex(update: Update, context: Context) -> None:
    """/reindex [force]: rebuild the index from the corpus folder; admins only."""
    message = update.message
    user = update.effective_user
    if message is None or user is None:
        return
    if user.id not in _config(context).telegram.admin_ids:
        log.warning("refused /reindex from user id %s", user.id)
        reply_plain(context, message, NOT_ADMIN)
        return
    args = [a.casefold() for a in context.args or []]
    if args not in ([], ["force"]):
        reply_plain(context, message, REINDEX_USAGE)
        return
    service = _service(context)
    if service.reindexing:
        reply_plain(context, message, BUSY)
        return
    outbox = context.bot_data.outbox
    kind = kind_of(message.chat)
    status = await outbox.send(
        message.chat_id, kind, lambda: message.reply_text(REINDEX_STARTED, do_quote=True)
    )
    progress: list[tuple[int, int]] = [(0, 0)]

    def on_progress(done: int, total: int) -> None:
        progress[0] = (done, total)  # read by the ticker on the event loop

    ticker = asyncio.create_task(
        _report_progress(context, status, progress), name="reindex-progress"
    )
    started = time.perf_counter()
    try:
        outcome = await service.reindex(on_progress, force=args == ["force"])
    except ReindexBusyError:
        report = views.reindex_ended(ReindexStatus.BUSY, BUSY)
    except SwapRefusedError as exc:
        log.warning("reindex refused: %s", exc)
        report = views.reindex_ended(
            ReindexStatus.REFUSED,
            f"Reindex refused: {exc}: send /reindex force to swap it in anyway; {STILL_SERVING}",
        )
    except SearchIndexError as exc:
        log.warning("reindex failed: %s", exc)
        report = views.reindex_ended(
            ReindexStatus.FAILED, f"Reindex failed: {exc}; {STILL_SERVING}"
        )
    except Exception:
        # The status must end in done or failed whatever went wrong; the log has the rest.
        log.exception("reindex failed")
        report = views.reindex_ended(
            ReindexStatus.FAILED,
            f"Reindex failed: an unexpected error (details in the bot's log); {STILL_SERVING}",
        )
    else:
        log.info("reindex by user id %s done in %.2f s", user.id, time.perf_counter() - started)
        report = views.reindex_done(outcome.report, outcome.sources, outcome.passages)
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
    await _finish_status(context, message, status, render_telegram.reindex_message(report))


async def _report_progress(
    context: Context, status: Message | None, progress: list[tuple[int, int]]
) -> None:
    if status is None:
        return
    clock = context.bot_data.clock
    outbox = context.bot_data.outbox
    shown = ""
    while True:
        await clock.sleep(PROGRESS_INTERVAL_S)
        done, total = progress[0]
        text = f"Reindexing… {done}/{total} files" if total else REINDEX_STARTED
        if text != shown and outbox.backlog(status.chat_id) == 0:
            shown = text
            outbox.post(
                status.chat_id,
                kind_of(status.chat),
                lambda text=text: status.edit_text(text),  # type: ignore[misc]
                "progress",
            )


async def _finish_status(
    context: Context, message: Message, status: Message | None, html: str
) -> None:
    """Edit the status message to its final text, or send it anew if the edit fails."""
    outbox = context.bot_data.outbox
    kind = kind_of(message.chat)
    if status is not None:
        edited = await outbox.send(
            status.chat_id,
            kind,
            lambda: status.edit_text(html, parse_mode=ParseMode.HTML),
            "reindex result",
        )
        if edited is not None:
            return
    reply(context, message, [html])


# ---------------------------------------------------------------- errors


async def on_error(update: object, context: Context) -> None:
    """Log every unhandled error with its traceback and apologise to the user."""
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update):
        return
    query = update.callback_query
    if query is not None and query.id not in context.bot_data.answered:
        await answer_query(context, query, APOLOGY)
        return
    message = update.effective_message
    if message is not None and update.inline_query is None:
        reply(context, message, [APOLOGY], html=False)
