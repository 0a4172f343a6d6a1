"""The index store: one SQLite file and a folder of segment files beside it.

The SQLite file (in WAL mode) holds the sources with their text (stored once, compressed),
the vocabulary (a global id per index term), the list of segments with the rows deleted
from each, and the files the last build skipped. Segments (segments.py) hold the passages
and postings. A build changes the file in one transaction after writing any new segment
files, so a crash at any point leaves the previous complete index; an open Store reads one
snapshot of it (a read transaction held while it is open), whatever builds commit meanwhile.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import os
import sqlite3
import threading
import zlib
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import documents, segment_files
from .analyzer import AnalyzerSettings
from .columns import Part
from .documents import Skipped
from .errors import ConfigurationError, IndexCorruptError, IndexIncompatibleError, IndexMissingError

# Bumped whenever the schema or the meaning of stored values changes.
FORMAT_VERSION = 4
APPLICATION = "dated-sources-bot index"
# Attempts at opening a snapshot whose segment files a build removed meanwhile.
_OPEN_ATTEMPTS = 5

SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE skipped (path TEXT NOT NULL, reason TEXT NOT NULL)",
    # AUTOINCREMENT: an id is never given to another source, even after a deletion.
    "CREATE TABLE sources (id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL UNIQUE,"
    " title TEXT NOT NULL, date TEXT, url TEXT, sha256 TEXT NOT NULL, size INTEGER NOT NULL,"
    " mtime_ns INTEGER NOT NULL, body_start INTEGER NOT NULL, updated TEXT,"
    " date_origin TEXT NOT NULL, date_note TEXT, pages TEXT, passages INTEGER NOT NULL)",
    # The text, apart: listing sources reads no text.
    "CREATE TABLE texts (source_id INTEGER PRIMARY KEY REFERENCES sources (id),"
    " content BLOB NOT NULL)",
    "CREATE TABLE terms (term TEXT PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID",
    # The index term of each word form the analyzer met (stop words and numbers aside):
    # questions and excerpts are analyzed without loading the lemmatizer.
    "CREATE TABLE forms (word TEXT PRIMARY KEY, term TEXT NOT NULL) WITHOUT ROWID",
    # Segments in row order; `deleted` holds the sorted rows deleted since it was written.
    "CREATE TABLE segments (id INTEGER PRIMARY KEY, file TEXT NOT NULL UNIQUE,"
    " rows INTEGER NOT NULL, deleted BLOB NOT NULL)",
)
TABLES = ("meta", "skipped", "texts", "sources", "terms", "forms", "segments")


# Shorter passages would cut most sentences of a paragraph apart.
MIN_PASSAGE_CHARS = 200


@dataclass(frozen=True)
class IndexSettings:
    """Everything that decides what an index contains."""

    analyzer: AnalyzerSettings = field(default_factory=AnalyzerSettings)
    passage_chars: int = 1200
    min_passage_chars: int = 100
    max_file_bytes: int = documents.DEFAULT_MAX_FILE_BYTES

    def __post_init__(self) -> None:
        if self.passage_chars < MIN_PASSAGE_CHARS:
            raise ConfigurationError(
                f"retrieval.passage_chars: must be at least {MIN_PASSAGE_CHARS}"
            )

    def fingerprint(self) -> dict[str, Any]:
        """Settings that must match for an index to be reused."""
        return {
            "format": FORMAT_VERSION,
            "analyzer": self.analyzer.as_dict(),
            "passage_chars": self.passage_chars,
            "min_passage_chars": self.min_passage_chars,
        }

    def fingerprint_json(self) -> str:
        """The fingerprint as stored in the index."""
        return json.dumps(self.fingerprint(), sort_keys=True)


@dataclass(frozen=True)
class Source:
    """A source document as the index knows it."""

    id: int
    path: str
    title: str
    date: dt.date | None
    url: str | None
    passages: int
    updated: dt.date | None = None
    date_origin: str = "none"
    # Offsets in the source's text where pages 1, 2, … start; empty without pages.
    pages: tuple[int, ...] = ()

    def page_at(self, offset: int) -> int | None:
        """The page number (from 1) holding the character at offset, or None without pages."""
        if not self.pages:
            return None
        return max(bisect.bisect_right(self.pages, offset), 1)


_SOURCE_COLUMNS = "id, path, title, date, url, passages, updated, date_origin, pages"


def _source(row: tuple[Any, ...]) -> Source:
    return Source(
        row[0],
        row[1],
        row[2],
        dt.date.fromisoformat(row[3]) if row[3] else None,
        row[4],
        row[5],
        dt.date.fromisoformat(row[6]) if row[6] else None,
        row[7] or "none",
        tuple(json.loads(row[8])) if row[8] else (),
    )


def pack(text: str) -> bytes:
    """A source's text as stored: UTF-8, compressed (about half the size, at 100+ MB/s)."""
    return zlib.compress(text.encode("utf-8"), 1)


def unpack(data: bytes) -> str:
    """A stored text."""
    return zlib.decompress(data).decode("utf-8")


def segment_folder(db_path: Path) -> Path:
    """The folder of an index's segment files."""
    return db_path.with_name(db_path.name + ".segments")


def connect(db_path: Path, create: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are begun explicitly)."""
    mode = "rwc" if create else "rw"
    uri = db_path.resolve().as_uri() + f"?mode={mode}"
    return sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)


# SQLite's primary result codes that say the file could not be opened or read (its folder
# is read-only, the disk failed): not that it is another kind of file.
_SQLITE_IOERR, _SQLITE_CANTOPEN = 10, 14


def read_meta(conn: sqlite3.Connection, db_path: Path) -> dict[str, str]:
    """The index's metadata; raises IndexCorruptError when the file is not an index of this
    program, and the sqlite3 error itself when the file cannot be opened or read."""
    try:
        rows = conn.execute("SELECT key, value FROM meta").fetchall()
    except sqlite3.DatabaseError as exc:
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
        if code in (_SQLITE_IOERR, _SQLITE_CANTOPEN):
            raise
        raise IndexCorruptError(_foreign_message(db_path, str(exc))) from None
    meta = {str(k): str(v) for k, v in rows}
    if meta.get("application") != APPLICATION:
        raise IndexCorruptError(_foreign_message(db_path, "no index metadata"))
    return meta


def check_index_file(db_path: Path) -> dict[str, str] | None:
    """The metadata of the index at db_path, None when there is no file; raises for a file
    that is not an index of this program (it must never be overwritten)."""
    if not db_path.exists():
        return None
    try:
        conn = connect(db_path)
    except sqlite3.DatabaseError as exc:
        raise IndexCorruptError(_foreign_message(db_path, str(exc))) from None
    with closing(conn):
        return read_meta(conn, db_path)


def _foreign_message(db_path: Path, detail: str) -> str:
    return (
        f"{str(db_path)!r} is not an index of this bot ({detail}); "
        "move the file away or set index.path to another file, then index again"
    )


def open_parts(conn: sqlite3.Connection, folder: Path) -> list[Part]:
    """The segments of the index as of the connection's snapshot, in row order; raises
    FileNotFoundError or ValueError when one cannot be read."""
    parts: list[Part] = []
    try:
        for file, rows, deleted in conn.execute(
            "SELECT file, rows, deleted FROM segments ORDER BY id"
        ).fetchall():
            segment = segment_files.read(folder / file)
            parts.append(Part(segment, np.frombuffer(deleted, dtype=np.int64)))
            gone = parts[-1].deleted
            if segment.size != rows or (len(gone) and (gone[0] < 0 or gone[-1] >= rows)):
                raise ValueError(f"segment {file} does not match the index")
    except BaseException:
        for part in parts:
            part.segment.close()
        raise
    return parts


class Store:
    """Read access to one snapshot of an index."""

    def __init__(self, db_path: Path, settings: IndexSettings) -> None:
        if not db_path.exists():
            raise IndexMissingError(
                f"no index at {str(db_path)!r} yet; run `python -m bot index` to build it"
            )
        try:
            conn = connect(db_path)
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(_foreign_message(db_path, str(exc))) from None
        self.path = db_path
        self._conn = conn
        self._lock = threading.Lock()
        try:
            conn.execute("PRAGMA query_only = ON")
            self.meta, self.parts = self._snapshot(settings)
        except BaseException:
            conn.close()
            raise

    def _snapshot(self, settings: IndexSettings) -> tuple[dict[str, str], list[Part]]:
        """Begin the read transaction that pins the snapshot, and open its segments."""
        for attempt in range(_OPEN_ATTEMPTS):
            self._conn.execute("BEGIN")
            try:
                meta = read_meta(self._conn, self.path)
            except sqlite3.OperationalError as exc:
                raise IndexCorruptError(
                    f"cannot open the index at {str(self.path)!r} ({exc}); check that its "
                    "folder can be read and written, then try again"
                ) from None
            if meta.get("fingerprint") != settings.fingerprint_json():
                raise IndexIncompatibleError(
                    f"the index at {str(self.path)!r} was built with other settings or an "
                    "older version; run `python -m bot index` to rebuild it"
                )
            try:
                return meta, open_parts(self._conn, segment_folder(self.path))
            except FileNotFoundError:
                # A build committed and removed a file this snapshot still lists: take the
                # newer snapshot.
                self._conn.execute("ROLLBACK")
                if attempt == _OPEN_ATTEMPTS - 1:
                    raise IndexIncompatibleError(
                        f"the index at {str(self.path)!r} lacks segment files; run "
                        "`python -m bot index` to rebuild it"
                    ) from None
            except (ValueError, sqlite3.DatabaseError) as exc:
                raise IndexIncompatibleError(
                    f"the index at {str(self.path)!r} is incomplete or damaged ({exc}); "
                    "run `python -m bot index` to rebuild it"
                ) from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        """End the snapshot and close the database connection and the segment files."""
        with self._lock:
            self._conn.close()
        for part in self.parts:
            part.segment.close()

    def cursor(self) -> AbstractContextManager[sqlite3.Cursor]:
        """A cursor on the store's snapshot, under its lock (for the vector store)."""
        return self._cursor()

    @contextmanager
    def _cursor(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cur = self._conn.cursor()
            try:
                yield cur
            finally:
                cur.close()

    @property
    def newest(self) -> dt.date | None:
        """The newest publication date of a source."""
        value = self.meta.get("newest")
        return dt.date.fromisoformat(value) if value else None

    def sources(self) -> list[Source]:
        """All sources, in path order."""
        with self._cursor() as cur:
            rows = cur.execute(f"SELECT {_SOURCE_COLUMNS} FROM sources ORDER BY path").fetchall()
        return [_source(r) for r in rows]

    def source(self, source_id: int) -> Source:
        """One source; KeyError when the index has none with that id."""
        with self._cursor() as cur:
            row = cur.execute(
                f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE id = ?", (source_id,)
            ).fetchone()
        if row is None:
            raise KeyError(source_id)
        return _source(row)

    def content(self, source_id: int) -> str:
        """The full text of a source."""
        with self._cursor() as cur:
            row = cur.execute(
                "SELECT content FROM texts WHERE source_id = ?", (source_id,)
            ).fetchone()
        if row is None:
            raise KeyError(source_id)
        return unpack(row[0])

    def skipped(self) -> list[Skipped]:
        """Files the last build skipped, with reasons."""
        with self._cursor() as cur:
            rows = cur.execute("SELECT path, reason FROM skipped ORDER BY path").fetchall()
        return [Skipped(r[0], r[1]) for r in rows]

    def form(self, word: str) -> str | None:
        """The index term of a word form the build met, if it did."""
        with self._cursor() as cur:
            row = cur.execute("SELECT term FROM forms WHERE word = ?", (word,)).fetchone()
        return None if row is None else str(row[0])

    @property
    def vocabulary(self) -> StoredTerms:
        """The index terms of this snapshot."""
        return StoredTerms(self)


class StoredTerms:
    """The term table of a Store, read on demand: start-up reads none of it."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def id(self, term: str) -> int | None:
        """The term's id, or None when no segment ever held it."""
        with self._store._cursor() as cur:
            row = cur.execute("SELECT id FROM terms WHERE term = ?", (term,)).fetchone()
        return None if row is None else int(row[0])

    def with_prefix(self, prefix: str) -> list[str]:
        """Every known term that starts with prefix."""
        with self._store._cursor() as cur:
            rows = cur.execute(
                "SELECT term FROM terms WHERE term >= ? AND term < ? ORDER BY term",
                (prefix, prefix + "\U0010ffff"),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def names(self, ids: Iterable[int]) -> dict[int, str]:
        """The terms of some ids."""
        wanted = set(ids)
        with self._store._cursor() as cur:
            rows = cur.execute("SELECT id, term FROM terms").fetchall()
        return {int(i): str(t) for i, t in rows if i in wanted}


def fsync_file(path: Path) -> None:
    """Flush a file's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (new and renamed files) to disk, where the system allows."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_files(paths: Iterable[Path]) -> None:
    """Delete files, ignoring those already gone."""
    for path in paths:
        with suppress(FileNotFoundError):
            path.unlink()


def deleted_blob(rows: NDArray[np.int64]) -> bytes:
    """Sorted deleted rows as stored."""
    return np.ascontiguousarray(rows, dtype=np.int64).tobytes()
