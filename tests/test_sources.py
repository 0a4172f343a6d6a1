"""Adding and removing sources without Telegram: names, limits, links, the command line."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
from collections.abc import AsyncIterator
from ipaddress import ip_network
from pathlib import Path

import pytest
from aiohttp import web

from bot import config as configmod
from bot import sources
from bot.cli import main
from bot.config import ConfigError, SourcesConfig
from bot.sources import AddError, Page
from tests.conftest import SEEDS
from tests.local_http import serve
from tests.make_docs import text_pdf

FORMATS = Path(__file__).parent / "corpus_formats"
SETTINGS = SourcesConfig()


@pytest.mark.parametrize(
    "name",
    [
        "../../x.md",
        "a/b.md",
        "a\\b.md",
        "..",
        "",
        ".hidden.md",
        "x" * 200 + ".md",
        "evil\u202egpj.md",
        "line\nbreak.md",
        "c:report.pdf",
        "setup.exe",
        "report.pdf.exe",
    ],
)
def test_only_plain_names_of_supported_types_are_saved(name: str) -> None:
    with pytest.raises(AddError):
        sources.check_name(name)


@pytest.mark.parametrize(
    "name", ["report.pdf", "Informe 2024 (final).PDF", "notas.md", "página.html"]
)
def test_plain_names_are_kept(name: str) -> None:
    assert sources.check_name(name) == name


def test_saving_never_overwrites(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    first = sources.save_file(corpus, SETTINGS, "memo.md", b"# Memo\n\nFirst memo text.")
    second = sources.save_file(corpus, SETTINGS, "memo.md", b"# Memo\n\nSecond memo text.")
    assert (first.path, second.path) == ("inbox/memo.md", "inbox/memo-2.md")
    assert (corpus / "inbox" / "memo.md").read_bytes() == b"# Memo\n\nFirst memo text."
    assert sorted(p.name for p in (corpus / "inbox").iterdir()) == ["memo-2.md", "memo.md"]


def test_an_inbox_leading_outside_the_corpus_is_refused(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (corpus / "inbox").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(AddError, match="leads outside the corpus"):
        sources.save_file(corpus, SETTINGS, "memo.md", b"Memo text.")
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_a_scanned_pdf_is_refused_with_the_reason(tmp_path: Path) -> None:
    from tests.make_docs import scanned_pdf

    with pytest.raises(AddError, match="scanned PDF without a text layer"):
        sources.save_file(tmp_path, SETTINGS, "scan.pdf", scanned_pdf())
    assert not (tmp_path / "inbox").exists() or not any((tmp_path / "inbox").iterdir())


def test_remove_moves_into_the_trash_and_refuses_paths_outside(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    saved = sources.save_file(corpus, SETTINGS, "memo.md", b"Memo text.")
    (tmp_path / "outside.md").write_text("Not in the corpus.")
    for bad in ("../outside.md", ".trash/inbox/memo.md", "/etc/passwd", "inbox/none.md"):
        with pytest.raises(AddError):
            sources.remove(corpus, SETTINGS, bad)
    assert sources.remove(corpus, SETTINGS, saved.path) == ".trash/inbox/memo.md"
    again = sources.save_file(corpus, SETTINGS, "memo.md", b"Memo text, new.")
    assert sources.remove(corpus, SETTINGS, again.path) == ".trash/inbox/memo-2.md"
    assert (tmp_path / "outside.md").exists()


def test_saved_page_keeps_its_dates_and_never_dates_by_retrieval(tmp_path: Path) -> None:
    retrieved = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    undated = (FORMATS / "pages" / "undated-page.html").read_bytes()
    page = Page("https://water.example/about", "text/html", undated)
    saved = sources.save_page(tmp_path, SETTINGS, page, retrieved)
    assert (saved.path, saved.date) == ("inbox/water-example-about-the-water-committee.md", None)
    text = (tmp_path / saved.path).read_text()
    assert text.startswith(
        "---\ntitle: About the water committee\nsource: https://water.example/about\n"
        "retrieved: '2030-01-02T03:04:05Z'\n---\n\nAbout the water committee\n\nThe water"
    )
    dated_url = Page("https://water.example/2024/03/09/about", "text/html", undated)
    assert sources.save_page(tmp_path, SETTINGS, dated_url, retrieved).date == dt.date(2024, 3, 9)
    with pytest.raises(AddError, match=r"already in the corpus as inbox/a\.md"):
        sources.save_page(tmp_path, SETTINGS, page, retrieved, {page.url: "inbox/a.md"})


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"inbox": "../outside"}, "sources.inbox: must be a folder inside the corpus"),
        ({"inbox": "/srv/inbox"}, "sources.inbox: must be a folder inside the corpus"),
        ({"inbox": ".inbox"}, "sources.inbox: a folder starting with '.' is never indexed"),
        ({"trash": "trash"}, "sources.trash: must start with '.'"),
        ({"max_upload_mb": 0}, "sources.max_upload_mb: must be above 0"),
        ({"allowed_networks": ["localhost"]}, "sources.allowed_networks: 'localhost' is not"),
        ({"fetch_timeout": "20"}, "sources.fetch_timeout: must be a number"),
    ],
)
def test_bad_sources_settings_name_the_key(
    tmp_path: Path, section: dict[str, object], message: str
) -> None:
    lines = ["[sources]"] + [f"{k} = {_toml(v)}" for k, v in section.items()]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        configmod.load(path)


def _toml(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return f'"{value}"' if isinstance(value, str) else str(value)


class Site:
    """A web server on 127.0.0.1 with a gzip bomb and an ordinary page."""

    def __init__(self) -> None:
        self.runner: web.AppRunner | None = None
        self.base = ""

    async def start(self) -> None:
        app = web.Application()
        bomb = gzip.compress(b"<p>" + b"0" * (20 * 1024 * 1024))

        async def gzip_bomb(request: web.Request) -> web.Response:
            headers = {"Content-Type": "text/html", "Content-Encoding": "gzip"}
            return web.Response(body=bomb, headers=headers)

        async def page(request: web.Request) -> web.Response:
            body = (FORMATS / "pages" / "harbour-strike.htm").read_bytes()
            return web.Response(
                body=gzip.compress(body),
                headers={"Content-Type": "text/html", "Content-Encoding": "gzip"},
            )

        app.router.add_get("/bomb", gzip_bomb)
        app.router.add_get("/page", page)
        self.runner, self.base = await serve(app)


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    s = Site()
    await s.start()
    try:
        yield s
    finally:
        assert s.runner is not None
        await s.runner.cleanup()


LOOPBACK = SourcesConfig(allowed_networks=(ip_network("127.0.0.0/8"),), fetch_max_bytes=1 << 20)


async def test_gzip_pages_are_read_and_gzip_bombs_refused(site: Site) -> None:
    page = await sources.fetch(f"{site.base}/page", LOOPBACK)
    assert page.content_type == "text/html"
    assert b"Harbour workers end their strike" in page.data
    with pytest.raises(AddError, match="larger than the 1 MB limit"):
        await sources.fetch(f"{site.base}/bomb", LOOPBACK)


async def test_loopback_is_refused_unless_allowed(site: Site) -> None:
    with pytest.raises(AddError, match=r"private or local address \(127\.0\.0\.1\)"):
        await sources.fetch(f"{site.base}/page", SETTINGS)
    port = site.base.rsplit(":", 1)[1]
    with pytest.raises(AddError, match="private or local address"):
        await sources.fetch(f"http://localhost:{port}/page", SETTINGS)
    with pytest.raises(AddError, match="private or local address"):
        await sources.fetch("http://[::ffff:127.0.0.1]:9/", SETTINGS)
    with pytest.raises(AddError, match="user name or password"):
        await sources.fetch(f"http://me:secret@127.0.0.1:{port}/page", LOOPBACK)


def test_cli_adds_a_file_and_removes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bm25_config: Path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    pdf = tmp_path / "annual-report.pdf"
    pdf.write_bytes(text_pdf())
    flags = [
        "--config",
        str(bm25_config),
        "--corpus",
        str(corpus),
        "--db",
        str(tmp_path / "i.sqlite"),
    ]
    assert main(["add", str(pdf), *flags]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "Added inbox/annual-report.pdf: “Annual report of the river cooperative” · 2024-03-14\n"
        "Indexed 3 source(s)"
    )
    assert main(["ask", *flags, "What did the cooperative spend its surplus on?"]) == 0
    assert "· p. 3 · 2024-03-14 · inbox/annual-report.pdf" in capsys.readouterr().out
    assert main(["add", str(pdf), *flags]) == 2
    assert capsys.readouterr().err == (
        "error: the same file is already in the corpus as inbox/annual-report.pdf\n"
    )
    assert sorted(p.name for p in (corpus / "inbox").iterdir()) == ["annual-report.pdf"]
    assert main(["remove", "inbox/annual-report.pdf", *flags]) == 0
    assert capsys.readouterr().out.startswith(
        "Removed inbox/annual-report.pdf; moved to .trash/inbox/annual-report.pdf\n"
    )
    assert main(["add", str(tmp_path / "missing.pdf"), *flags]) == 2
    assert "cannot be read: No such file or directory" in capsys.readouterr().err
    assert main(["add", "ftp://example.org/x", *flags]) == 2
    assert capsys.readouterr().err == "error: only http:// and https:// links can be added\n"
