"""Feedback over real HTTP: vote buttons, the store beside the index, /stats, the gold export."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from bot.chat import STALE_BUTTON
from bot.config import FeedbackConfig
from bot.feedback import Complaint, StoredVote, Vote
from bot.feedback_chat import (
    ASK_REASON,
    FEEDBACK_OFF,
    NOT_ADMIN,
    STATS_IN_PRIVATE,
    STATS_OFF,
    THANKS_UP,
    VOTE_DATA,
    VOTE_REFUSED,
)
from bot.feedback_store import FeedbackStore, key_path, open_store
from tests import fake_bot_api as api
from tests.bot_env import ADMIN, Env, reply_to, running_bot

FOUND = "What did Peru commit to?"
NOT_FOUND = "how do I bake sourdough bread?"
GROUP = -100777
VOTE_LABELS = {"👍", "👎"}
REASON_LABELS = {"Wrong source", "Answer cut off", "Should say “not found”"}


def buttons(call: api.Call) -> list[dict[str, Any]]:
    """Every button a sent or edited message carries."""
    markup = call.params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def navigation(label: str) -> bool:
    """Whether a button is one of the answer's own (Full passage [n], More)."""
    return label.startswith("Full passage [") or label == "More"


def vote_buttons(call: api.Call) -> dict[str, str]:
    """The vote buttons of a message: label -> callback data."""
    return {
        b["text"]: b["callback_data"]
        for b in buttons(call)
        if VOTE_DATA.match(b.get("callback_data", ""))
    }


async def ask(
    server: api.FakeBotApi, question: str, chat_id: int = 111, user_id: int = 111
) -> api.Call:
    """Ask a question (with /ask in a group) and return the reply carrying its buttons."""
    if chat_id < 0:
        update = api.group_update(f"/ask {question}", chat_id=chat_id, user_id=user_id)
    else:
        update = api.text_update(question, chat_id=chat_id, user_id=user_id)
    replies = await reply_to(server, update)
    return replies[-1]


async def tap(
    server: api.FakeBotApi, message: dict[str, Any], data: str, user_id: int = 111
) -> api.Call:
    """Press a button of a message as it now stands; the press's answer (its notice)."""
    update = api.callback_update(data, message, user_id=user_id)
    query_id = update["callback_query"]["id"]
    server.push(update)
    [answered] = await server.wait_for(
        lambda c: (
            c.method == "answerCallbackQuery" and str(c.params["callback_query_id"]) == query_id
        )
    )
    return answered


async def edited(server: api.FakeBotApi, message: dict[str, Any], count: int) -> api.Call:
    """The count-th edit of a message's buttons, once it has come."""
    edits = await server.wait_for(
        lambda c: (
            c.method == "editMessageReplyMarkup" and c.params["message_id"] == message["message_id"]
        ),
        count,
    )
    return edits[count - 1]


def label_of(call: api.Call, label: str) -> str:
    """The callback data of the button with this label."""
    return str(next(b["callback_data"] for b in buttons(call) if b["text"] == label))


async def barrier(server: api.FakeBotApi) -> None:
    """An update handled after everything pushed before it, in another chat."""
    [reply] = await reply_to(server, api.text_update("/help", chat_id=112, user_id=112))
    assert reply.params["chat_id"] == 112


def feedback_files(folder: Path) -> list[str]:
    """Files of a feedback store (and its key) in a folder."""
    return [p.name for p in folder.iterdir() if "feedback" in p.name]


def store_of(env: Env) -> FeedbackStore:
    store = env.app.bot_data.feedback
    assert store is not None
    return store


def current(votes: list[StoredVote]) -> list[tuple[Vote, Complaint | None]]:
    return [(v.vote, v.complaint) for v in votes]


async def test_answers_carry_vote_buttons_within_limits(env: Env) -> None:
    found = await ask(env.server, FOUND)
    votes = vote_buttons(found)
    assert set(votes) == VOTE_LABELS
    rows = found.params["reply_markup"]["inline_keyboard"]
    assert [b["text"] for b in rows[-1]] == ["👍", "👎"]  # last, below the passage buttons
    assert any(b["text"].startswith("Full passage") for b in buttons(found))
    assert all(len(row) <= 3 for row in rows)
    assert all(len(b["callback_data"].encode()) < 64 for b in buttons(found))

    missing = await ask(env.server, NOT_FOUND)
    assert missing.params["text"] == "The sources do not answer this question."
    assert [b["text"] for b in buttons(missing)] == ["👍", "👎"]

    # Not a question at all: nothing to rate, nothing recorded.
    nothing = await ask(env.server, "the?")
    assert "reply_markup" not in nothing.params
    assert [a["question"] for a in store_of(env).answers()] == [FOUND, NOT_FOUND]


async def test_a_more_page_has_no_vote_buttons(env: Env) -> None:
    first = await ask(env.server, "Venezuela defense brigade")
    more = next(b for b in buttons(first) if b["text"] == "More")
    before = len(env.server.sent(111))
    await tap(env.server, first.result, more["callback_data"])
    calls = await env.server.wait_for(
        lambda c: c.method == "sendMessage" and c.params["chat_id"] == 111, count=before + 1
    )
    assert vote_buttons(calls[-1]) == {}
    assert len(store_of(env).answers()) == 1  # a page of the same answer, not a question


async def test_votes_are_stored_changed_and_never_shown_to_the_group(env: Env) -> None:
    answer = await ask(env.server, FOUND, chat_id=GROUP, user_id=501)
    votes = vote_buttons(answer)
    [answer_id] = [a["id"] for a in store_of(env).answers()]

    up = await tap(env.server, answer.result, votes["👍"], user_id=501)
    assert up.params["text"] == THANKS_UP
    assert current(store_of(env).votes(answer_id)) == [(Vote.UP, None)]

    # 👎 changes the vote and offers the reasons under the answer.
    down = await tap(env.server, answer.result, votes["👎"], user_id=501)
    assert down.params["text"] == ASK_REASON
    opened = await edited(env.server, answer.result, 1)
    labels = {b["text"] for b in buttons(opened) if not navigation(b["text"])}
    assert labels == REASON_LABELS | VOTE_LABELS
    assert all(len(row) <= 3 for row in opened.params["reply_markup"]["inline_keyboard"])
    assert current(store_of(env).votes(answer_id)) == [(Vote.DOWN, None)]

    noted = await tap(env.server, opened.result, label_of(opened, "Wrong source"), user_id=501)
    assert noted.params["text"] == "Thanks. Noted: 👎 (wrong source)."
    assert current(store_of(env).votes(answer_id)) == [(Vote.DOWN, Complaint.WRONG_SOURCE)]
    folded = await edited(env.server, answer.result, 2)
    assert buttons(folded) == buttons(answer)  # the reasons folded away again

    # Another member's vote is theirs alone; nobody's vote changes what the group sees.
    other = await tap(env.server, folded.result, votes["👍"], user_id=502)
    assert other.params["text"] == THANKS_UP
    assert sorted(current(store_of(env).votes(answer_id))) == sorted(
        [(Vote.DOWN, Complaint.WRONG_SOURCE), (Vote.UP, None)]
    )
    await barrier(env.server)
    assert env.server.sent(GROUP) == [answer]
    assert [c.method for c in env.server.calls if c.method.startswith("edit")] == [
        "editMessageReplyMarkup",
        "editMessageReplyMarkup",
    ]  # 👍 changes nothing on screen
    shown = {b["text"] for c in env.server.calls for b in buttons(c)}
    assert {s for s in shown if not navigation(s)} <= VOTE_LABELS | REASON_LABELS


async def test_a_not_found_voted_down_means_it_is_there(env: Env) -> None:
    missing = await ask(env.server, NOT_FOUND)
    down = await tap(env.server, missing.result, vote_buttons(missing)["👎"])
    assert down.params["text"] == "Thanks. Noted: 👎 (not found but it is there)."
    [answer] = store_of(env).answers()
    assert answer["found"] == 0
    assert json.loads(answer["citations"]) == []
    assert current(store_of(env).votes(answer["id"])) == [(Vote.DOWN, Complaint.IT_IS_THERE)]
    await barrier(env.server)
    assert not [c for c in env.server.calls if c.method == "editMessageReplyMarkup"]


async def test_a_vote_on_a_message_too_old_to_edit_is_taken_without_reasons(env: Env) -> None:
    answer = await ask(env.server, FOUND)
    # Telegram sends a message older than 48 hours as inaccessible: date 0, nothing else.
    old = {"message_id": answer.result["message_id"], "date": 0, "chat": answer.result["chat"]}
    down = await tap(env.server, old, vote_buttons(answer)["👎"])
    assert down.params["text"] == "Thanks. Noted: 👎 (no reason given)."
    [stored] = store_of(env).answers()
    assert current(store_of(env).votes(stored["id"])) == [(Vote.DOWN, None)]
    await barrier(env.server)
    assert not [c for c in env.server.calls if c.method.startswith("edit")]


async def test_votes_survive_a_reindex_a_restart_and_a_deleted_index(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(tmp_path, caplog) as env:
        answer = await ask(env.server, FOUND)
        votes = vote_buttons(answer)
        await tap(env.server, answer.result, votes["👍"])
        old_generation = env.app.bot_data.service.generation
        (env.corpus / "memo.txt").write_text(
            "Memo. The harvest festival moved to Tuesday.", encoding="utf-8"
        )
        env.server.push(api.text_update("/reindex", chat_id=ADMIN, user_id=ADMIN))
        await env.server.wait_for(
            lambda c: c.method == "editMessageText" and "Reindex done" in c.params["text"],
            within=120,
        )
        assert env.app.bot_data.service.generation != old_generation
        # The answer's passage buttons belong to the old index; its vote buttons still count.
        full = next(b for b in buttons(answer) if b["text"] == "Full passage [1]")
        expired = await tap(env.server, answer.result, full["callback_data"])
        assert expired.params["text"] == STALE_BUTTON
        down = await tap(env.server, answer.result, votes["👎"])
        assert down.params["text"] == ASK_REASON
        await edited(env.server, answer.result, 1)
        [stored] = store_of(env).answers()
        assert stored["generation"] == old_generation
        assert stored["question"] == FOUND
        cited = json.loads(stored["citations"])
        assert cited[0]["source"] == "000_63e586bc02c946bd.txt"
        assert cited[0]["passage"][0] < cited[0]["passage"][1]
        assert "solidarity efforts for Venezuela" in cited[0]["excerpt"]
        message = answer.result

    (tmp_path / "index.sqlite").unlink()
    async with running_bot(tmp_path, caplog) as env:
        [stored] = store_of(env).answers()
        assert current(store_of(env).votes(stored["id"])) == [(Vote.DOWN, None)]
        # The old message's buttons still work after the restart and the rebuilt index.
        again = await tap(env.server, message, votes["👍"])
        assert again.params["text"] == THANKS_UP
        assert current(store_of(env).votes(stored["id"])) == [(Vote.UP, None)]
        await ask(env.server, NOT_FOUND)

    store = open_store(tmp_path / "feedback.sqlite")
    try:
        assert [a["question"] for a in store.answers()] == [FOUND, NOT_FOUND]
        assert store.stats().questions == 2
    finally:
        store.close()


async def test_forged_votes_are_refused_politely(env: Env) -> None:
    answer = await ask(env.server, FOUND)
    message = answer.result
    up = vote_buttons(answer)["👍"]
    _, answer_id, _, token = up.split(":")
    twin = api.message("x", 112, 112)
    forged = [
        (message, f"f:{answer_id}:u:AAAAAAAA"),  # a made-up token
        (message, f"f:{int(answer_id) + 1}:u:{token}"),  # another answer's id
        (twin, up),  # a real button pressed from another chat
    ]
    for where, data in forged:
        refused = await tap(env.server, where, data)
        assert refused.params["text"] == VOTE_REFUSED
    for data in (f"f:{answer_id}:x:{token}", f"f:{answer_id}:u:{token}=", "f:" + "1" * 70):
        refused = await tap(env.server, message, data)
        assert refused.params["text"] == STALE_BUTTON
    assert store_of(env).votes() == []
    assert env.server.sent() == [answer]
    assert not [c for c in env.server.calls if c.method.startswith("edit")]


async def test_votes_on_answers_the_store_no_longer_holds_are_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(tmp_path, caplog) as env:
        answer = await ask(env.server, FOUND)
        store = store_of(env)
        [stored] = store.answers()
        # A real token for an answer that was never stored (or was lost with its store).
        token = store.vote_token(stored["id"] + 1, 111)
        gone = await tap(env.server, answer.result, f"f:{stored['id'] + 1}:u:{token}")
        assert gone.params["text"] == VOTE_REFUSED
    store_file = tmp_path / "feedback.sqlite"
    for lost in (store_file, key_path(store_file)):
        lost.unlink()
    async with running_bot(tmp_path, caplog) as env:
        stale = await tap(env.server, answer.result, vote_buttons(answer)["👍"])
        assert stale.params["text"] == VOTE_REFUSED
        assert store_of(env).votes() == []
        assert env.server.sent() == []


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
