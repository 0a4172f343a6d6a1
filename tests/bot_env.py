"""The bot under test: the real application polling a stand-in Bot API server."""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from bot import corpus
from bot import service as service_module
from bot.chat import BotApplication
from bot.config import Config, DeliveryConfig, LimitsConfig, SourcesConfig, TelegramConfig
from bot.delivery import Clock
from bot.telegram_app import ALLOWED_UPDATES, build_application
from index import SearchSettings
from tests import fake_bot_api as api
from tests.conftest import SEEDS
from tests.telegram_html import check

TOKEN = "123456:TEST-token-that-must-never-be-logged"
ADMIN = 4242
BOT = f"@{api.BOT_USERNAME}"

# Telegram's pace would make every test wait: the tests that are about pacing set it back
# (with a clock they move by hand); all others send as fast as the stand-in server takes.
FAST = DeliveryConfig(
    per_chat_per_second=10_000, per_group_per_minute=100_000, overall_per_second=100_000
)
# Likewise, question limits are off unless a test is about them.
UNLIMITED = LimitsConfig(user_questions=0, chat_questions=0)


@dataclass
class Env:
    server: api.FakeBotApi
    app: BotApplication
    config: Config
    corpus: Path


@asynccontextmanager
async def started(
    app: BotApplication,
    webhook: dict[str, Any] | None = None,
    server: api.FakeBotApi | None = None,
) -> AsyncIterator[None]:
    """Run the application as run_polling or run_webhook would, inside the caller's loop.

    With the stand-in server given, its long polls are answered at once when stopping.
    """
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
        if server is not None:
            await server.release_polls()
        await app.updater.stop()
        await app.stop()
        assert app.post_stop is not None
        await app.post_stop(app)
        await app.shutdown()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)


@asynccontextmanager
async def running_bot(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    sources: SourcesConfig | None = None,
    clock: Clock | None = None,
    config: dict[str, Any] | None = None,
    search: SearchSettings | None = None,
    index: Path | None = None,
    **telegram: Any,
) -> AsyncIterator[Env]:
    """Start the bot against a fresh stand-in server; on exit check every message it sent.

    config overrides fields of Config (access, limits, delivery, …); telegram those of
    TelegramConfig. index: a built index of the seeds to start from (copied), instead of
    the bot building one at start, when the folder holds none yet.
    """
    caplog.set_level(logging.DEBUG)
    server = api.FakeBotApi(TOKEN)
    await server.start()
    corpus = tmp_path / "corpus"
    # A second run in the same folder is a restart: same corpus, index and feedback store.
    shutil.copytree(SEEDS, corpus, dirs_exist_ok=True)
    if index is not None and not (tmp_path / "index.sqlite").exists():
        shutil.copyfile(index, tmp_path / "index.sqlite")
    settings = Config(
        corpus=corpus,
        index_path=tmp_path / "index.sqlite",
        telegram=TelegramConfig(
            token=TOKEN,
            api_base_url=server.base_url,
            admin_ids=frozenset({ADMIN}),
            **telegram,
        ),
        sources=sources or SourcesConfig(),
        delivery=FAST,
        limits=UNLIMITED,
        # BM25 only unless asked: these tests are about the Telegram path, and embedding
        # the seeds for each of them would make the suite several times slower.
        search=search or SearchSettings(embedding_model=""),
    )
    settings = replace(settings, **(config or {}))
    app = build_application(settings, clock)
    try:
        async with started(app, server=server):
            yield Env(server, app, settings, corpus)
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
        self.at = 0  # pause when this many files are done (0: at the first report)

    async def wait_until_reached(self) -> None:
        """Wait until the build is paused mid-way."""
        assert await asyncio.to_thread(self.reached.wait, 120), "the build never started"

    def gate(self, done: int, total: int) -> None:
        if total and done >= self.at and not self.reached.is_set():
            self.reached.set()
            self.release.wait()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Route the bot's reindex builds through the gate."""
        real_build = corpus.build

        def build(config: Config, progress: Any = None, *, force: bool = False) -> Any:
            def gated(done: int, total: int) -> None:
                if progress is not None:
                    progress(done, total)
                self.gate(done, total)

            return real_build(config, gated, force=force)

        monkeypatch.setattr(service_module, "build", build)  # the name the service calls
