"""A stand-in Telegram Bot API server on 127.0.0.1: real HTTP, real-shaped JSON, calls recorded."""

from __future__ import annotations

import asyncio
import contextlib
import http
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.telegram_html import Entity, TelegramHtmlError, check, parse

BOT_ID = 7000001
BOT_USERNAME = "dated_sources_test_bot"


@dataclass
class Call:
    """One Bot API request the bot made."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    # What the server answered with ok: true (the sent Message for sendMessage).
    result: Any = None


@dataclass
class Fault:
    """A scripted failure for the next matching call."""

    method: str
    status: int = 500
    body: dict[str, Any] | None = None
    delay: float = 0.0
    drop: bool = False
    chat_id: int | None = None  # only calls for this chat meet the fault

    @classmethod
    def flood(cls, method: str, retry_after: int = 1, chat_id: int | None = None) -> Fault:
        """Telegram's flood-control answer: 429 with parameters.retry_after."""
        return cls(
            method,
            status=429,
            body={
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after},
            },
            chat_id=chat_id,
        )

    def meets(self, call: Call) -> bool:
        """Whether this fault is for the call."""
        return self.method == call.method and (
            self.chat_id is None or call.params.get("chat_id") == self.chat_id
        )


class FakeBotApi:
    """Serves /bot<token>/<method> like api.telegram.org, and records what the bot sends."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.rejected: list[tuple[Call, str]] = []
        # Calls that met a scripted fault (an error answer, a dropped connection).
        self.failed: list[Call] = []
        self.faults: list[Fault] = []
        # Chats that blocked the bot (or removed it): sending there is refused with 403.
        self.blocked: set[int] = set()
        self.blocked_calls: list[Call] = []
        # Messages that exist, by (chat id, message id): their text and buttons.
        self.messages: dict[tuple[int, int], tuple[str, Any]] = {}
        # Their formatting, as Telegram compares it to refuse an edit that changes nothing.
        self.entities: dict[tuple[int, int], tuple[Entity, ...]] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._changed = asyncio.Condition()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.confirmed_offset = 0
        # Files users "sent": file_id -> (bytes, name); served by getFile and /file/bot….
        self.files: dict[str, tuple[bytes, str]] = {}
        self.downloads: list[str] = []

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/bot"

    async def release_polls(self) -> None:
        """Answer every long poll at once from now on, so that the bot can stop without
        waiting for its poll's timeout."""
        self._closing = True
        async with self._changed:
            self._changed.notify_all()

    async def stop(self) -> None:
        """Stop serving."""
        await self.release_polls()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------ updates in

    def push(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; returns its update_id."""
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **update})
        for message in (update.get("message"), update.get("callback_query", {}).get("message")):
            if message:
                key = (message["chat"]["id"], message["message_id"])
                self.messages[key] = (message.get("text", ""), message.get("reply_markup"))
        asyncio.get_running_loop().create_task(self._notify())
        return update_id

    def delete_message(self, chat_id: int, message_id: int) -> None:
        """Delete a message, as a user or a moderation bot would."""
        del self.messages[(chat_id, message_id)]

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def add_file(self, data: bytes, name: str) -> str:
        """Store a file as if a user had uploaded it; returns its file_id."""
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = (data, name)
        return file_id

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        self.downloads.append(path)
        file_id = path.rsplit("/", 1)[-1]
        if file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id][0])

    # ------------------------------------------------------------ waiting

    async def wait_for(
        self, predicate: Callable[[Call], bool], count: int = 1, within: float = 60.0
    ) -> list[Call]:
        """Wait until count recorded calls satisfy predicate."""
        deadline = time.monotonic() + within
        while True:
            found = [c for c in self.calls if predicate(c)]
            if len(found) >= count:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                methods = [c.method for c in self.calls]
                raise AssertionError(f"timed out waiting; calls so far: {methods}")
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(remaining, 0.2))

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """sendMessage calls, optionally to one chat."""
        return [
            c
            for c in self.calls
            if c.method == "sendMessage" and (chat_id is None or c.params.get("chat_id") == chat_id)
        ]

    # ------------------------------------------------------------ serving

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params = await _params(request)
        call = Call(method, params)
        fault = next((f for f in self.faults if f.meets(call)), None)
        if fault is not None:
            self.faults.remove(fault)
            self.calls.append(call)
            self.failed.append(call)
            await self._notify()
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop:
                if request.transport is not None:
                    request.transport.close()
                return web.Response(status=500)
            body = fault.body or {
                "ok": False,
                "error_code": fault.status,
                "description": http.HTTPStatus(fault.status).phrase,
            }
            return web.json_response(body, status=fault.status)
        if method != "getUpdates":
            self.calls.append(call)
            await self._notify()
        if params.get("chat_id") in self.blocked and method != "getUpdates":
            self.blocked_calls.append(call)
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 403,
                    "description": "Forbidden: bot was blocked by the user",
                },
                status=403,
            )
        try:
            result = await self._dispatch(method, params)
        except _ApiError as exc:
            self.rejected.append((call, exc.description))
            return web.json_response(
                {"ok": False, "error_code": exc.code, "description": exc.description},
                status=exc.code,
            )
        call.result = result
        return web.json_response({"ok": True, "result": result})

    async def _dispatch(self, method: str, p: dict[str, Any]) -> Any:
        if method == "getMe":
            return self.bot_user()
        if method == "getUpdates":
            return await self._get_updates(p)
        if method in ("deleteWebhook", "setMyCommands", "setWebhook", "close", "logOut"):
            return True
        if method == "sendChatAction":
            return True
        if method == "getFile":
            file_id = str(p.get("file_id", ""))
            if file_id not in self.files:
                raise _ApiError(400, "Bad Request: invalid file_id")
            data = self.files[file_id][0]
            if len(data) > 20 * 1024 * 1024:  # the Bot API's download limit
                raise _ApiError(400, "Bad Request: file is too big")
            return {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_size": len(data),
                "file_path": f"documents/{file_id}",
            }
        if method == "answerCallbackQuery":
            _check_len(p.get("text", ""), 200, "callback answer text")
            return True
        if method == "answerInlineQuery":
            results = p.get("results", [])
            if len(results) > 50:
                raise _ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
            for r in results:
                if len(str(r.get("id", "")).encode()) > 64:
                    raise _ApiError(400, "Bad Request: RESULT_ID_INVALID")
                content = r.get("input_message_content", {})
                self._check_text(content.get("message_text", ""), content.get("parse_mode"))
            return True
        if method == "sendMessage":
            self._check_text(p.get("text", ""), p.get("parse_mode"))
            self._check_markup(p.get("reply_markup"))
            self._check_reply(p)
            return self._message(p)
        if method == "editMessageText":
            self._check_text(p.get("text", ""), p.get("parse_mode"))
            self._check_markup(p.get("reply_markup"))
            key = (int(p.get("chat_id", 0)), int(p.get("message_id", 0)))
            if key not in self.messages:
                raise _ApiError(400, "Bad Request: message to edit not found")
            # Like Telegram: the same text, formatting and buttons is no edit at all.
            shown, entities = _parsed(p.get("text", ""), p.get("parse_mode"))
            same = self.messages[key] == (shown, p.get("reply_markup"))
            if same and self.entities.get(key, ()) == entities:
                raise _ApiError(
                    400,
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message",
                )
            return self._message(p, message_id=key[1])
        if method == "editMessageReplyMarkup":
            self._check_markup(p.get("reply_markup"))
            key = (int(p.get("chat_id", 0)), int(p.get("message_id", 0)))
            if key not in self.messages:
                raise _ApiError(400, "Bad Request: message to edit not found")
            text, markup = self.messages[key]
            if markup == p.get("reply_markup"):
                raise _ApiError(400, "Bad Request: message is not modified")
            return self._message(
                {**p, "text": text, "parse_mode": None}, message_id=key[1], edit=True
            )
        if method == "deleteMessage":
            key = (int(p.get("chat_id", 0)), int(p.get("message_id", 0)))
            if self.messages.pop(key, None) is None:
                raise _ApiError(400, "Bad Request: message to delete not found")
            return True
        raise _ApiError(404, "Not Found: method not found")

    def _check_reply(self, p: dict[str, Any]) -> None:
        """A reply to a message that no longer exists fails, unless told to send anyway."""
        reply = p.get("reply_parameters") or {}
        if "reply_to_message_id" in p:
            reply = {"message_id": p["reply_to_message_id"], **p}
        if not reply:
            return
        key = (int(reply.get("chat_id", p.get("chat_id", 0))), int(reply["message_id"]))
        if key not in self.messages and not reply.get("allow_sending_without_reply"):
            raise _ApiError(400, "Bad Request: message to be replied not found")

    async def _get_updates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(p.get("offset", 0) or 0)
        timeout = float(p.get("timeout", 0) or 0)
        if offset:
            self.confirmed_offset = max(self.confirmed_offset, offset)
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        while not self._updates:
            remaining = deadline - time.monotonic()
            if self._closing:
                return []
            if remaining <= 0:
                return []
            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    return []
        limit = int(p.get("limit", 100) or 100)
        return self._updates[:limit]

    def _check_text(self, text: str, parse_mode: str | None) -> None:
        if parse_mode == "HTML":
            try:
                check(text)
            except TelegramHtmlError as exc:
                raise _ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        else:
            _check_len(text, 4096, "message")
            if not text.strip():
                raise _ApiError(400, "Bad Request: message text is empty")

    def _check_markup(self, markup: Any) -> None:
        if not markup:
            return
        rows = markup.get("inline_keyboard", [])
        if sum(len(row) for row in rows) > 100:
            raise _ApiError(400, "Bad Request: too many buttons")
        for row in rows:
            if len(row) > 8:
                raise _ApiError(400, "Bad Request: too many buttons in a row")
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")

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


class _ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _check_len(text: str, limit: int, what: str) -> None:
    if len(text.encode("utf-16-le")) // 2 > limit:
        raise _ApiError(400, f"Bad Request: {what} is too long")


def _parsed(text: str, parse_mode: str | None) -> tuple[str, tuple[Entity, ...]]:
    return parse(text) if parse_mode == "HTML" else (text, ())


async def _params(request: web.Request) -> dict[str, Any]:
    """Form fields (python-telegram-bot JSON-encodes nested values) or a JSON body."""
    if request.content_type == "application/json":
        data = await request.json()
        return dict(data) if isinstance(data, dict) else {}
    raw = dict(request.query)
    if request.can_read_body:
        post = await request.post()
        raw.update({k: v for k, v in post.items() if isinstance(v, str)})
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "text":  # free text: never decode it as JSON
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


# ---------------------------------------------------------------- update builders

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
