"""The bot under test: the real application polling a stand-in Bot API server."""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from bot import service as service_module
from bot.config import Config, SourcesConfig, TelegramConfig
from bot.telegram_app import ALLOWED_UPDATES, build_application
from index import SearchSettings
from tests import fake_bot_api as api
from tests.conftest import SEEDS
from tests.telegram_html import check

TOKEN = "123456:TEST-token-that-must-never-be-logged"
ADMIN = 4242
BOT = f"@{api.BOT_USERNAME}"


@dataclass
class Env:
    server: api.FakeBotApi
    app: Application  # type: ignore[type-arg]
    config: Config
    corpus: Path


@asynccontextmanager
async def started(
    app: Application,  # type: ignore[type-arg]
    webhook: dict[str, Any] | None = None,
) -> AsyncIterator[None]:
    """Run the application as run_polling or run_webhook would, inside the caller's loop."""
    await app.initialize()
    assert app.post_init is not None
    assert app.updater is not None
    await app.post_init(app)
    if webhook is None:
        await app.updater.start_polling(
            poll_interval=0.0, timeout=1, allowed_updates=ALLOWED_UPDATES
        )
    else:
        await app.updater.start_webhook(**webhook)
    await app.start()
    try:
        yield
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)


@asynccontextmanager
async def running_bot(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    sources: SourcesConfig | None = None,
    search: SearchSettings | None = None,
    **telegram: Any,
) -> AsyncIterator[Env]:
    """Start the bot against a fresh stand-in server; on exit check every message it sent."""
    caplog.set_level(logging.DEBUG)
    server = api.FakeBotApi(TOKEN)
    await server.start()
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    config = Config(
        corpus=corpus,
        index_path=tmp_path / "index.sqlite",
        telegram=TelegramConfig(
            token=TOKEN,
            api_base_url=server.base_url,
            admin_ids=frozenset({ADMIN}),
            **telegram,
        ),
        sources=sources or SourcesConfig(),
        # BM25 only unless asked: these tests are about the Telegram path, and embedding
        # the seeds for each of them would make the suite several times slower.
        search=search or SearchSettings(embedding_model=""),
    )
    app = build_application(config)
    try:
        async with started(app):
            yield Env(server, app, config, corpus)
    finally:
        await server.stop()
    assert server.rejected == [], server.rejected
    assert TOKEN not in caplog.text
    for call in server.calls:
        if (
            call.method in ("sendMessage", "editMessageText")
            and call.params.get("parse_mode") == "HTML"
        ):
            check(call.params["text"])


async def reply_to(
    server: api.FakeBotApi, update: dict[str, Any], count: int = 1
) -> list[api.Call]:
    """Push an update and wait for the bot's replies to its message."""
    message_id = update["message"]["message_id"]
    server.push(update)
    return await server.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and (c.params.get("reply_parameters") or {}).get("message_id") == message_id
        ),
        count,
    )


class PausedBuild:
    """Holds the next reindex at its first progress report until the test releases it.

    The build runs in a worker thread; pausing it there makes "during the reindex" a state
    the test reaches by waiting on events, however fast or slow the machine is.
    """

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()

    async def wait_until_reached(self) -> None:
        """Wait until the build is paused mid-way."""
        assert await asyncio.to_thread(self.reached.wait, 120), "the build never started"

    def gate(self, done: int, total: int) -> None:
        if total and not self.reached.is_set():
            self.reached.set()
            self.release.wait()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Route the bot's reindex builds through the gate."""
        real_build = service_module.build

        def build(config: Config, progress: Any = None) -> Any:
            def gated(done: int, total: int) -> None:
                if progress is not None:
                    progress(done, total)
                self.gate(done, total)

            return real_build(config, gated)

        monkeypatch.setattr(service_module, "build", build)
