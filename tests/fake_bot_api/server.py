"""The stand-in Bot API server: real HTTP on 127.0.0.1, long polling, scripted faults
(errors, 429 flood waits, dropped connections), blocked chats, every call recorded."""

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

from tests.fake_bot_api.methods import ApiError, BotApiMethods
from tests.local_http import serve


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


class FakeBotApi(BotApiMethods):
    """Serves /bot<token>/<method> like api.telegram.org, and records what the bot sends."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.calls: list[Call] = []
        self.rejected: list[tuple[Call, str]] = []
        # Calls that met a scripted fault (an error answer, a dropped connection).
        self.failed: list[Call] = []
        self.faults: list[Fault] = []
        # Chats that blocked the bot (or removed it): sending there is refused with 403.
        self.blocked: set[int] = set()
        self.blocked_calls: list[Call] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.confirmed_offset = 0
        self.downloads: list[str] = []

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner, base = await serve(app)
        self.base_url = f"{base}/bot"

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
        except ApiError as exc:
            self.rejected.append((call, exc.description))
            return web.json_response(
                {"ok": False, "error_code": exc.code, "description": exc.description},
                status=exc.code,
            )
        call.result = result
        return web.json_response({"ok": True, "result": result})

    async def _dispatch(self, method: str, p: dict[str, Any]) -> Any:
        if method == "getUpdates":
            return await self._get_updates(p)
        return self.answer(method, p)

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
