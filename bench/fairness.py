"""Fairness under floods: the real bot, Telegram's real pace, the stand-in Bot API server.

Two scenarios, on the wall clock and with the default settings (1 message a second a chat,
20 a minute a group, 30 a second in all; 10 questions a minute a person and a group):

1. burst: N group questions (/ask from 50 members) and M private messages from one user
   are pushed at once, then another user asks privately. Measured: that user's reply delay,
   and how long the group's and the flooding user's replies take to drain.
2. flood wait: one chat's first reply meets a 429 with retry_after R. Measured: the reply
   delay of other chats meanwhile, and when the delayed reply arrives.

    .venv/bin/python bench/fairness.py [--group 600] [--flood 1000] [--retry-after 30]
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
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import Config, LimitsConfig, TelegramConfig
from bot.telegram_app import build_application
from tests import fake_bot_api as api
from tests.bot_env import started

TOKEN = "123456:bench-token"
SEEDS = Path(__file__).resolve().parent.parent / "seeds"
GROUP, FLOODER, ASKER, WAITING = -100_900, 77, 31, 41
QUESTION = "What did Peru commit to?"


def _replies(server: api.FakeBotApi, chat: int) -> list[api.Call]:
    return [c for c in server.sent(chat) if c not in server.failed]


def _reply_in(chat: int) -> Callable[[api.Call], bool]:
    """Whether a recorded call is a message sent to chat."""
    return lambda c: c.method == "sendMessage" and c.params.get("chat_id") == chat


async def _settled(server: api.FakeBotApi, chat: int, quiet: float = 5.0) -> float:
    """Wait until chat's replies stop coming (none for `quiet` s); the last one's time."""
    while True:
        before = len(_replies(server, chat))
        await asyncio.sleep(quiet)
        if len(_replies(server, chat)) == before:
            return _replies(server, chat)[-1].at


def _push_burst(server: api.FakeBotApi, group: int, flood: int) -> None:
    """A group's questions from 50 members, then one person's flood of messages."""
    for i in range(group):
        server.push(api.group_update(f"/ask {QUESTION}", chat_id=GROUP, user_id=1000 + i % 50))
    for _ in range(flood):
        server.push(api.text_update("popular jaguar", chat_id=FLOODER, user_id=FLOODER))


async def burst(group: int, flood: int, limits: bool) -> dict[str, float]:
    """Scenario 1."""
    server = api.FakeBotApi(TOKEN)
    await server.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            config = Config(
                corpus=SEEDS,
                index_path=Path(folder) / "index.sqlite",
                telegram=TelegramConfig(token=TOKEN, api_base_url=server.base_url),
                limits=LimitsConfig()
                if limits
                else LimitsConfig(user_questions=0, chat_questions=0),
            )
            async with started(build_application(config)):
                began = time.monotonic()
                _push_burst(server, group, flood)
                question = api.text_update(QUESTION, chat_id=ASKER, user_id=ASKER)
                asked = time.monotonic()
                server.push(question)
                [reply] = await server.wait_for(
                    lambda c: c.method == "sendMessage" and c.params.get("chat_id") == ASKER,
                    within=600,
                )
                figures = {
                    "group_questions": group,
                    "flood_messages": flood,
                    "question_limits": limits,
                    "private_reply_s": round(reply.at - asked, 3),
                    "group_replies_before_it": len(_replies(server, GROUP)),
                }
                if not limits:
                    return figures
                group_done = await _settled(server, GROUP)
                flood_done = await _settled(server, FLOODER)
                group_replies = _replies(server, GROUP)
                notices = [c for c in group_replies if c.params["text"].startswith("This chat")]
                return figures | {
                    "group_replies": len(group_replies),
                    "group_notices": len(notices),
                    "group_drained_s": round(group_done - began, 2),
                    "flood_replies": len(_replies(server, FLOODER)),
                    "flood_drained_s": round(flood_done - began, 2),
                }
    finally:
        await server.stop()


async def flood_wait(retry_after: int, others: int) -> dict[str, float]:
    """Scenario 2."""
    server = api.FakeBotApi(TOKEN)
    await server.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            config = Config(
                corpus=SEEDS,
                index_path=Path(folder) / "index.sqlite",
                telegram=TelegramConfig(token=TOKEN, api_base_url=server.base_url),
            )
            async with started(build_application(config)):
                server.faults.append(api.Fault.flood("sendMessage", retry_after, WAITING))
                pushed = time.monotonic()
                server.push(api.text_update("popular jaguar", chat_id=WAITING, user_id=WAITING))
                await server.wait_for(lambda c: c in server.failed)
                delays = []
                for chat in range(500, 500 + others):
                    asked = time.monotonic()
                    server.push(api.text_update(QUESTION, chat_id=chat, user_id=chat))
                    [reply] = await server.wait_for(_reply_in(chat))
                    delays.append(reply.at - asked)
                [late] = await server.wait_for(
                    lambda c: c.params.get("chat_id") == WAITING and c not in server.failed,
                    within=retry_after + 60,
                )
                return {
                    "retry_after_s": retry_after,
                    "other_chats": others,
                    "other_reply_max_s": round(max(delays), 3),
                    "other_reply_median_s": round(statistics.median(delays), 3),
                    "delayed_reply_after_s": round(late.at - pushed, 2),
                    "delayed_replies": len(_replies(server, WAITING)),
                }
    finally:
        await server.stop()


def main() -> int:
    """Run both scenarios and print a table and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", type=int, default=600)
    parser.add_argument("--flood", type=int, default=1000)
    parser.add_argument("--retry-after", type=int, default=30)
    parser.add_argument("--others", type=int, default=20)
    parser.add_argument("--no-limits", action="store_true", help="answer every question")
    args = parser.parse_args()
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    figures = {
        "burst": asyncio.run(burst(args.group, args.flood, not args.no_limits)),
        "flood_wait": asyncio.run(flood_wait(args.retry_after, args.others)),
    }
    for name, values in figures.items():
        for key, value in values.items():
            print(f"{name:>10} {key:>22}  {value}")
    print(json.dumps({"fairness": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
