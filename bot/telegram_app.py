"""The Telegram adapter's composition root: the python-telegram-bot application, its
handlers (one module per kind of update), /help and the one error handler.

- gate.py: access lists and question limits, before any handler;
- questions_chat.py: /ask, plain text, /quote, inline mode, Full passage and More;
- sources_chat.py: /sources and its pages, /add, /remove, sent files;
- reindex_chat.py: /reindex; feedback_chat.py: votes and /stats.

Replies go through bot/chat.py (per-chat queues, bot/delivery.py); what they say is
bot/render_telegram.py's.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import ssl
from typing import Any
from urllib.parse import urlparse

import httpx
from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    filters,
)
from telegram.request import HTTPXRequest

from . import (
    feedback_chat,
    gate,
    logs,
    questions_chat,
    reindex_chat,
    render_telegram,
    sources_chat,
)
from .chat import BotApplication, BotData, Context, answer_query, on_stale_button, reply
from .config import Config
from .delivery import Clock, MonotonicClock, Outbox
from .limits import QuestionLimits
from .service import AnswerService

log = logging.getLogger(__name__)

COMMANDS = [
    BotCommand("ask", "Ask the sources a question"),
    BotCommand("quote", 'Verbatim quotes for words or an "exact phrase"'),
    BotCommand("sources", "List the indexed sources"),
    BotCommand("help", "What this bot does"),
]
ALLOWED_UPDATES = ["message", "callback_query", "inline_query", "my_chat_member"]
APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."
SHUTDOWN_GRACE_S = 5.0
# Every message is HTML unless sent with parse_mode=None; no link previews under answers;
# a reply goes out even when its question was deleted meanwhile.
DEFAULTS = Defaults(
    parse_mode=ParseMode.HTML,
    link_preview_options=LinkPreviewOptions(is_disabled=True),
    allow_sending_without_reply=True,
)


def build_application(config: Config, clock: Clock | None = None) -> BotApplication:
    """The python-telegram-bot application with every handler wired to one AnswerService."""
    logs.protect([config.telegram.token, config.telegram.webhook_secret])
    clock = clock or MonotonicClock()
    service = AnswerService(config)
    outbox = Outbox(config.delivery, clock)

    async def post_init(app: BotApplication) -> None:
        await service.open()
        app.bot_data.feedback = await asyncio.to_thread(feedback_chat.open_store, config)
        await outbox.call(lambda: app.bot.set_my_commands(COMMANDS), "the command list")

    async def post_stop(app: BotApplication) -> None:
        await outbox.close(SHUTDOWN_GRACE_S)

    async def post_shutdown(app: BotApplication) -> None:
        await service.close()
        store, app.bot_data.feedback = app.bot_data.feedback, None
        if store is not None:
            store.close()

    requests, updates = _requests(config.telegram.request_timeout)
    builder = (
        ApplicationBuilder()
        .token(config.telegram.token)
        .context_types(ContextTypes(context=Context, bot_data=BotData))
        .defaults(DEFAULTS)
        .job_queue(None)
        .request(requests)
        .get_updates_request(updates)
        .concurrent_updates(True)
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    if config.telegram.api_base_url:
        base = config.telegram.api_base_url.rstrip("/")
        builder = builder.base_url(base).base_file_url(_file_url(base))
    app: BotApplication = builder.build()
    data = app.bot_data
    data.config, data.service, data.outbox, data.clock = config, service, outbox, clock
    data.limits = QuestionLimits(config.limits, clock)

    _register_handlers(app)
    return app


def _register_handlers(app: BotApplication) -> None:
    """Every handler, each module's own, behind the gate."""
    gate.register(app)  # groups -2 and -1: every handler below is behind the gate
    app.add_handler(CommandHandler(["start", "help"], on_help, filters=filters.UpdateType.MESSAGE))
    questions_chat.register(app)
    sources_chat.register(app)
    reindex_chat.register(app)
    feedback_chat.register(app)
    app.add_handler(CallbackQueryHandler(on_stale_button))  # last: any other button
    app.add_error_handler(on_error)


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


def _requests(timeout: float) -> tuple[HTTPXRequest, HTTPXRequest]:
    """The clients for Bot API calls and for getUpdates: python-telegram-bot's own choices
    (256 connections; one for getUpdates, with its default timeouts), sharing one TLS
    context."""
    tls = {"verify": _tls_context()}
    calls = HTTPXRequest(
        connection_pool_size=256,
        read_timeout=timeout,
        write_timeout=timeout,
        connect_timeout=min(timeout, 10.0),
        pool_timeout=timeout,
        httpx_kwargs=tls,
    )
    return calls, HTTPXRequest(connection_pool_size=1, httpx_kwargs=tls)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The TLS context of every Bot API client in this process, made once: reading the CA
    bundle costs more than building the rest of an application (httpx makes one per client).
    """
    return httpx.create_ssl_context()


def _file_url(base: str) -> str:
    head, sep, tail = base.rpartition("/bot")
    return f"{head}/file/bot" if sep and not tail else base + "/file"


async def on_help(update: Update, context: Context) -> None:
    """/start and /help: what the bot does, with an example question."""
    message = update.message
    if message is None:
        return
    service = context.service
    example = await service.example_question()
    text = render_telegram.help_message(
        context.bot.username or "bot", len(service.index.sources()), example
    )
    reply(context, message, [text])


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
