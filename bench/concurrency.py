"""Reply latency under concurrent questions: the real bot against the stand-in Bot API server.

Starts the stand-in server from the tests on 127.0.0.1, runs the bot on a corpus with real
polling, pushes N questions from M chats at once and measures, per question, the time from
the update being available to the bot's reply reaching the server. Telegram's flood limits
(about 30 messages a second in all, one a second a chat, applied by the bot's per-chat
outbox, bot/delivery.py) bound the throughput, so latencies grow with the burst; the JSON
line also gives the answering time alone (service p50/p99, `AnswerService.answer` off the
event loop).

    .venv/bin/python bench/concurrency.py [--questions 200] [--chats 50] [--corpus seeds]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import Config, TelegramConfig
from bot.service import AnswerService
from bot.telegram_app import build_application
from tests import fake_bot_api as api
from tests.bot_env import started

TOKEN = "123456:bench-token"
QUESTIONS = [
    "What did Peru commit to?",
    "popular jaguar",
    "What did Trump say about Petro?",
    "What is the capital of Australia?",
    "Venezuela defense brigade",
]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(questions: int, chats: int, corpus: Path) -> dict[str, float]:
    """Push the burst and measure reply latencies, in milliseconds."""
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    server = api.FakeBotApi(TOKEN)
    await server.start()
    try:
        calls, pushed, solo, elapsed = await _burst(server, questions, chats, corpus)
    finally:
        await server.stop()
    latencies = [(c.at - pushed[c.params["reply_parameters"]["message_id"]]) * 1000 for c in calls]
    return {
        "questions": questions,
        "chats": chats,
        "answered": len(calls),
        "answered_once": len({c.params["reply_parameters"]["message_id"] for c in calls}),
        "reply_p50_ms": round(statistics.median(latencies), 1),
        "reply_p99_ms": round(_percentile(latencies, 0.99), 1),
        "replies_per_s": round(len(calls) / elapsed, 1),
        "service_p50_ms": round(statistics.median(solo), 2),
        "service_p99_ms": round(_percentile(solo, 0.99), 2),
    }


async def _burst(
    server: api.FakeBotApi, questions: int, chats: int, corpus: Path
) -> tuple[list[api.Call], dict[int, float], list[float], float]:
    """Answer a few questions alone, then push the burst and collect the replies."""
    with tempfile.TemporaryDirectory() as folder:
        config = Config(
            corpus=corpus,
            index_path=Path(folder) / "index.sqlite",
            telegram=TelegramConfig(token=TOKEN, api_base_url=server.base_url),
        )
        app = build_application(config)
        async with started(app):
            service: AnswerService = app.bot_data.service
            solo = []
            for q in QUESTIONS * 20:
                t0 = time.perf_counter()
                await service.answer(q)
                solo.append((time.perf_counter() - t0) * 1000)
            pushed: dict[int, float] = {}
            for i in range(questions):
                chat = 1_000 + i % chats
                update = api.text_update(QUESTIONS[i % len(QUESTIONS)], chat_id=chat, user_id=chat)
                pushed[update["message"]["message_id"]] = time.monotonic()
                server.push(update)
            began = time.monotonic()
            calls = await server.wait_for(
                lambda c: c.method == "sendMessage" and c.params.get("chat_id", 0) >= 1_000,
                count=questions,
                within=600,
            )
            elapsed = time.monotonic() - began
    return calls, pushed, solo, elapsed


def main() -> int:
    """Run the burst and print a table and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument(
        "--corpus", type=Path, default=Path(__file__).resolve().parent.parent / "seeds"
    )
    args = parser.parse_args()
    figures = asyncio.run(run(args.questions, args.chats, args.corpus))
    for key, value in figures.items():
        print(f"{key:>16}  {value}")
    print(json.dumps({"concurrency": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
