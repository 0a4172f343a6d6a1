"""/reindex in Telegram (admins only): one status message, edited with progress, that always
ends in done, refused or failed. The rebuild itself is bot/service.py's."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time

from telegram import Message, Update
from telegram.ext import CommandHandler, filters

from index import ProgressCallback, ReindexBusyError, SearchIndexError, SwapRefusedError

from . import render_telegram, views
from .chat import BotApplication, Context, admin_message, kind_of, reply, reply_plain
from .views import ReindexReport, ReindexStatus

log = logging.getLogger(__name__)

NOT_ADMIN = "Sorry, only the bot's admins can reindex."
BUSY = "A reindex is already running; I will report when it is done."
USAGE = "Usage: /reindex, or /reindex force to swap in an index with far fewer sources."
STARTED = "Reindexing… scanning the corpus folder."
STILL_SERVING = "the previous index is still answering."
PROGRESS_INTERVAL_S = 1.0


def register(app: BotApplication) -> None:
    """Add the /reindex handler."""
    app.add_handler(CommandHandler("reindex", on_reindex, filters=filters.UpdateType.MESSAGE))


async def on_reindex(update: Update, context: Context) -> None:
    """/reindex [force]: rebuild the index from the corpus folder; admins only."""
    message = admin_message(update, context, "/reindex", NOT_ADMIN)
    if message is None or update.effective_user is None:
        return
    admin = update.effective_user.id
    args = [a.casefold() for a in context.args or []]
    if args not in ([], ["force"]):
        reply_plain(context, message, USAGE)
        return
    if context.service.reindexing:
        reply_plain(context, message, BUSY)
        return
    status = await context.outbox.send(
        message.chat_id,
        kind_of(message.chat),
        lambda: message.reply_text(STARTED, parse_mode=None, do_quote=True),
    )
    progress: list[tuple[int, int]] = [(0, 0)]

    def on_progress(done: int, total: int) -> None:
        progress[0] = (done, total)  # read by the ticker on the event loop

    ticker = asyncio.create_task(
        _report_progress(context, status, progress), name="reindex-progress"
    )
    started = time.perf_counter()
    try:
        report = await _reindex(context, on_progress, force=args == ["force"])
        if report.status is ReindexStatus.DONE:
            log.info("reindex by user id %s done in %.2f s", admin, time.perf_counter() - started)
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
    await _finish_status(context, message, status, render_telegram.reindex_message(report))


async def _reindex(
    context: Context, on_progress: ProgressCallback, *, force: bool
) -> ReindexReport:
    """Run the reindex; how it ended, whatever went wrong."""
    try:
        outcome = await context.service.reindex(on_progress, force=force)
    except ReindexBusyError:
        return views.reindex_ended(ReindexStatus.BUSY, BUSY)
    except SwapRefusedError as exc:
        log.warning("reindex refused: %s", exc)
        return views.reindex_ended(
            ReindexStatus.REFUSED,
            f"Reindex refused: {exc}: send /reindex force to swap it in anyway; {STILL_SERVING}",
        )
    except SearchIndexError as exc:
        log.warning("reindex failed: %s", exc)
        return views.reindex_ended(ReindexStatus.FAILED, f"Reindex failed: {exc}; {STILL_SERVING}")
    except Exception:
        # The status must end in done or failed whatever went wrong; the log has the rest.
        log.exception("reindex failed")
        return views.reindex_ended(
            ReindexStatus.FAILED,
            f"Reindex failed: an unexpected error (details in the bot's log); {STILL_SERVING}",
        )
    return views.reindex_done(outcome.report, outcome.sources, outcome.passages)


async def _report_progress(
    context: Context, status: Message | None, progress: list[tuple[int, int]]
) -> None:
    """Edit the status with the files done, each interval, when that text is new.

    Telegram refuses an edit that changes nothing ("message is not modified"), so the text
    the status already shows is never sent again.
    """
    if status is None:
        return
    clock = context.bot_data.clock
    outbox = context.outbox
    shown = STARTED
    while True:
        await clock.sleep(PROGRESS_INTERVAL_S)
        done, total = progress[0]
        text = f"Reindexing… {done}/{total} files" if total else STARTED
        if text != shown and outbox.backlog(status.chat_id) == 0:
            shown = text
            outbox.post(
                status.chat_id,
                kind_of(status.chat),
                functools.partial(status.edit_text, text, parse_mode=None),
                "progress",
            )


async def _finish_status(
    context: Context, message: Message, status: Message | None, html: str
) -> None:
    """Edit the status message to its final text, or send it anew if the edit fails."""
    if status is not None:
        edited = await context.outbox.send(
            status.chat_id, kind_of(message.chat), lambda: status.edit_text(html), "reindex result"
        )
        if edited is not None:
            return
    reply(context, message, [html])
