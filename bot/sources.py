"""Adding sources to the corpus (a file, a link) and taking them out; no Telegram here."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import re
import secrets
import socket
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import httpx
import yaml

from index import SUFFIXES, Document, looks_like, path_date, read_document, scan_corpus

from .config import SourcesConfig

MAX_REDIRECTS = 5
MAX_NAME_CHARS = 150
USER_AGENT = "dated-sources-bot/0.1"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_TEXT_TYPES = ("text/plain", "text/markdown", "text/x-markdown")
_PDF_TYPES = ("application/pdf",)
_UNSAFE_NAME_RE = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069/\\:]")
_SLUG_RE = re.compile(r"[^a-z0-9]+")
_PROGRAM_MAGIC = (
    (b"\x7fELF", "a Linux program"),
    (b"MZ", "a Windows program"),
    (b"\xcf\xfa\xed\xfe", "a macOS program"),
    (b"\xca\xfe\xba\xbe", "a macOS program"),
    (b"#!", "a script"),
    (b"PK\x03\x04", "a zip archive"),
)


class AddError(Exception):
    """A source cannot be added or removed; the message says why, in one line."""


@dataclass(frozen=True)
class Saved:
    """A file written into the corpus: its path there and what it states."""

    path: str
    title: str
    date: dt.date | None


@dataclass(frozen=True)
class Page:
    """A fetched link: where it ended up, what it is, and its bytes."""

    url: str
    content_type: str
    data: bytes


# ---------------------------------------------------------------- files


def check_name(name: str) -> str:
    """A file name fit to save, or AddError: plain names with a supported suffix only."""
    shown = name[:60]
    if not name or name in (".", "..") or _UNSAFE_NAME_RE.search(name) or ".." in name:
        raise AddError(
            f"the file name {shown!r} is not a plain file name; rename it (e.g. report.pdf)"
        )
    if name.startswith("."):
        raise AddError(f"the file name {shown!r} starts with a dot; such files are never indexed")
    if len(name) > MAX_NAME_CHARS:
        raise AddError(f"the file name is longer than {MAX_NAME_CHARS} characters; shorten it")
    if not name.lower().endswith(SUFFIXES):
        raise AddError(f"{shown!r} is not a supported type; send one of {', '.join(SUFFIXES)}")
    return unicodedata.normalize("NFC", name)


def check_content(name: str, data: bytes, settings: SourcesConfig) -> Document:
    """The document the bytes hold, or AddError: size, type from content, readable text."""
    if len(data) > settings.max_upload_bytes:
        raise AddError(f"the file is larger than the {megabytes(settings.max_upload_bytes)} limit")
    if not looks_like(name, data):
        kind = next((k for magic, k in _PROGRAM_MAGIC if data.startswith(magic)), None)
        suffix = PurePosixPath(name).suffix.lower()
        looks = f" (it looks like {kind})" if kind else ""
        raise AddError(f"the content of {name!r} is not a {suffix} file{looks}")
    found = read_document(name, data)
    if not isinstance(found, Document):
        raise AddError(f"{name!r} cannot be indexed: {found.reason}")
    return found


def save_file(corpus: Path, settings: SourcesConfig, name: str, data: bytes) -> Saved:
    """Save a document into the corpus inbox under its own name (never over another file)."""
    name = check_name(name)
    doc = check_content(name, data, settings)
    _refuse_duplicate(corpus, data)
    path = _write_new(corpus, settings.inbox, name, data)
    return Saved(path, doc.title, doc.date)


def save_page(
    corpus: Path,
    settings: SourcesConfig,
    page: Page,
    retrieved: dt.datetime,
    known: Mapping[str, str] | None = None,
) -> Saved:
    """Save a fetched page: HTML and text as Markdown with front matter, a PDF as it is.

    known maps the links of sources already indexed to their paths: a page added twice is
    refused, although its retrieval time would make the saved file differ.
    """
    known = known or {}
    if page.url in known:
        raise AddError(f"this link is already in the corpus as {known[page.url]}")
    host = (urlsplit(page.url).hostname or "link").lower()
    if page.content_type in _PDF_TYPES:
        name = _slug(PurePosixPath(urlsplit(page.url).path).stem or "document", host) + ".pdf"
        doc = check_content(name, page.data, settings)
        _refuse_duplicate(corpus, page.data)
        return Saved(_write_new(corpus, settings.inbox, name, page.data), doc.title, doc.date)
    suffix = ".html" if page.content_type in _HTML_TYPES else ".txt"
    doc = check_content("page" + suffix, page.data, settings)
    if doc.url in known:
        raise AddError(f"this page is already in the corpus as {known[str(doc.url)]}")
    date = doc.date or path_date(urlsplit(page.url).path.lstrip("/"))
    meta: dict[str, str] = {"title": doc.title}
    if date is not None:
        meta["date"] = date.isoformat()
    if doc.updated is not None:
        meta["updated"] = doc.updated.isoformat()
    meta["source"] = doc.url or page.url
    meta["retrieved"] = retrieved.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
    text = f"---\n{front}---\n\n{doc.text[doc.body_start :].strip()}\n"
    path = _write_new(corpus, settings.inbox, _slug(doc.title, host) + ".md", text.encode())
    return Saved(path, doc.title, date)


def remove(corpus: Path, settings: SourcesConfig, rel: str) -> str:
    """Move a source into the trash folder; returns where it went, relative to the corpus."""
    rel = rel.strip().lstrip("/")
    parts = PurePosixPath(rel).parts
    if (
        not parts
        or ".." in parts
        or "\\" in rel
        or parts[0] == PurePosixPath(settings.trash).parts[0]
    ):
        raise AddError(f"{rel[:60]!r} is not a source path such as {settings.inbox}/report.pdf")
    root = corpus.resolve()
    source = root / rel
    if not source.parent.resolve().is_relative_to(root):
        raise AddError(f"{rel[:60]!r} is outside the corpus")
    if not source.is_file() and not source.is_symlink():
        raise AddError(f"no source file {rel[:60]!r} in the corpus; /sources lists them")
    target = _free_name(root / settings.trash / PurePosixPath(rel).parent, source.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(source, target)
    return target.relative_to(root).as_posix()


def _refuse_duplicate(corpus: Path, data: bytes) -> None:
    """AddError when a source of the corpus has exactly these bytes."""
    if not corpus.is_dir():
        return
    entries, _ = scan_corpus(corpus)
    for entry in entries:
        if entry.size != len(data):
            continue
        try:
            same = entry.abspath.read_bytes() == data
        except OSError:
            continue
        if same:
            raise AddError(f"the same file is already in the corpus as {entry.path}")


def _write_new(corpus: Path, folder: str, name: str, data: bytes) -> str:
    """Write data as folder/name, or name-2, name-3, …: atomically, never over a file."""
    root = corpus.resolve()
    inbox = root / folder
    inbox.mkdir(parents=True, exist_ok=True)
    if not inbox.resolve().is_relative_to(root):
        raise AddError(f"the inbox folder {folder!r} leads outside the corpus; fix sources.inbox")
    # A dot file is never indexed: the build sees the source only once it is complete.
    part = inbox / f".adding-{secrets.token_hex(8)}"
    with open(part, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        stem, suffix = os.path.splitext(name)
        for n in range(1, 1000):
            target = inbox / (name if n == 1 else f"{stem}-{n}{suffix}")
            try:
                os.link(part, target)  # fails if the name is taken, unlike a rename
            except FileExistsError:
                continue
            return target.relative_to(root).as_posix()
        raise AddError(f"too many files named like {name!r} in {folder}; rename it")
    finally:
        part.unlink()


def _free_name(folder: Path, name: str) -> Path:
    stem, suffix = os.path.splitext(name)
    for n in range(1, 1000):
        target = folder / (name if n == 1 else f"{stem}-{n}{suffix}")
        if not target.exists() and not target.is_symlink():
            return target
    raise AddError(f"too many removed files named like {name!r}; empty the trash folder")


def _slug(title: str, host: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = _SLUG_RE.sub("-", ascii_title.lower()).strip("-")[:60].rstrip("-")
    # The host leads the name, so that a title starting with a date never dates the file.
    return f"{_SLUG_RE.sub('-', host).strip('-')}-{words or 'page'}"


def megabytes(n: int) -> str:
    """A byte count in MB, as limits are stated."""
    return f"{n / (1024 * 1024):g} MB"


def not_indexed(saved: Saved, skipped: list[tuple[str, str]]) -> str | None:
    """Why the build skipped a saved source (a duplicate, say), or None when it indexed it."""
    return next((reason for path, reason in skipped if path == saved.path), None)


def discard(corpus: Path, saved: Saved) -> None:
    """Delete a source just saved that the index did not take, leaving the corpus as it was."""
    (corpus.resolve() / saved.path).unlink(missing_ok=True)


def describe(saved: Saved) -> str:
    """One line for people: what was added, its title and date."""
    date = saved.date.isoformat() if saved.date else "undated"
    return f"Added {saved.path}: “{saved.title}” · {date}"


# ---------------------------------------------------------------- links


async def fetch(url: str, settings: SourcesConfig) -> Page:
    """Fetch a link within the time and size limits, refusing private addresses at each hop."""
    current = _checked_url(url)
    try:
        async with (
            asyncio.timeout(settings.fetch_timeout),
            httpx.AsyncClient(
                follow_redirects=False, timeout=settings.fetch_timeout, trust_env=False
            ) as client,
        ):
            for _ in range(MAX_REDIRECTS + 1):
                page = await _get(client, current, settings)
                if isinstance(page, Page):
                    return page
                current = _checked_url(page)
    except TimeoutError:
        raise AddError(
            f"the link did not finish loading within {settings.fetch_timeout:g} s"
        ) from None
    except httpx.HTTPError as exc:
        raise AddError(f"the link cannot be fetched: {type(exc).__name__}: {exc}"[:300]) from None
    raise AddError(f"the link redirects more than {MAX_REDIRECTS} times")


async def _get(client: httpx.AsyncClient, url: httpx.URL, settings: SourcesConfig) -> Page | str:
    """The page at url, or where it redirects to."""
    address = await _public_address(url, settings)
    # Connect to the address just checked, so that a second DNS answer cannot differ.
    pinned = url.copy_with(host=address)
    headers = {
        "Host": url.netloc.decode("ascii"),
        "User-Agent": USER_AGENT,
        "Accept": "*/*",
        "Accept-Encoding": "gzip, deflate",
    }
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    request = client.build_request("GET", pinned, headers=headers, extensions=extensions)
    response = await client.send(request, stream=True)
    try:
        if response.is_redirect:
            location = response.headers.get("location", "")
            if not location:
                raise AddError("the link redirects without saying where")
            return str(url.join(location))
        if response.status_code != 200:
            raise AddError(f"the link answered {response.status_code} {response.reason_phrase}")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in (*_HTML_TYPES, *_TEXT_TYPES, *_PDF_TYPES):
            shown = content_type or "no content type"
            raise AddError(f"the link is {shown}, not a web page, text or PDF")
        limit = settings.fetch_max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise AddError(f"the page is larger than the {megabytes(limit)} limit")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > limit:
                raise AddError(f"the page is larger than the {megabytes(limit)} limit")
            chunks.append(chunk)
        data = b"".join(chunks)
        if response.headers.get("content-encoding", "identity") not in ("identity", ""):
            data = _decoded(response, data, limit)
        return Page(str(url), content_type, data)
    finally:
        await response.aclose()


def _decoded(response: httpx.Response, data: bytes, limit: int) -> bytes:
    """Undo gzip or deflate, stopping at the size limit (a small bomb must not expand)."""
    import zlib

    encoding = response.headers.get("content-encoding", "").lower()
    if encoding not in ("gzip", "deflate", "x-gzip"):
        raise AddError(f"the page is sent with {encoding!r} encoding, which is not supported")
    inflater = zlib.decompressobj(wbits=47)  # gzip or zlib header, detected
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise AddError(f"the page's {encoding} encoding is damaged ({exc})") from None
    if len(out) > limit:
        raise AddError(f"the page is larger than the {megabytes(limit)} limit")
    return out


def _checked_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise AddError(f"not a link: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise AddError("only http:// and https:// links can be added")
    if not parsed.host:
        raise AddError("the link has no host name")
    if parsed.userinfo:
        raise AddError("links with a user name or password are not fetched")
    return parsed


async def _public_address(url: httpx.URL, settings: SourcesConfig) -> str:
    """The address to connect to; AddError when any address of the host is not allowed."""
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            url.host, port, type=socket.SOCK_STREAM
        )
    except OSError:
        raise AddError(f"the host {url.host!r} cannot be found") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for address in addresses:
        if not _allowed(address, settings):
            raise AddError(
                f"the link leads to a private or local address ({address}); "
                "only public web pages are fetched"
            )
    return str(addresses[0])


def _allowed(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, settings: SourcesConfig
) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in settings.allowed_networks):
        return True
    return address.is_global and not address.is_multicast
