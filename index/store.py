"""The SQLite store: building it aside, swapping it in atomically, reading it back."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from . import documents, text
from .analyzer import Analyzer, AnalyzerSettings
from .documents import Document, FileEntry, Skipped
from .errors import (
    CorpusError,
    IndexCorruptError,
    IndexIncompatibleError,
    IndexMissingError,
)

# Bumped whenever the schema or the meaning of stored values changes.
FORMAT_VERSION = 1
APPLICATION = "dated-sources-bot index"

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class IndexSettings:
    """Everything that decides what an index contains."""

    analyzer: AnalyzerSettings = field(default_factory=AnalyzerSettings)
    passage_chars: int = 1200
    min_passage_chars: int = 100
    max_file_bytes: int = documents.DEFAULT_MAX_FILE_BYTES

    def fingerprint(self) -> dict[str, Any]:
        """Settings that must match for an index to be reused."""
        return {
            "format": FORMAT_VERSION,
            "analyzer": self.analyzer.as_dict(),
            "passage_chars": self.passage_chars,
            "min_passage_chars": self.min_passage_chars,
        }


@dataclass(frozen=True)
class BuildReport:
    """What a build did."""

    sources: int
    passages: int
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    skipped: tuple[Skipped, ...]
    seconds: float


@dataclass
class _Old:
    """A source of the previous index that a new build may reuse."""

    id: int
    sha256: str
    size: int
    mtime_ns: int


_SCHEMA_SOURCES = {
    "id": int,
    "path": str,
    "title": str,
    "date": str,
    "url": str,
    "sha256": str,
    "size": int,
    "mtime_ns": int,
    "body_start": int,
    "content": str,
}
_SCHEMA_PASSAGES = {
    "id": int,
    "source_id": int,
    "ordinal": int,
    "start": int,
    "end": int,
    "text": str,
    "tokens": str,
}


def build(
    corpus: Path,
    db_path: Path,
    settings: IndexSettings,
    progress: ProgressCallback | None = None,
) -> BuildReport:
    """Index the corpus into a new file beside db_path, then swap it in atomically."""
    started = time.perf_counter()
    entries, skipped = documents.scan(corpus)
    old_db = _reusable(db_path, settings)
    analyzer = Analyzer(settings.analyzer)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = db_path.with_name(f".{db_path.name}.building-{os.getpid()}-{threading.get_ident()}")
    _remove(tmp_path)
    try:
        with closing(sqlite3.connect(tmp_path)) as conn:
            db = sqlite_utils.Database(conn)
            _create_schema(db)
            old: dict[str, _Old] = {}
            old_by_hash: dict[str, _Old] = {}
            if old_db is not None:
                conn.execute("ATTACH DATABASE ? AS old", (str(old_db),))
                for row in conn.execute("SELECT id, path, sha256, size, mtime_ns FROM old.sources"):
                    item = _Old(row[0], row[2], row[3], row[4])
                    old[row[1]] = item
                    old_by_hash.setdefault(row[2], item)
            seen_hashes: dict[str, str] = {}
            added: list[str] = []
            changed: list[str] = []
            unchanged = 0
            passages = 0
            for done, entry in enumerate(entries):
                if progress is not None:
                    progress(done, len(entries))
                prior = old.get(entry.path)
                if prior and prior.size == entry.size and prior.mtime_ns == entry.mtime_ns:
                    if prior.sha256 in seen_hashes:
                        skipped.append(
                            Skipped(entry.path, f"duplicate of {seen_hashes[prior.sha256]}")
                        )
                        continue
                    seen_hashes[prior.sha256] = entry.path
                    passages += _copy_source(conn, prior.id, entry)
                    unchanged += 1
                    continue
                doc = documents.read(entry, settings.max_file_bytes)
                if isinstance(doc, Skipped):
                    skipped.append(doc)
                    continue
                if doc.sha256 in seen_hashes:
                    skipped.append(Skipped(entry.path, f"duplicate of {seen_hashes[doc.sha256]}"))
                    continue
                seen_hashes[doc.sha256] = entry.path
                reuse = old_by_hash.get(doc.sha256)
                if reuse is not None:
                    passages += _copy_source(conn, reuse.id, entry)
                else:
                    passages += _insert_source(db, doc, analyzer, settings)
                if prior is None:
                    added.append(entry.path)
                elif prior.sha256 != doc.sha256:
                    changed.append(entry.path)
                else:
                    unchanged += 1
            if progress is not None:
                progress(len(entries), len(entries))
            sources = len(seen_hashes)
            if sources == 0:
                raise CorpusError(_empty_corpus_message(corpus, skipped))
            removed = sorted(set(old) - set(seen_hashes.values()))
            db.table("skipped").insert_all({"path": s.path, "reason": s.reason} for s in skipped)
            _write_meta(db, settings, corpus)
            conn.commit()
            if old_db is not None:
                conn.execute("DETACH DATABASE old")
        _fsync(tmp_path)
        os.replace(tmp_path, db_path)
        _fsync_dir(db_path.parent)
    finally:
        _remove(tmp_path)
    return BuildReport(
        sources=sources,
        passages=passages,
        added=tuple(added),
        changed=tuple(changed),
        removed=tuple(removed),
        unchanged=unchanged,
        skipped=tuple(skipped),
        seconds=time.perf_counter() - started,
    )


def _empty_corpus_message(corpus: Path, skipped: list[Skipped]) -> str:
    message = f"no indexable .txt or .md sources in {str(corpus)!r}"
    if skipped:
        message += f" ({len(skipped)} file(s) skipped: {skipped[0].path}: {skipped[0].reason}"
        message += ", …)" if len(skipped) > 1 else ")"
    return message + "; add UTF-8 text files there and index again"


def _create_schema(db: sqlite_utils.Database) -> None:
    db.table("meta").create({"key": str, "value": str}, pk="key")
    db.table("skipped").create({"path": str, "reason": str})
    db.table("sources").create(
        _SCHEMA_SOURCES, pk="id", not_null={"path", "title", "sha256", "content"}
    )
    db.table("sources").create_index(["path"], unique=True)
    db.table("passages").create(
        _SCHEMA_PASSAGES, pk="id", foreign_keys=[("source_id", "sources", "id")]
    )
    db.table("passages").create_index(["source_id", "ordinal"], unique=True)


def _insert_source(
    db: sqlite_utils.Database, doc: Document, analyzer: Analyzer, settings: IndexSettings
) -> int:
    source_id = (
        db.table("sources")
        .insert(
            {
                "path": doc.path,
                "title": doc.title,
                "date": doc.date.isoformat() if doc.date else None,
                "url": doc.url,
                "sha256": doc.sha256,
                "size": doc.size,
                "mtime_ns": doc.mtime_ns,
                "body_start": doc.body_start,
                "content": doc.text,
            }
        )
        .last_pk
    )
    spans = text.passages(
        doc.text, doc.body_start, settings.passage_chars, settings.min_passage_chars
    )
    db.table("passages").insert_all(
        {
            "source_id": source_id,
            "ordinal": ordinal,
            "start": start,
            "end": end,
            "text": doc.text[start:end],
            "tokens": " ".join(analyzer.terms(doc.text[start:end])),
        }
        for ordinal, (start, end) in enumerate(spans)
    )
    return len(spans)


def _copy_source(conn: sqlite3.Connection, old_id: int, entry: FileEntry) -> int:
    cur = conn.execute(
        "INSERT INTO sources (path, title, date, url, sha256, size, mtime_ns, body_start, content)"
        " SELECT ?, title, date, url, sha256, ?, ?, body_start, content"
        " FROM old.sources WHERE id = ?",
        (entry.path, entry.size, entry.mtime_ns, old_id),
    )
    new_id = cur.lastrowid
    cur = conn.execute(
        "INSERT INTO passages (source_id, ordinal, start, end, text, tokens)"
        " SELECT ?, ordinal, start, end, text, tokens FROM old.passages"
        " WHERE source_id = ? ORDER BY ordinal",
        (new_id, old_id),
    )
    return cur.rowcount


def _write_meta(db: sqlite_utils.Database, settings: IndexSettings, corpus: Path) -> None:
    db.table("meta").insert_all(
        [
            {"key": "application", "value": APPLICATION},
            {"key": "fingerprint", "value": json.dumps(settings.fingerprint(), sort_keys=True)},
            {"key": "corpus", "value": str(corpus.resolve())},
            {"key": "built_at", "value": dt.datetime.now(dt.UTC).isoformat()},
        ]
    )


def _reusable(db_path: Path, settings: IndexSettings) -> Path | None:
    """The existing index at db_path when a new build may reuse its passages."""
    if not db_path.exists():
        return None
    meta = _read_meta(db_path)  # a foreign file raises: it must never be overwritten
    if meta.get("fingerprint") != json.dumps(settings.fingerprint(), sort_keys=True):
        return None
    return db_path


def _read_meta(db_path: Path) -> dict[str, str]:
    """Metadata of the index at db_path; raises when it is not an index of this program."""
    if not db_path.exists():
        raise IndexMissingError(
            f"no index at {str(db_path)!r} yet; run `python -m bot index` to build it"
        )
    try:
        with closing(_connect_ro(db_path)) as conn:
            rows = conn.execute("SELECT key, value FROM meta").fetchall()
    except sqlite3.DatabaseError as exc:
        raise IndexCorruptError(_foreign_message(db_path, str(exc))) from None
    meta = {str(k): str(v) for k, v in rows}
    if meta.get("application") != APPLICATION:
        raise IndexCorruptError(_foreign_message(db_path, "no index metadata"))
    return meta


def _foreign_message(db_path: Path, detail: str) -> str:
    return (
        f"{str(db_path)!r} is not an index of this bot ({detail}); "
        "move the file away or set index.path to another file, then index again"
    )


def _connect_ro(db_path: Path) -> sqlite3.Connection:
    uri = db_path.resolve().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True, check_same_thread=False)


@dataclass(frozen=True)
class StoredSource:
    """A source as stored in the index."""

    id: int
    path: str
    title: str
    date: dt.date | None
    url: str | None
    passages: int


@dataclass(frozen=True)
class StoredPassage:
    """A passage row: where it sits in its source, and its index terms."""

    id: int
    source_id: int
    ordinal: int
    start: int
    end: int
    tokens: list[str]


class Store:
    """Read access to one built index file."""

    def __init__(self, db_path: Path, settings: IndexSettings) -> None:
        meta = _read_meta(db_path)
        wanted = json.dumps(settings.fingerprint(), sort_keys=True)
        if meta.get("fingerprint") != wanted:
            raise IndexIncompatibleError(
                f"the index at {str(db_path)!r} was built with other settings or an older "
                "version; run `python -m bot index` to rebuild it"
            )
        self.path = db_path
        self.meta = meta
        self._conn = _connect_ro(db_path)
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _cursor(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cur = self._conn.cursor()
            try:
                yield cur
            finally:
                cur.close()

    def sources(self) -> list[StoredSource]:
        """All sources, in path order, with their passage counts."""
        with self._cursor() as cur:
            rows = cur.execute(
                "SELECT s.id, s.path, s.title, s.date, s.url, COUNT(p.id)"
                " FROM sources s LEFT JOIN passages p ON p.source_id = s.id"
                " GROUP BY s.id ORDER BY s.path"
            ).fetchall()
        return [
            StoredSource(
                r[0], r[1], r[2], dt.date.fromisoformat(r[3]) if r[3] else None, r[4], r[5]
            )
            for r in rows
        ]

    def passages(self) -> Iterator[StoredPassage]:
        """Every passage in source and reading order."""
        with self._cursor() as cur:
            rows = cur.execute(
                "SELECT id, source_id, ordinal, start, end, tokens FROM passages"
                " ORDER BY source_id, ordinal"
            ).fetchall()
        for r in rows:
            yield StoredPassage(r[0], r[1], r[2], r[3], r[4], r[5].split())

    def content(self, source_id: int) -> str:
        """The full text of a source."""
        with self._cursor() as cur:
            row = cur.execute("SELECT content FROM sources WHERE id = ?", (source_id,)).fetchone()
        if row is None:
            raise KeyError(source_id)
        return str(row[0])

    def skipped(self) -> list[Skipped]:
        """Files the last build skipped, with reasons."""
        with self._cursor() as cur:
            rows = cur.execute("SELECT path, reason FROM skipped ORDER BY path").fetchall()
        return [Skipped(r[0], r[1]) for r in rows]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
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


def _remove(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + "-journal")):
        with suppress(FileNotFoundError):
            candidate.unlink()
