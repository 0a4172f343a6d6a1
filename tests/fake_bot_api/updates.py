"""Updates as Telegram delivers them: messages, group messages, button presses, documents,
inline queries."""

from __future__ import annotations

import itertools
import time
from typing import Any

_ids = itertools.count(1)


def user(user_id: int, name: str = "Ana") -> dict[str, Any]:
    """A Telegram user."""
    return {"id": user_id, "is_bot": False, "first_name": name}


def message(
    text: str | None,
    chat_id: int,
    user_id: int,
    chat_type: str = "private",
    entities: list[dict[str, Any]] | None = None,
    reply_to: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A Message object."""
    msg: dict[str, Any] = {
        "message_id": next(_ids),
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": chat_type}
        | ({"title": "Group"} if chat_type != "private" else {"first_name": "Ana"}),
        "from": user(user_id),
        **extra,
    }
    if text is not None:
        msg["text"] = text
        if entities is None and text.startswith("/"):
            command = text.split()[0]
            entities = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if entities:
            msg["entities"] = entities
    if reply_to is not None:
        msg["reply_to_message"] = reply_to
    return msg


def text_update(text: str, chat_id: int = 111, user_id: int = 111, **kw: Any) -> dict[str, Any]:
    """An update carrying a new text message."""
    return {"message": message(text, chat_id, user_id, **kw)}


def group_update(
    text: str, chat_id: int = -100123, user_id: int = 222, **kw: Any
) -> dict[str, Any]:
    """An update carrying a supergroup message."""
    return {"message": message(text, chat_id, user_id, chat_type="supergroup", **kw)}


def callback_update(data: str, sent: dict[str, Any], user_id: int = 111) -> dict[str, Any]:
    """A button press on a message the bot sent."""
    return {
        "callback_query": {
            "id": str(next(_ids)),
            "from": user(user_id),
            "chat_instance": "ci",
            "data": data,
            "message": sent,
        }
    }


def document_update(
    file_id: str,
    name: str,
    size: int,
    chat_id: int = 111,
    user_id: int = 111,
    mime_type: str = "application/octet-stream",
) -> dict[str, Any]:
    """An update carrying a document a user sent."""
    document = {
        "file_id": file_id,
        "file_unique_id": f"u{file_id}",
        "file_name": name,
        "mime_type": mime_type,
        "file_size": size,
    }
    return {"message": message(None, chat_id, user_id, document=document)}


def inline_update(query: str, user_id: int = 111) -> dict[str, Any]:
    """An inline query."""
    return {
        "inline_query": {"id": str(next(_ids)), "from": user(user_id), "query": query, "offset": ""}
    }
