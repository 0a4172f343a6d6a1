"""Inline buttons: one kind each, its callback data made and matched in one place.

Callback data is "<kind>:<field>:…", ASCII, at most 64 bytes, and the patterns below accept
exactly what the builders make (bounded lengths, digits only where numbers go, nothing
after): python-telegram-bot routes a press with CallbackQueryHandler(pattern=…) and the
handler reads the named groups. Anything else, forged or from an older version, reaches
the fallback handler and gets the "expired" notice.
"""

from __future__ import annotations

import re
from enum import StrEnum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup


class Kind(StrEnum):
    """What a button does; the value is its callback data's prefix."""

    PASSAGE = "p"  # Full passage [n]
    MORE = "m"  # the next citations of an answer
    PAGE = "s"  # ‹ Previous / Next › under /sources
    VOTE = "f"  # 👍 / 👎 and the reasons under 👎


class Choice(StrEnum):
    """A vote button's choice: 👍, 👎, or 👎 with one of its reasons."""

    UP = "u"
    DOWN = "d"
    WRONG_SOURCE = "w"
    CUT_OFF = "c"
    SHOULD_SAY_NOT_FOUND = "n"
    IT_IS_THERE = "t"


_GENERATION = r"(?P<generation>[0-9a-f]{8})"
PATTERNS: dict[Kind, re.Pattern[str]] = {
    Kind.PASSAGE: re.compile(rf"p:{_GENERATION}:(?P<passage>[0-9]{{1,12}})\Z", re.ASCII),
    Kind.MORE: re.compile(
        rf"m:{_GENERATION}:(?P<key>[A-Za-z0-9_-]{{1,16}}):(?P<offset>[0-9]{{1,4}})\Z", re.ASCII
    ),
    Kind.PAGE: re.compile(rf"s:{_GENERATION}:(?P<page>[0-9]{{1,5}})\Z", re.ASCII),
    Kind.VOTE: re.compile(
        r"f:(?P<answer>[0-9]{1,12}):(?P<choice>["
        + "".join(Choice)
        + r"]):(?P<token>[A-Za-z0-9_-]{8})\Z",
        re.ASCII,
    ),
}
PER_ROW = 3


def data(kind: Kind, *fields: object) -> str:
    """The callback data of a button of this kind."""
    return ":".join([kind.value, *map(str, fields)])


def passage(n: int, generation: str, passage_id: int) -> InlineKeyboardButton:
    """ "Full passage [n]"."""
    return InlineKeyboardButton(
        f"Full passage [{n}]", callback_data=data(Kind.PASSAGE, generation, passage_id)
    )


def more(generation: str, key: str, offset: int) -> InlineKeyboardButton:
    """ "More": the citations from offset on."""
    return InlineKeyboardButton("More", callback_data=data(Kind.MORE, generation, key, offset))


def vote(answer_id: int, choice: Choice, token: str, label: str) -> InlineKeyboardButton:
    """A vote on an answer; the token binds it to the answer and its chat."""
    return InlineKeyboardButton(label, callback_data=data(Kind.VOTE, answer_id, choice, token))


def is_vote(button: InlineKeyboardButton) -> bool:
    """Whether a button already on a message is a vote button."""
    return PATTERNS[Kind.VOTE].match(str(button.callback_data or "")) is not None


def rows(buttons: list[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    """Buttons in rows of at most PER_ROW (phone width)."""
    return [buttons[i : i + PER_ROW] for i in range(0, len(buttons), PER_ROW)]


def pages(generation: str, page: int, count: int) -> InlineKeyboardMarkup | None:
    """ "‹ Previous" and "Next ›" around page (from 0) of count pages; none for one page."""
    row = []
    if page > 0:
        row.append(
            InlineKeyboardButton("‹ Previous", callback_data=data(Kind.PAGE, generation, page - 1))
        )
    if page + 1 < count:
        row.append(
            InlineKeyboardButton("Next ›", callback_data=data(Kind.PAGE, generation, page + 1))
        )
    return InlineKeyboardMarkup([row]) if row else None
