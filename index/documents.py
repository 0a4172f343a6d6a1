"""Reading corpus files: text, title, date and source link, or a reason to skip."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import CorpusError
from .text import first_sentence_end

SUFFIXES = (".txt", ".md")
DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024
TITLE_CHARS = 80

_DATE_MARKER_RE = re.compile(r"\s*date:?[ \t]+(\d{4}-\d{2}-\d{2})(?![\d-])[ \t]*\n?[ \t]*", re.I)
_FRONT_MATTER_RE = re.compile(r"---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_HEADING_RE = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
_LEADING_SPACE_RE = re.compile(r"\s*")
_ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Document:
    """A readable source: its text and the metadata it states."""

    path: str
    text: str
    body_start: int
    title: str
    date: dt.date | None
    url: str | None
    sha256: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class FileEntry:
    """A candidate source file found under the corpus folder."""

    path: str
    abspath: Path
    size: int
    mtime_ns: int


def scan(corpus: Path) -> tuple[list[FileEntry], list[Skipped]]:
    """List the .txt and .md files under the corpus folder, at any depth."""
    if not corpus.exists():
        raise CorpusError(
            f"corpus folder {str(corpus)!r} does not exist; create it or set corpus.path"
        )
    if not corpus.is_dir():
        raise CorpusError(
            f"corpus path {str(corpus)!r} is not a folder; set corpus.path to a folder"
        )
    root = corpus.resolve()
    entries: list[FileEntry] = []
    skipped: list[Skipped] = []

    def unreadable(exc: OSError) -> None:
        rel = Path(exc.filename or root).relative_to(root).as_posix() if exc.filename else "."
        skipped.append(Skipped(rel, f"folder cannot be read: {exc.strerror or exc}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable, followlinks=False):
        base = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in list(dirnames):
            if (base / name).is_symlink():
                rel = (base / name).relative_to(root).as_posix()
                skipped.append(Skipped(rel, "symbolic link to a folder, not followed"))
                dirnames.remove(name)
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            full = base / name
            rel = full.relative_to(root).as_posix()
            if not name.lower().endswith(SUFFIXES):
                skipped.append(Skipped(rel, "not a .txt or .md file"))
                continue
            if full.is_symlink():
                target = full.resolve()
                if not target.is_relative_to(root):
                    skipped.append(
                        Skipped(rel, "symbolic link leading outside the corpus, not followed")
                    )
                    continue
            try:
                st = full.stat()
            except OSError as exc:
                skipped.append(Skipped(rel, f"cannot be read: {exc.strerror or exc}"))
                continue
            if not stat.S_ISREG(st.st_mode):
                skipped.append(Skipped(rel, "not a regular file"))
                continue
            entries.append(FileEntry(rel, full, st.st_size, st.st_mtime_ns))
    return entries, skipped


def read(entry: FileEntry, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Document | Skipped:
    """Read one file into a Document, or say why it cannot be indexed."""
    if entry.size > max_bytes:
        return Skipped(
            entry.path, f"larger than the {_human(max_bytes)} limit ({_human(entry.size)})"
        )
    try:
        # O_NONBLOCK: a file replaced by a pipe since the scan must not hang the build.
        fd = os.open(entry.abspath, os.O_RDONLY | os.O_NONBLOCK)
        with open(fd, "rb") as fh:
            before = os.fstat(fh.fileno())
            if not stat.S_ISREG(before.st_mode):
                return Skipped(entry.path, "not a regular file")
            data = fh.read(max_bytes + 1)
            after = os.fstat(fh.fileno())
    except FileNotFoundError:
        return Skipped(entry.path, "deleted while indexing; index again to pick up changes")
    except OSError as exc:
        return Skipped(entry.path, f"cannot be read: {exc.strerror or exc}")
    if len(data) > max_bytes:
        return Skipped(entry.path, f"larger than the {_human(max_bytes)} limit")
    changed = (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns)
    if changed or len(data) != after.st_size:
        return Skipped(entry.path, "changed while being read; index again to pick it up")
    return parse(entry.path, data, after.st_mtime_ns)


def parse(path: str, data: bytes, mtime_ns: int = 0) -> Document | Skipped:
    """Turn a file's bytes into a Document, or say why they cannot be indexed."""
    if not data.strip():
        return Skipped(path, "empty file")
    if b"\x00" in data[:8192]:
        return Skipped(path, "binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Skipped(path, f"not valid UTF-8 (byte {exc.start})")
    sha = hashlib.sha256(data).hexdigest()
    body_start = 1 if text.startswith("\ufeff") else 0
    title: str | None = None
    date: dt.date | None = None
    url: str | None = None

    front = _FRONT_MATTER_RE.match(text, body_start)
    if front:
        meta = _load_front_matter(front.group(1))
        if meta is not None:
            body_start = front.end()
            title = _str_or_none(meta.get("title"))
            date = _date_or_none(meta.get("date"))
            url = _str_or_none(meta.get("source")) or _str_or_none(meta.get("url"))

    marker = _DATE_MARKER_RE.match(text, body_start)
    if marker:
        stated = _date_or_none(marker.group(1))
        if stated is not None:
            date = date or stated
            body_start = marker.end()

    body_start = _LEADING_SPACE_RE.match(text, body_start).end()  # type: ignore[union-attr]
    if body_start >= len(text):
        return Skipped(path, "empty file (metadata only)")
    if title is None:
        # A text with no words to show (only "#", say) is named by its file.
        title = _title_from_body(text, body_start) or Path(path).stem or path
    return Document(
        path=path,
        text=text,
        body_start=body_start,
        title=title,
        date=date,
        url=url,
        sha256=sha,
        size=len(data),
        mtime_ns=mtime_ns,
    )


def _load_front_matter(raw: str) -> dict[str, object] | None:
    try:
        # BaseLoader keeps every value a string: dates are checked here, never coerced.
        meta = yaml.load(raw, Loader=yaml.BaseLoader)
    except yaml.YAMLError:
        return None
    if not isinstance(meta, dict):
        return None
    return {str(k).lower(): v for k, v in meta.items()}


def _str_or_none(value: object) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _date_or_none(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE_RE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _title_from_body(text: str, start: int) -> str:
    heading = _HEADING_RE.search(text, start)
    if heading:
        return _shorten(" ".join(heading.group(1).split()))
    return _first_sentence_title(text, start)


def _first_sentence_title(text: str, start: int) -> str:
    end = first_sentence_end(text, start)
    line_end = text.find("\n", start)
    if line_end != -1:
        end = min(end, line_end)
    sentence = " ".join(text[start:end].split())
    return _shorten(sentence.lstrip("#").strip())


def _shorten(text: str, limit: int = TITLE_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"


def _human(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    size = n / 1024
    for unit in ("KB", "MB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
