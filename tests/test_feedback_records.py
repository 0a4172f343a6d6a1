"""Feedback over real HTTP: /stats, ids kept as a keyed hash, the gold export, feedback
turned off or unwritable, and where the store lives."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from bot.config import FeedbackConfig
from bot.feedback_chat import (
    FEEDBACK_OFF,
    NOT_ADMIN,
    STATS_IN_PRIVATE,
    STATS_OFF,
)
from bot.feedback_store import key_path
from tests import fake_bot_api as api
from tests.bot_env import ADMIN, Env, reply_to, running_bot
from tests.feedback_env import (
    FOUND,
    NOT_FOUND,
    ask,
    buttons,
    edited,
    feedback_files,
    label_of,
    store_of,
    tap,
    vote_buttons,
)


async def test_stats_only_for_admins_and_only_in_private(env: Env) -> None:
    for question in (NOT_FOUND, "How do I bake sourdough bread", "HOW DO I BAKE SOURDOUGH BREAD!!"):
        await ask(env.server, question)
    answer = await ask(env.server, FOUND)
    await tap(env.server, answer.result, vote_buttons(answer)["👍"])

    [refused] = await reply_to(env.server, api.text_update("/stats", chat_id=999, user_id=999))
    assert refused.params["text"] == NOT_ADMIN
    [group] = await reply_to(env.server, api.group_update("/stats", user_id=ADMIN))
    assert group.params["text"] == STATS_IN_PRIVATE
    [stats] = await reply_to(env.server, api.text_update("/stats", chat_id=ADMIN, user_id=ADMIN))
    text = stats.params["text"]
    assert "Questions: 4, answered: 1 (25%)" in text
    assert "Votes: 1 on 1 answer(s): 👍 100% · 👎 0%" in text
    assert "3× how do I bake sourdough bread?" in text
    assert text.count("sourdough") == 1
    assert "Peru" not in text  # answered questions are not listed
    assert text.count("<code>") == 14


@pytest.mark.parametrize("store_ids", [False, True])
async def test_ids_are_stored_as_a_keyed_hash_unless_configured(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, store_ids: bool
) -> None:
    user, chat = 5550123, -1009876543
    settings = {"feedback": FeedbackConfig(store_ids=store_ids)}
    async with running_bot(tmp_path, caplog, config=settings) as env:
        answer = await ask(env.server, FOUND, chat_id=chat, user_id=user)
        await tap(env.server, answer.result, vote_buttons(answer)["👍"], user_id=user)
    with sqlite3.connect(tmp_path / "feedback.sqlite") as conn:
        values = [
            str(value)
            for table in ("answers", "votes")
            for row in conn.execute(f"SELECT * FROM {table}")
            for value in row
        ]
    conn.close()
    stored = " ".join(values)
    assert (str(user) in stored) is store_ids
    assert (str(chat) in stored) is store_ids
    assert (str(abs(chat)) in stored) is store_ids
    assert "supergroup" in values
    assert key_path(tmp_path / "feedback.sqlite").stat().st_mode & 0o777 == 0o600


async def test_export_round_trips_through_eval(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    dated = "What did Trump say about Petro?"
    wrong = "What did Colombia commit to?"
    elsewhere = "What is the capital of Australia?"
    async with running_bot(tmp_path, caplog) as env:
        answer = await ask(env.server, FOUND)
        await tap(env.server, answer.result, vote_buttons(answer)["👍"])

        answer = await ask(env.server, dated)  # 👎, then a change of mind: the last vote counts
        await tap(env.server, answer.result, vote_buttons(answer)["👎"])
        opened = await edited(env.server, answer.result, 1)
        await tap(env.server, opened.result, vote_buttons(answer)["👍"])

        answer = await ask(env.server, wrong)
        await tap(env.server, answer.result, vote_buttons(answer)["👎"])
        opened = await edited(env.server, answer.result, 1)
        await tap(env.server, opened.result, label_of(opened, "Should say “not found”"))

        answer = await ask(env.server, NOT_FOUND)  # rightly not found
        await tap(env.server, answer.result, vote_buttons(answer)["👍"])

        answer = await ask(env.server, elsewhere)  # not found, "but it is there"
        assert not answer.params["text"].startswith("<blockquote>")
        await tap(env.server, answer.result, vote_buttons(answer)["👎"])
        corpus = env.corpus
    capsys.readouterr()
    paths = ["--corpus", str(corpus), "--db", str(tmp_path / "index.sqlite")]
    assert cli.main(["feedback", "export", *paths]) == 0
    out, err = capsys.readouterr()
    assert "4 gold question(s); 1 to complete by hand" in err
    gold = tmp_path / "gold.jsonl"
    gold.write_text(out, encoding="utf-8")
    lines = [json.loads(line) for line in out.splitlines() if line and not line.startswith("#")]
    assert [line["q"] for line in lines] == [FOUND, dated, wrong, NOT_FOUND]
    assert "solidarity efforts for Venezuela" in lines[0]["expect_any"][0]
    assert (lines[0]["date"], lines[1]["date"]) == ("", "2026-01-07")
    assert lines[2:] == [{"q": wrong, "expect_none": True}, {"q": NOT_FOUND, "expect_none": True}]
    todo = [line for line in out.splitlines() if line.startswith("# {")]
    assert [json.loads(t[2:]) for t in todo] == [{"q": elsewhere, "expect_any": [], "date": ""}]

    assert cli.main(["eval", str(gold), *paths]) == 0
    out, _ = capsys.readouterr()
    metrics = json.loads(out.splitlines()[-1])
    assert "questions: 2 answerable, 2 unanswerable" in out
    assert metrics["hit@1"] == 1.0  # the answers people liked are still given
    assert metrics["date_accuracy"] == 1.0
    assert metrics["not_found_recall"] == 0.5  # the one they said needs no answer still gets one


async def test_disabled_feedback_shows_no_buttons_and_writes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = {"feedback": FeedbackConfig(enabled=False)}
    async with running_bot(tmp_path, caplog, config=settings) as env:
        assert env.app.bot_data.feedback is None
        found = await ask(env.server, FOUND)
        assert vote_buttons(found) == {}
        assert any(b["text"].startswith("Full passage") for b in buttons(found))
        missing = await ask(env.server, NOT_FOUND)
        assert "reply_markup" not in missing.params
        old = await tap(env.server, found.result, "f:1:u:AAAAAAAA")
        assert old.params["text"] == FEEDBACK_OFF
        [stats] = await reply_to(env.server, api.text_update("/stats", ADMIN, ADMIN))
        assert stats.params["text"] == STATS_OFF
    assert feedback_files(tmp_path) == []


async def test_a_store_that_cannot_be_written_costs_no_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_bot(tmp_path, caplog) as env:

        def full(*args: Any, **kwargs: Any) -> int:
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(store_of(env), "record_answer", full)
        answer = await ask(env.server, FOUND)
        assert "solidarity efforts for Venezuela" in answer.params["text"]
        assert vote_buttons(answer) == {}
        assert "could not record an answer: database or disk is full" in caplog.text


def test_feedback_config_defaults_to_a_file_beside_the_index(tmp_path: Path) -> None:
    from bot.config import Config

    config = Config(index_path=tmp_path / "data" / "index.sqlite")
    assert config.feedback_path == tmp_path / "data" / "feedback.sqlite"
    moved = replace(config, feedback=FeedbackConfig(path=tmp_path / "fb.sqlite"))
    assert moved.feedback_path == tmp_path / "fb.sqlite"
