"""What the feedback store costs: recording an answer and a vote, /stats and the export.

Fills a fresh store with N answers (real answers from the seed corpus, a third of them
"not found", spread over 60 days) and a vote on every fifth, timing each write as the bot
makes it (one at a time, committed), then times stats() and export() over the whole store.

    .venv/bin/python bench/feedback.py [--answers 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.answer import Answer, ask
from bot.feedback import Asker, Complaint, Vote
from bot.feedback_store import FeedbackStore
from index import Index, IndexSettings, build_index

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "What did Peru commit to?",
    "What did Trump say about Petro?",
    "how do I bake sourdough bread?",
    "Venezuela defense brigade",
    "What is the capital of Australia?",
    "popular jaguar",
]


def _ms(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def _fill(
    store: FeedbackStore, answers: list[Answer], count: int, now: dt.datetime
) -> tuple[list[float], list[float]]:
    """Record count answers over 60 days, a vote on every fifth; the seconds each took."""
    record: list[float] = []
    vote: list[float] = []
    for i in range(count):
        answer = answers[i % len(answers)]
        asker = Asker("private" if i % 2 else "supergroup", 1000 + i % 500, 5000 + i % 900)
        when = now - dt.timedelta(minutes=i * 60 * 24 * 60 // count)
        started = time.perf_counter()
        answer_id = store.record_answer(answer, "g", asker, when)
        record.append(time.perf_counter() - started)
        if i % 5 == 0:
            up = i % 3 != 0
            started = time.perf_counter()
            store.record_vote(
                answer_id,
                asker.user_id,
                Vote.UP if up else Vote.DOWN,
                None if up else Complaint.WRONG_SOURCE,
                now=when,
            )
            vote.append(time.perf_counter() - started)
    return record, vote


def main() -> None:
    """Fill a feedback store as a busy bot would; time recording, /stats and the export."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        build_index(ROOT / "seeds", folder / "index.sqlite", IndexSettings())
        index = Index.open(folder / "index.sqlite")
        answers = [ask(index, q) for q in QUESTIONS]
        index.close()
        store = FeedbackStore.open(folder / "feedback.sqlite")
        now = dt.datetime.now(dt.UTC)
        record, vote = _fill(store, answers, args.answers, now)
        started = time.perf_counter()
        stats = store.stats(14)
        stats_s = time.perf_counter() - started
        started = time.perf_counter()
        export = store.export()
        export_s = time.perf_counter() - started
        size = (folder / "feedback.sqlite").stat().st_size
        store.close()
    result = {
        "answers": args.answers,
        "votes": len(vote),
        "record_answer_ms_p50": round(_ms(record, 50), 3),
        "record_answer_ms_p99": round(_ms(record, 99), 3),
        "record_vote_ms_p50": round(_ms(vote, 50), 3),
        "record_vote_ms_p99": round(_ms(vote, 99), 3),
        "stats_14_days_s": round(stats_s, 3),
        "stats_questions": stats.questions,
        "export_s": round(export_s, 3),
        "export_items": len(export.items),
        "store_mb": round(size / 1e6, 1),
    }
    print(f"{'measure':24} value")
    for key, value in result.items():
        print(f"{key:24} {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
