"""Telegram handlers for the sources: /sources (paged in place), and adding and removing
sources (admins only), whose work is in sources.py."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from telegram import Message, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from index import ReindexBusyError, SearchIndexError

from . import buttons, render_telegram, sources
from .buttons import Kind
from .chat import (
    STALE_BUTTON,
    BotApplication,
    Context,
    admin_message,
    answer_query,
    current_press,
    kind_of,
    on_stale_button,
    reply,
)
from .render_telegram import MESSAGE_LIMIT, trim
from .service import ReindexOutcome

log = logging.getLogger(__name__)

NOT_ADMIN = "Sorry, only the bot's admins can add or remove sources."
ADD_USAGE = (
    "Usage: /add https://… (a web page, a text or a PDF), or send me a file "
    "(.txt, .md, .html, .pdf or .docx) in a private chat."
)
REMOVE_USAGE = (
    "Usage: /remove inbox/report.pdf (the path /add reported) or /remove https://… (its link)."
)


def register(app: BotApplication) -> None:
    """Add the handlers for /sources and its pages, /add, /remove and documents sent in
    private chats."""
    only_new = filters.UpdateType.MESSAGE
    app.add_handler(CommandHandler("sources", on_sources, filters=only_new))
    app.add_handler(CallbackQueryHandler(on_page_button, pattern=buttons.PATTERNS[Kind.PAGE]))
    app.add_handler(CommandHandler("add", on_add, filters=only_new))
    app.add_handler(CommandHandler("remove", on_remove, filters=only_new))
    app.add_handler(
        MessageHandler(only_new & filters.ChatType.PRIVATE & filters.Document.ALL, on_document)
    )


async def _source_pages(context: Context) -> list[str]:
    """The /sources pages of the current index, made once per index."""
    data = context.bot_data
    generation = context.service.generation
    if data.source_pages is None or data.source_pages[0] != generation:
        listing = await context.service.sources()
        # Formatting thousands of sources is work too: off the event loop like the reading.
        pages = await asyncio.to_thread(render_telegram.sources_pages, listing)
        data.source_pages = (generation, pages)
    return data.source_pages[1]


async def on_sources(update: Update, context: Context) -> None:
    """/sources: the indexed sources with dates and passage counts, one page at a time."""
    message = update.message
    if message is None:
        return
    pages = await _source_pages(context)
    markup = buttons.pages(context.service.generation, 0, len(pages))
    reply(context, message, [pages[0]], markup)


async def on_page_button(update: Update, context: Context) -> None:
    """ "‹ Previous" and "Next ›" under /sources: turn the page in place."""
    press = current_press(update, context)
    if press is None:
        await on_stale_button(update, context)
        return
    pages = await _source_pages(context)
    page = int(press.fields["page"])
    message = press.message
    if message is None or page >= len(pages):
        await answer_query(context, press.query, STALE_BUTTON)
        return
    await answer_query(context, press.query)
    markup = buttons.pages(context.service.generation, page, len(pages))
    context.outbox.post(
        message.chat_id,
        kind_of(message.chat),
        lambda: message.edit_text(pages[page], reply_markup=markup),
        "page",
    )


async def _say(context: Context, message: Message, text: str) -> None:
    """Reply in plain text through the chat's queue, and wait until it is sent."""
    await reply(context, message, [trim(text, MESSAGE_LIMIT)], html=False)


async def on_document(update: Update, context: Context) -> None:
    """A file sent in a private chat: saved into the corpus inbox, then indexed."""
    message = admin_message(update, context, "a document", NOT_ADMIN)
    if message is None or message.document is None:
        return
    document = message.document
    settings = context.config.sources
    try:
        name = sources.check_name(document.file_name or "")
        if (document.file_size or 0) > settings.max_upload_bytes:
            raise sources.AddError(
                f"the file is larger than the {sources.megabytes(settings.max_upload_bytes)} limit"
            )
        file = await context.bot.get_file(document.file_id)
        data = bytes(await file.download_as_bytearray())
        corpus = context.config.corpus
        saved = await asyncio.to_thread(sources.save_file, corpus, settings, name, data)
    except sources.AddError as exc:
        await _say(context, message, f"Not added: {exc}.")
        return
    await _index_added(message, context, saved)


async def on_add(update: Update, context: Context) -> None:
    """/add URL: fetch the page, save it as Markdown with front matter, then index."""
    message = admin_message(update, context, "/add", NOT_ADMIN)
    if message is None:
        return
    args = context.args or []
    if len(args) != 1:
        await _say(context, message, ADD_USAGE)
        return
    config = context.config
    known = {s.url: s.path for s in context.service.index.sources() if s.url}
    try:
        page = await sources.fetch(args[0], config.sources)
        now = dt.datetime.now(dt.UTC)
        saved = await asyncio.to_thread(
            sources.save_page, config.corpus, config.sources, page, now, known
        )
    except sources.AddError as exc:
        await _say(context, message, f"Not added: {exc}.")
        return
    await _index_added(message, context, saved)


async def _index_added(message: Message, context: Context, saved: sources.Saved) -> None:
    outcome = await _reindex(message, context, f"Saved {saved.path}")
    if outcome is None:
        return
    skipped = [(s.path, s.reason) for s in outcome.report.skipped]
    reason = sources.not_indexed(saved, skipped)
    if reason is not None:
        await asyncio.to_thread(sources.discard, context.config.corpus, saved)
        await _say(context, message, f"Not added: {reason}.")
        return
    await _say(
        context, message, f"{sources.describe(saved)}\nNow serving {outcome.sources} source(s)."
    )


async def on_remove(update: Update, context: Context) -> None:
    """/remove PATH or /remove URL: move the source to the trash folder, then index."""
    message = admin_message(update, context, "/remove", NOT_ADMIN)
    if message is None:
        return
    args = context.args or []
    if len(args) != 1:
        await _say(context, message, REMOVE_USAGE)
        return
    config = context.config
    by_url = {s.url: s.path for s in context.service.index.sources() if s.url}
    path = by_url.get(args[0], args[0])
    try:
        moved = await asyncio.to_thread(sources.remove, config.corpus, config.sources, path)
    except sources.AddError as exc:
        await _say(context, message, f"Not removed: {exc}.")
        return
    outcome = await _reindex(message, context, f"Moved {path} to {moved}")
    if outcome is not None:
        await _say(
            context,
            message,
            f"Removed {path}; moved to {moved}.\nNow serving {outcome.sources} source(s).",
        )


async def _reindex(message: Message, context: Context, done: str) -> ReindexOutcome | None:
    """Rebuild the index after a change; None (with the admin told why) when it did not run."""
    try:
        return await context.service.reindex()
    except ReindexBusyError:
        await _say(
            context, message, f"{done}. A reindex is running; send /reindex when it is done."
        )
    except (SearchIndexError, OSError) as exc:
        log.warning("reindex after a source change failed: %s", exc)
        await _say(
            context,
            message,
            f"{done}, but the reindex failed: {exc}. The previous index still answers.",
        )
    return None
