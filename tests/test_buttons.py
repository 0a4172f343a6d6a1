"""Buttons: what the builders make is what the patterns route, within Telegram's 64 bytes;
and over HTTP, forged and failing presses, and keyboards a phone can show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from telegram import InlineKeyboardButton

from bot import buttons
from bot.buttons import Choice, Kind
from tests import bot_env
from tests import fake_bot_api as api
from tests.bot_env import Env, reply_to

GENERATION = "0123abcd"
LARGEST = [
    (Kind.PASSAGE, buttons.passage(10, GENERATION, 10**12 - 1)),
    (Kind.MORE, buttons.more(GENERATION, "A" * 16, 9999)),
    (Kind.VOTE, buttons.vote(10**12 - 1, Choice.SHOULD_SAY_NOT_FOUND, "Zz_-0123", "👎")),
]


@pytest.mark.parametrize(("kind", "button"), LARGEST)
def test_the_largest_data_of_each_kind_is_routed_and_fits(
    kind: Kind, button: InlineKeyboardButton
) -> None:
    data = str(button.callback_data)
    assert len(data.encode()) <= 64
    assert buttons.PATTERNS[kind].match(data)
    assert [k for k, p in buttons.PATTERNS.items() if p.match(data)] == [kind]


def test_page_buttons_turn_from_the_first_to_the_last_page() -> None:
    assert buttons.pages(GENERATION, 0, 1) is None
    first, middle, last = (buttons.pages(GENERATION, p, 3) for p in range(3))
    assert first is not None
    assert middle is not None
    assert last is not None
    assert [b.text for b in first.inline_keyboard[0]] == ["Next ›"]
    assert [b.text for b in middle.inline_keyboard[0]] == ["‹ Previous", "Next ›"]
    assert [b.callback_data for b in last.inline_keyboard[0]] == [f"s:{GENERATION}:1"]
    for markup in (first, middle, last):
        for button in markup.inline_keyboard[0]:
            match = buttons.PATTERNS[Kind.PAGE].match(str(button.callback_data))
            assert match is not None
            assert match["generation"] == GENERATION


@pytest.mark.parametrize(
    "data",
    [
        "p:0123abcd:12\n",  # nothing after
        "p:0123ABCD:12",  # a generation is lower-case hex
        "p:0123abcd:\u0661\u0662",  # ASCII digits only
        "m:0123abcd:key:12345",  # offsets up to 9999
        "f:1:x:Zz_-0123",  # no such choice
        "s:0123abcd:-1",
    ],
)
def test_forged_data_matches_no_kind(data: str) -> None:
    assert not any(p.match(data) for p in buttons.PATTERNS.values())


def test_vote_buttons_are_told_apart_from_the_others() -> None:
    assert buttons.is_vote(buttons.vote(3, Choice.UP, "Zz_-0123", "👍"))
    assert not buttons.is_vote(buttons.passage(1, GENERATION, 3))


async def _more_button(env: Env) -> tuple[str, str, str]:
    """The generation, question key and offset of a real "More" button."""
    [reply] = await reply_to(env.server, api.text_update("Venezuela defense brigade"))
    buttons = [b for row in reply.params["reply_markup"]["inline_keyboard"] for b in row]
    more = next(b for b in buttons if b["text"] == "More")
    _, generation, key, offset = more["callback_data"].split(":")
    return generation, key, offset


@pytest.mark.parametrize(
    "forge",
    [
        "m:{gen}:{key}:1000000",
        "m:{gen}:{key}:9999",
        "m:{gen}:{key}:0",
        "m:{gen}:{key}:\u0663",  # ARABIC-INDIC DIGIT THREE
        "m:{gen}:{key}:3\n",
        "m:{gen}:nosuchkey:3",
        "p:{gen}:" + "9" * 5000,
        "p:{gen}:\u0661\u0662",
        "p:{gen}:999999999",
        "s:{gen}:99",
        "s:{gen}:-1",
    ],
)
async def test_forged_buttons_of_the_current_index_get_a_notice(env: Env, forge: str) -> None:
    generation, key, _ = await _more_button(env)
    sent = {"message_id": 1, "date": 0, "chat": {"id": 111, "type": "private"}, "text": "x"}
    update = api.callback_update(forge.format(gen=generation, key=key), sent)
    env.server.push(update)
    [call] = await env.server.wait_for(lambda c: c.method == "answerCallbackQuery")
    assert call.params["text"] == "This button has expired. Please ask again."
    assert str(call.params["callback_query_id"]) == update["callback_query"]["id"]
    assert len(env.server.sent(111)) == 1  # only the answer that made the button


async def test_more_answers_its_button_once_even_when_answering_fails(
    env: Env, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    generation, key, offset = await _more_button(env)
    sent = {"message_id": 1, "date": 0, "chat": {"id": 111, "type": "private"}, "text": "x"}
    ok = api.callback_update(f"m:{generation}:{key}:{offset}", sent)
    env.server.push(ok)
    await env.server.wait_for(lambda c: c.method == "sendMessage", count=2)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("scoring broke")

    monkeypatch.setattr(env.app.bot_data.service, "answer", broken)
    failing = api.callback_update(f"m:{generation}:{key}:{offset}", sent)
    env.server.push(failing)
    await env.server.wait_for(
        lambda c: (
            c.method == "answerCallbackQuery"
            and str(c.params["callback_query_id"]) == failing["callback_query"]["id"]
        )
    )
    # A later update, handled after both: nothing more came for either press.
    [reply] = await reply_to(env.server, api.text_update("/help", chat_id=112, user_id=112))
    answers = [c for c in env.server.calls if c.method == "answerCallbackQuery"]
    ids = [str(a.params["callback_query_id"]) for a in answers]
    assert sorted(ids) == sorted([ok["callback_query"]["id"], failing["callback_query"]["id"]])
    [apology] = [a for a in answers if a.params.get("text")]
    assert apology.params["text"].startswith("Sorry, something went wrong")
    assert "scoring broke" in caplog.text
    assert reply.params["chat_id"] == 112


async def test_buttons_stay_phone_width(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with bot_env.running_bot(tmp_path, caplog, config={"max_citations": 10}) as env:
        env.server.push(api.text_update("Venezuela"))
        [reply] = await env.server.wait_for(
            lambda c: c.method == "sendMessage" and "reply_markup" in c.params
        )
        rows = reply.params["reply_markup"]["inline_keyboard"]
        passages = [b for row in rows for b in row if b["text"].startswith("Full passage")]
        assert len(passages) >= 4
        assert all(len(row) <= 3 for row in rows)
