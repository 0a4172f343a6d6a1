"""Feedback over real HTTP: vote buttons, votes stored, changed, refused, kept across a
reindex and a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.chat import STALE_BUTTON
from bot.feedback import Complaint, Vote
from bot.feedback_chat import (
    ASK_REASON,
    THANKS_UP,
    VOTE_REFUSED,
)
from bot.feedback_store import key_path, open_store
from tests import fake_bot_api as api
from tests.bot_env import ADMIN, Env, running_bot
from tests.feedback_env import (
    FOUND,
    GROUP,
    NOT_FOUND,
    REASON_LABELS,
    VOTE_LABELS,
    ask,
    barrier,
    buttons,
    current,
    edited,
    label_of,
    navigation,
    store_of,
    tap,
    vote_buttons,
)


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
