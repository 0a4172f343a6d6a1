"""Adding and removing sources from the chat, over real HTTP: the stand-in Bot API server
for Telegram and a local web server for links."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from ipaddress import ip_network
from pathlib import Path

import pytest
from aiohttp import web

from bot.config import SourcesConfig
from bot.sources_chat import NOT_ADMIN
from tests import fake_bot_api as api
from tests.bot_env import ADMIN, Env, reply_to, running_bot
from tests.local_http import serve
from tests.make_docs import text_pdf

FORMATS = Path(__file__).parent / "corpus_formats"
STRANGER = 999
MAX_UPLOAD = 512 * 1024
MAX_PAGE = 256 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WebSite:
    """Pages on 127.0.0.1, as a link sent to the bot would lead to."""

    def __init__(self) -> None:
        self.runner: web.AppRunner | None = None
        self.base = ""
        self.endless_chunks = 0

    async def start(self) -> None:
        app = web.Application()
        page = (FORMATS / "pages" / "council-budget.html").read_bytes()
        app.router.add_get("/council.html", _serve(page, "text/html; charset=utf-8"))
        app.router.add_get("/report.pdf", _serve(text_pdf(), "application/pdf"))
        app.router.add_get("/redirect", self._redirect_private)
        app.router.add_get("/endless", self._endless)
        app.router.add_get("/program", _serve(b"\x7fELF" + bytes(100), "application/pdf"))
        self.runner, self.base = await serve(app)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _redirect_private(self, request: web.Request) -> web.Response:
        # Never followed: the bot checks the address before connecting.
        raise web.HTTPFound("http://10.11.12.13/internal/admin")

    async def _endless(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        await response.write(b"<html><body><p>")
        for _ in range(100_000):  # bounded: stops by itself after 6 GB at most
            try:
                await response.write(b"and it goes on " * 4096)
            except (ConnectionResetError, RuntimeError):
                break
            self.endless_chunks += 1
        return response


def _serve(data: bytes, content_type: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=data, headers={"Content-Type": content_type})

    return handler


@pytest.fixture
async def site() -> AsyncIterator[WebSite]:
    website = WebSite()
    await website.start()
    try:
        yield website
    finally:
        await website.stop()


@pytest.fixture
async def bot(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, bm25_seed_db: Path
) -> AsyncIterator[Env]:
    sources = SourcesConfig(
        max_upload_bytes=MAX_UPLOAD,
        fetch_max_bytes=MAX_PAGE,
        fetch_timeout=60,
        allowed_networks=(ip_network("127.0.0.1/32"),),
    )
    async with running_bot(tmp_path, caplog, sources=sources, index=bm25_seed_db) as env:
        yield env


def files(corpus: Path) -> dict[str, bytes]:
    """Every file under the corpus, hidden ones included."""
    return {
        p.relative_to(corpus).as_posix(): p.read_bytes() for p in corpus.rglob("*") if p.is_file()
    }


async def send_document(
    env: Env, data: bytes, name: str, user_id: int = ADMIN, size: int | None = None
) -> str:
    file_id = env.server.add_file(data, name)
    update = api.document_update(
        file_id, name, len(data) if size is None else size, chat_id=user_id, user_id=user_id
    )
    [reply] = await reply_to(env.server, update)
    return str(reply.params["text"])


async def command(env: Env, text: str, user_id: int = ADMIN) -> str:
    [reply] = await reply_to(env.server, api.text_update(text, chat_id=user_id, user_id=user_id))
    return str(reply.params["text"])


async def test_admin_sends_a_pdf_and_the_bot_answers_from_it_with_the_page(bot: Env) -> None:
    text = await send_document(bot, text_pdf(), "annual-report.pdf")
    assert text.startswith(
        "Added inbox/annual-report.pdf: “Annual report of the river cooperative” · 2024-03-14"
    )
    assert (bot.corpus / "inbox" / "annual-report.pdf").read_bytes() == text_pdf()
    [answer] = await reply_to(
        bot.server, api.text_update("What did the cooperative spend its surplus on?")
    )
    assert "threshing machine" in answer.params["text"]
    assert (
        "Annual report of the river cooperative · p. 3 · <i>2024-03-14</i>"
        in (answer.params["text"])
    )


async def test_admin_adds_a_link_and_the_bot_answers_from_it(bot: Env, site: WebSite) -> None:
    text = await command(bot, f"/add {site.base}/council.html")
    saved = "inbox/127-0-0-1-council-approves-the-school-budget.md"
    assert text.startswith(f"Added {saved}: “Council approves the school budget” · 2024-05-06")
    stored = (bot.corpus / saved).read_text(encoding="utf-8")
    assert stored.startswith("---\ntitle: Council approves the school budget\ndate: '2024-05-06'")
    assert "source: https://valleynews.example/2024/council-approves-school-budget/" in stored
    assert "\nretrieved: '" in stored
    assert "Quibbleflux" not in stored  # the page's menu stayed behind
    [answer] = await reply_to(
        bot.server, api.text_update("What did councillor Ana Ruiz say about the budget?")
    )
    assert "We listened to the families" in answer.params["text"]
    assert "<i>2024-05-06</i>" in answer.params["text"]
    again = await command(bot, f"/add {site.base}/council.html")
    assert again == f"Not added: this page is already in the corpus as {saved}."


async def test_admin_adds_a_pdf_link(bot: Env, site: WebSite) -> None:
    text = await command(bot, f"/add {site.base}/report.pdf")
    assert text.startswith("Added inbox/127-0-0-1-report.pdf: “Annual report of the river")


async def test_admin_removes_a_source_to_the_trash(bot: Env) -> None:
    await send_document(bot, text_pdf(), "annual-report.pdf")
    text = await command(bot, "/remove inbox/annual-report.pdf")
    assert text.startswith(
        "Removed inbox/annual-report.pdf; moved to .trash/inbox/annual-report.pdf"
    )
    assert not (bot.corpus / "inbox" / "annual-report.pdf").exists()
    assert (bot.corpus / ".trash" / "inbox" / "annual-report.pdf").read_bytes() == text_pdf()
    [answer] = await reply_to(
        bot.server, api.text_update("What did the cooperative spend its surplus on?")
    )
    assert "threshing machine" not in answer.params["text"]
    missing = await command(bot, "/remove inbox/annual-report.pdf")
    assert missing.startswith("Not removed: no source file 'inbox/annual-report.pdf'")
    outside = await command(bot, "/remove ../index.sqlite")
    assert outside.startswith("Not removed: '../index.sqlite' is not a source path")


async def test_strangers_are_refused_politely_and_nothing_changes(bot: Env, site: WebSite) -> None:
    before = files(bot.corpus)
    assert await send_document(bot, text_pdf(), "a.pdf", user_id=STRANGER) == NOT_ADMIN
    assert await command(bot, f"/add {site.base}/council.html", user_id=STRANGER) == NOT_ADMIN
    assert await command(bot, "/remove 000_63e586bc02c946bd.txt", user_id=STRANGER) == NOT_ADMIN
    assert files(bot.corpus) == before
    assert bot.server.downloads == []


@pytest.mark.parametrize(
    ("name", "data", "size", "reply"),
    [
        (
            "big.pdf",
            text_pdf(),
            MAX_UPLOAD + 1,
            "Not added: the file is larger than the 0.5 MB limit.",
        ),
        (
            "../../x.md",
            b"Some text that must never leave the corpus.",
            None,
            "Not added: the file name '../../x.md' is not a plain file name; "
            "rename it (e.g. report.pdf).",
        ),
        (
            "report.pdf",
            b"\x7fELF\x02\x01\x01\x00" + bytes(4000),
            None,
            "Not added: the content of 'report.pdf' is not a .pdf file "
            "(it looks like a Linux program).",
        ),
        (
            "setup.exe",
            b"MZ" + bytes(100),
            None,
            "Not added: 'setup.exe' is not a supported type; "
            "send one of .txt, .md, .markdown, .html, .htm, .pdf, .docx.",
        ),
        (
            "copy.txt",
            (FORMATS.parent.parent / "seeds" / "000_63e586bc02c946bd.txt").read_bytes(),
            None,
            "Not added: the same file is already in the corpus as 000_63e586bc02c946bd.txt.",
        ),
    ],
)
async def test_bad_documents_are_refused_and_the_corpus_is_unchanged(
    bot: Env, name: str, data: bytes, size: int | None, reply: str
) -> None:
    before = files(bot.corpus)
    assert await send_document(bot, data, name, size=size) == reply
    assert files(bot.corpus) == before


@pytest.mark.parametrize(
    ("path", "reply"),
    [
        (
            "/redirect",
            "Not added: the link leads to a private or local address (10.11.12.13); "
            "only public web pages are fetched.",
        ),
        ("/endless", "Not added: the page is larger than the 0.25 MB limit."),
        ("/missing", "Not added: the link answered 404 Not Found."),
        (
            "/program",
            "Not added: the content of '127-0-0-1-program.pdf' is not a .pdf file "
            "(it looks like a Linux program).",
        ),
    ],
)
async def test_bad_links_are_refused_and_the_corpus_is_unchanged(
    bot: Env, site: WebSite, path: str, reply: str
) -> None:
    before = files(bot.corpus)
    assert await command(bot, f"/add {site.base}{path}") == reply
    assert files(bot.corpus) == before


async def test_other_schemes_and_usage(bot: Env) -> None:
    assert await command(bot, "/add file:///etc/passwd") == (
        "Not added: only http:// and https:// links can be added."
    )
    assert (await command(bot, "/add")).startswith("Usage: /add https://")
    assert (await command(bot, "/remove")).startswith("Usage: /remove inbox/report.pdf")
