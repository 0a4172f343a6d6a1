"""Button data: what the builders make is what the patterns route, within Telegram's 64 bytes."""

from __future__ import annotations

import pytest
from telegram import InlineKeyboardButton

from bot import buttons
from bot.buttons import Choice, Kind

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
