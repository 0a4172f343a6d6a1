"""What each Bot API method does, with Telegram's checks: the messages and files that exist,
the limits on texts and buttons, reply targets, edits that change nothing."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from tests.telegram_html import Entity, TelegramHtmlError, check, parse

BOT_ID = 7000001
BOT_USERNAME = "dated_sources_test_bot"
# Methods that only answer true here.
_ACKNOWLEDGED = (
    "deleteWebhook",
    "setMyCommands",
    "setWebhook",
    "close",
    "logOut",
    "sendChatAction",
)


class ApiError(Exception):
    """A Bot API error answer: its HTTP code and description."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class BotApiMethods:
    """The Bot API's methods over the messages and files this server knows."""

    def __init__(self) -> None:
        # Messages that exist, by (chat id, message id): their text and buttons.
        self.messages: dict[tuple[int, int], tuple[str, Any]] = {}
        # Their formatting, as Telegram compares it to refuse an edit that changes nothing.
        self.entities: dict[tuple[int, int], tuple[Entity, ...]] = {}
        # Files users "sent": file_id -> (bytes, name); served by getFile and /file/bot….
        self.files: dict[str, tuple[bytes, str]] = {}
        self._message_ids = itertools.count(1000)
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": lambda p: self.bot_user(),
            **{name: lambda p: True for name in _ACKNOWLEDGED},
            "getFile": self._get_file,
            "answerCallbackQuery": self._answer_callback_query,
            "answerInlineQuery": self._answer_inline_query,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
        }

    def answer(self, method: str, p: dict[str, Any]) -> Any:
        """The result of one call, or ApiError as Telegram would refuse it."""
        handler = self._handlers.get(method)
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        return handler(p)

    def _get_file(self, p: dict[str, Any]) -> Any:
        file_id = str(p.get("file_id", ""))
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        data = self.files[file_id][0]
        if len(data) > 20 * 1024 * 1024:  # the Bot API's download limit
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(data),
            "file_path": f"documents/{file_id}",
        }

    def _answer_callback_query(self, p: dict[str, Any]) -> Any:
        _check_len(p.get("text", ""), 200, "callback answer text")
        return True

    def _answer_inline_query(self, p: dict[str, Any]) -> Any:
        results = p.get("results", [])
        if len(results) > 50:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        for r in results:
            if len(str(r.get("id", "")).encode()) > 64:
                raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
            content = r.get("input_message_content", {})
            self._check_text(content.get("message_text", ""), content.get("parse_mode"))
        return True

    def _send_message(self, p: dict[str, Any]) -> Any:
        self._check_text(p.get("text", ""), p.get("parse_mode"))
        self._check_markup(p.get("reply_markup"))
        self._check_reply(p)
        return self._message(p)

    def _edit_message_text(self, p: dict[str, Any]) -> Any:
        self._check_text(p.get("text", ""), p.get("parse_mode"))
        self._check_markup(p.get("reply_markup"))
        key = (int(p.get("chat_id", 0)), int(p.get("message_id", 0)))
        if key not in self.messages:
            raise ApiError(400, "Bad Request: message to edit not found")
        # Like Telegram: the same text, formatting and buttons is no edit at all.
        shown, entities = _parsed(p.get("text", ""), p.get("parse_mode"))
        same = self.messages[key] == (shown, p.get("reply_markup"))
        if same and self.entities.get(key, ()) == entities:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        return self._message(p, message_id=key[1])

    def _edit_message_reply_markup(self, p: dict[str, Any]) -> Any:
        self._check_markup(p.get("reply_markup"))
        key = (int(p.get("chat_id", 0)), int(p.get("message_id", 0)))
        if key not in self.messages:
            raise ApiError(400, "Bad Request: message to edit not found")
        text, markup = self.messages[key]
        if markup == p.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        return self._message({**p, "text": text, "parse_mode": None}, message_id=key[1], edit=True)

    def _delete_message(self, p: dict[str, Any]) -> Any:
        key = (int(p.get("chat_id", 0)), int(p.get("message_id", 0)))
        if self.messages.pop(key, None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    def _check_reply(self, p: dict[str, Any]) -> None:
        """A reply to a message that no longer exists fails, unless told to send anyway."""
        reply = p.get("reply_parameters") or {}
        if "reply_to_message_id" in p:
            reply = {"message_id": p["reply_to_message_id"], **p}
        if not reply:
            return
        key = (int(reply.get("chat_id", p.get("chat_id", 0))), int(reply["message_id"]))
        if key not in self.messages and not reply.get("allow_sending_without_reply"):
            raise ApiError(400, "Bad Request: message to be replied not found")

    def _check_text(self, text: str, parse_mode: str | None) -> None:
        if parse_mode == "HTML":
            try:
                check(text)
            except TelegramHtmlError as exc:
                raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        else:
            _check_len(text, 4096, "message")
            if not text.strip():
                raise ApiError(400, "Bad Request: message text is empty")

    def _check_markup(self, markup: Any) -> None:
        if not markup:
            return
        rows = markup.get("inline_keyboard", [])
        if sum(len(row) for row in rows) > 100:
            raise ApiError(400, "Bad Request: too many buttons")
        for row in rows:
            if len(row) > 8:
                raise ApiError(400, "Bad Request: too many buttons in a row")
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")

    def bot_user(self) -> dict[str, Any]:
        """The bot's User object."""
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Dated Sources",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }

    def _message(
        self, p: dict[str, Any], message_id: int | None = None, edit: bool = False
    ) -> dict[str, Any]:
        """The Message the server answers with, remembered; edit: only the buttons changed."""
        chat_id = int(p.get("chat_id", 0))
        message: dict[str, Any] = {
            "message_id": message_id or next(self._message_ids),
            "date": int(time.time()),
            "chat": {
                "id": chat_id,
                "type": "private" if chat_id > 0 else "supergroup",
                "title": "x",
            },
            "from": self.bot_user(),
        }
        text, entities = _parsed(p.get("text", ""), p.get("parse_mode"))
        message["text"] = text
        if p.get("reply_markup"):
            message["reply_markup"] = p["reply_markup"]
        key = (chat_id, message["message_id"])
        self.messages[key] = (text, p.get("reply_markup"))
        if not edit:  # editMessageReplyMarkup keeps the text's formatting
            self.entities[key] = entities
        return message


def _check_len(text: str, limit: int, what: str) -> None:
    if len(text.encode("utf-16-le")) // 2 > limit:
        raise ApiError(400, f"Bad Request: {what} is too long")


def _parsed(text: str, parse_mode: str | None) -> tuple[str, tuple[Entity, ...]]:
    return parse(text) if parse_mode == "HTML" else (text, ())
