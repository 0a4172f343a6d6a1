"""Asking, tapping and reading the vote buttons over HTTP, for the feedback tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.feedback import Complaint, StoredVote, Vote
from bot.feedback_chat import VOTE_DATA
from bot.feedback_store import FeedbackStore
from tests import fake_bot_api as api
from tests.bot_env import Env, reply_to

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
