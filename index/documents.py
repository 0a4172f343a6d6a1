"""Finding and reading corpus files: text, title, dates and link, or a reason to skip."""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path

from . import readers
from .errors import CorpusError
from .readers import DateOrigin, Extracted, Unreadable
from .readers import metadata as meta
from .text import first_sentence_end

SUFFIXES = readers.SUFFIXES
DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024
TITLE_CHARS = 80
# Folders nested deeper than this under the corpus are skipped, with the reason.
MAX_DEPTH = 64

_HEADING_RE = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
_LEADING_SPACE_RE = re.compile(r"\s*")


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
    updated: dt.date | None = None
    date_origin: DateOrigin = DateOrigin.NONE
    # Offsets in text where pages 1, 2, … start; empty for formats without pages.
    pages: tuple[int, ...] = ()
    # Why a source is undated although it states something like a date.
    date_note: str | None = None


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A candidate source file found under the corpus folder."""

    path: str
    # The file's absolute path as a string: a Path per file would cost the scan of a large
    # corpus more than its stat calls.
    location: str
    size: int
    mtime_ns: int

    @property
    def abspath(self) -> Path:
        """The file's absolute path."""
        return Path(self.location)


def scan(corpus: Path) -> tuple[list[FileEntry], list[Skipped]]:
    """List the readable source files under the corpus folder, at any depth.

    Only the corpus folder itself can fail the scan; a folder or file that cannot be
    listed, a link loop or a folder nested too deep is skipped with the reason.
    """
    root = _corpus_root(corpus)
    entries: list[FileEntry] = []
    skipped: list[Skipped] = []
    # Depth first without recursion: a folder nested thousands deep costs one list entry each.
    stack: list[tuple[str, int]] = [("", 0)]
    while stack:
        rel_dir, depth = stack.pop()
        subfolders = _scan_folder(root, rel_dir, depth, entries, skipped)
        stack.extend((sub, depth + 1) for sub in subfolders)
    entries.sort(key=attrgetter("path"))
    skipped.sort(key=attrgetter("path"))
    return entries, skipped


def _corpus_root(corpus: Path) -> Path:
    """The corpus folder, resolved; raises CorpusError when it is missing or unreadable."""
    if not corpus.exists():
        raise CorpusError(
            f"corpus folder {str(corpus)!r} does not exist; create it or set corpus.path"
        )
    if not corpus.is_dir():
        raise CorpusError(
            f"corpus path {str(corpus)!r} is not a folder; set corpus.path to a folder"
        )
    root = corpus.resolve()
    try:
        with os.scandir(root):
            pass
    except OSError as exc:
        raise CorpusError(
            f"corpus folder {str(corpus)!r} cannot be read ({exc.strerror or exc}); "
            "check its permissions"
        ) from None
    return root


def _scan_folder(
    root: Path, rel_dir: str, depth: int, entries: list[FileEntry], skipped: list[Skipped]
) -> list[str]:
    """Add one folder's source files to entries and what it skips to skipped; return its
    subfolders to descend into (relative paths)."""
    folder = root / rel_dir if rel_dir else root
    try:
        with os.scandir(folder) as it:
            items = list(it)  # in the folder's own order: the lists are sorted at the end
    except OSError as exc:
        skipped.append(Skipped(_shown(rel_dir), f"folder cannot be read: {_why(exc)}"))
        return []
    subfolders: list[str] = []
    prefix = f"{rel_dir}/" if rel_dir else ""
    add = entries.append
    for item in items:
        name = item.name
        if name[0] == ".":
            continue
        # Most entries are plain files of a known type: a stat call each, nothing more.
        if item.is_file(follow_symlinks=False) and name.lower().endswith(SUFFIXES):
            try:
                st = item.stat(follow_symlinks=False)
            except OSError:
                pass  # gone since the listing: _entry says why
            else:
                add(FileEntry(prefix + name, item.path, st.st_size, st.st_mtime_ns))
                continue
        rel = prefix + name
        found = _entry(root, rel, item)
        if isinstance(found, Skipped):
            skipped.append(found)
        elif isinstance(found, FileEntry):
            add(found)
        elif depth + 1 >= MAX_DEPTH:
            skipped.append(
                Skipped(_shown(rel), f"folder nested deeper than {MAX_DEPTH} levels, not read")
            )
        else:
            subfolders.append(rel)
    return subfolders


def _entry(root: Path, rel: str, item: os.DirEntry[str]) -> FileEntry | Skipped | None:
    """A source file, a reason to skip, or None for a folder to descend into."""
    shown = _shown(rel)
    try:
        if item.is_symlink():
            target = Path(os.path.realpath(item.path))
            if item.is_dir():
                return Skipped(shown, "symbolic link to a folder, not followed")
            if not target.is_relative_to(root):
                return Skipped(shown, "symbolic link leading outside the corpus, not followed")
        elif item.is_dir(follow_symlinks=False):
            return None
        if readers.reader_for(item.name) is None:
            return Skipped(shown, f"not a supported file type ({', '.join(SUFFIXES)})")
        st = item.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Skipped(shown, "symbolic link loop, not followed")
        return Skipped(shown, f"cannot be read: {_why(exc)}")
    except (RuntimeError, ValueError) as exc:  # a loop met while resolving a link
        return Skipped(shown, f"symbolic link cannot be resolved ({exc})")
    if not stat.S_ISREG(st.st_mode):
        return Skipped(shown, "not a regular file")
    return FileEntry(rel, item.path, st.st_size, st.st_mtime_ns)


def _shown(rel: str) -> str:
    """A relative path as reported (the corpus folder itself is "."); reports escape it."""
    return rel or "."


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def read(entry: FileEntry, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Document | Skipped:
    """Read one file into a Document, or say why it cannot be indexed; never raises."""
    data = load(entry, max_bytes)
    if isinstance(data, Skipped):
        return data
    return parse(entry.path, data.data, data.mtime_ns)


@dataclass(frozen=True)
class Loaded:
    """A file's bytes, read whole while it did not change, and their SHA-256."""

    data: bytes
    mtime_ns: int

    @property
    def sha256(self) -> str:
        """The hex digest that identifies the content."""
        return hashlib.sha256(self.data).hexdigest()


def load(entry: FileEntry, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Loaded | Skipped:
    """Read one file's bytes, or say why they cannot be read; never raises."""
    shown = _shown(entry.path)
    if entry.size > max_bytes:
        return Skipped(shown, f"larger than the {_human(max_bytes)} limit ({_human(entry.size)})")
    try:
        # O_NONBLOCK: a file replaced by a pipe since the scan must not hang the build.
        fd = os.open(entry.location, os.O_RDONLY | os.O_NONBLOCK)
        with open(fd, "rb") as fh:
            before = os.fstat(fh.fileno())
            if not stat.S_ISREG(before.st_mode):
                return Skipped(shown, "not a regular file")
            data = fh.read(max_bytes + 1)
            after = os.fstat(fh.fileno())
    except FileNotFoundError:
        return Skipped(shown, "deleted while indexing; index again to pick up changes")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Skipped(shown, "symbolic link loop, not followed")
        return Skipped(shown, f"cannot be read: {_why(exc)}")
    if len(data) > max_bytes:
        return Skipped(shown, f"larger than the {_human(max_bytes)} limit")
    changed = (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns)
    if changed or len(data) != after.st_size:
        return Skipped(shown, "changed while being read; index again to pick it up")
    return Loaded(data, after.st_mtime_ns)


def parse(path: str, data: bytes, mtime_ns: int = 0) -> Document | Skipped:
    """Turn a file's bytes into a Document, or say why they cannot be indexed; never raises."""
    shown = _shown(path)
    reader = readers.reader_for(path)
    if reader is None:
        return Skipped(shown, f"not a supported file type ({', '.join(SUFFIXES)})")
    if not data.strip():
        return Skipped(shown, "empty file")
    try:
        found = reader.read(path, data)
    except Unreadable as exc:
        return Skipped(shown, str(exc))
    except RecursionError:
        return Skipped(shown, f"cannot be read as {reader.format}: nested too deeply")
    except MemoryError:
        return Skipped(shown, f"cannot be read as {reader.format}: needs too much memory")
    except Exception as exc:  # one damaged file must never stop the build
        return Skipped(
            shown, f"cannot be read as {reader.format}: {type(exc).__name__}: {exc}"[:300]
        )
    return _document(path, data, mtime_ns, found)


def _document(path: str, data: bytes, mtime_ns: int, found: Extracted) -> Document | Skipped:
    text = found.text
    body_start = _LEADING_SPACE_RE.match(text, found.body_start).end()  # type: ignore[union-attr]
    if body_start >= len(text):
        return Skipped(_shown(path), "empty file (metadata only)")
    date, origin = found.published, found.date_origin
    if date is None:
        date, origin = meta.name_date(path), DateOrigin.FILE_NAME
    if date is None:
        date, origin = meta.path_date(path), DateOrigin.FOLDER_PATH
    if date is None:
        origin = DateOrigin.NONE
    # A text with no words to show (only "#", say) is named by its file.
    title = found.title or _title_from_body(text, body_start) or Path(path).stem or path
    return Document(
        path=path,
        text=text,
        body_start=body_start,
        title=_shorten(title, 200) if found.title else title,
        date=date,
        url=found.url,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        mtime_ns=mtime_ns,
        updated=found.updated if date and found.updated and found.updated > date else None,
        date_origin=origin,
        pages=found.pages,
        date_note=found.unreadable_date if date is None else None,
    )


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
