"""The SQLite store: building it aside, swapping it in atomically, reading it back."""

from __future__ import annotations

import bisect
import datetime as dt
import errno
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils
from numpy.typing import NDArray

from . import documents, text
from .analyzer import Analyzer, AnalyzerSettings
from .documents import Document, FileEntry, Skipped
from .engine import MatrixBuilder, TermMatrix
from .errors import (
    CorpusError,
    IndexCorruptError,
    IndexIncompatibleError,
    IndexMissingError,
    IndexWriteError,
    SwapRefusedError,
)
from .vectors import EmbeddingCounts

# The build's embedding stage (vectors.EmbeddingStage): fills the vector store of the index
# being built on the connection, given whether the previous index is attached as "old".
EmbedStage = Callable[[sqlite3.Connection, bool], EmbeddingCounts]

# Bumped whenever the schema or the meaning of stored values changes.
FORMAT_VERSION = 3
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
    # How many sources got their date from each origin ("front matter", "file name", …).
    dated_by: tuple[tuple[str, int], ...] = ()
    # Undated sources: how many, and why for those that state something like a date.
    undated: int = 0
    undated_notes: tuple[tuple[str, str], ...] = ()
    # Passage vectors computed by this build, and those reused from the previous index.
    embedded: int = 0
    reused_vectors: int = 0
    # "hybrid" when passage vectors were stored, else "bm25", and why not, in one line.
    retrieval: str = "bm25"
    retrieval_note: str = ""


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
    "updated": str,
    "date_origin": str,
    "date_note": str,
    "pages": str,
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
    embed: EmbedStage | None = None,
    *,
    max_drop: float | None = None,
) -> BuildReport:
    """Index the corpus into a new file beside db_path, then swap it in atomically.

    A new index that would hold more than max_drop (a share, 0-1) fewer sources than the
    current one is not swapped in (SwapRefusedError); None allows any drop. A corpus folder
    that vanishes or is replaced during the build is never swapped in (CorpusError). When
    the index cannot be written (disk full, no permission) the build raises IndexWriteError;
    in every failure the previous index is left as it was.
    """
    try:
        return _build(corpus, db_path, settings, progress, max_drop, embed)
    except (sqlite3.Error, OSError) as exc:
        failure = _write_failure(exc, db_path)
        if failure is None:
            raise
        raise failure from exc


def _build(
    corpus: Path,
    db_path: Path,
    settings: IndexSettings,
    progress: ProgressCallback | None,
    max_drop: float | None,
    embed: EmbedStage | None,
) -> BuildReport:
    started = time.perf_counter()
    entries, skipped = documents.scan(corpus)
    root = _identity(corpus)
    previous = _source_count(db_path) if max_drop is not None else None
    old_db = _reusable(db_path, settings)
    old_arrays = _load_arrays(old_db) if old_db is not None else None
    if old_arrays is None:
        old_db = None  # an index without readable arrays is rebuilt from the corpus
    analyzer = Analyzer(settings.analyzer)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(db_path)
    tmp_path = db_path.with_name(f".{db_path.name}.building-{os.getpid()}-{threading.get_ident()}")
    _remove(tmp_path)
    try:
        with closing(sqlite3.connect(tmp_path)) as conn:
            db = sqlite_utils.Database(conn)
            _create_schema(db)
            writer = _Writer(conn, old_arrays, analyzer, settings)
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
                    passages += writer.copy(prior.id, entry)
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
                    passages += writer.copy(reuse.id, entry)
                else:
                    passages += writer.insert(doc)
                if prior is None:
                    added.append(entry.path)
                elif prior.sha256 != doc.sha256:
                    changed.append(entry.path)
                else:
                    unchanged += 1
            if progress is not None:
                progress(len(entries), len(entries))
            sources = len(seen_hashes)
            if _identity(corpus) != root:
                raise CorpusError(
                    f"the corpus folder {str(corpus)!r} vanished or was replaced during the "
                    "build; the previous index is kept. Put the folder back and index again"
                )
            if sources == 0:
                raise CorpusError(_empty_corpus_message(corpus, skipped))
            if previous and max_drop is not None and previous - sources > max_drop * previous:
                raise SwapRefusedError(
                    f"the new index would hold {sources} source(s) instead of {previous} "
                    f"({(previous - sources) / previous:.0%} fewer, more than the "
                    f"{max_drop:.0%} allowed); the previous index is kept. If the sources "
                    "really went away, index again with force",
                    previous=previous,
                    built=sources,
                )
            removed = sorted(set(old) - set(seen_hashes.values()))
            db.table("skipped").insert_all({"path": s.path, "reason": s.reason} for s in skipped)
            _write_arrays(conn, *writer.finish())
            vectors = embed(conn, old_db is not None) if embed is not None else None
            dated_by, undated, notes = _date_summary(conn)
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
        dated_by=dated_by,
        undated=undated,
        undated_notes=notes,
        embedded=vectors.embedded if vectors is not None else 0,
        reused_vectors=vectors.reused if vectors is not None else 0,
    )


def _date_summary(
    conn: sqlite3.Connection,
) -> tuple[tuple[tuple[str, int], ...], int, tuple[tuple[str, str], ...]]:
    """Dated sources counted by where the date came from; the undated, and notes on why."""
    dated_by = tuple(
        (str(origin), int(n))
        for origin, n in conn.execute(
            "SELECT date_origin, COUNT(*) FROM sources WHERE date IS NOT NULL"
            " GROUP BY date_origin ORDER BY COUNT(*) DESC, date_origin"
        )
    )
    (undated,) = conn.execute("SELECT COUNT(*) FROM sources WHERE date IS NULL").fetchone()
    notes = tuple(
        (str(path), str(note))
        for path, note in conn.execute(
            "SELECT path, date_note FROM sources WHERE date IS NULL AND date_note IS NOT NULL"
            " ORDER BY path"
        )
    )
    return dated_by, int(undated), notes


def _identity(path: Path) -> tuple[int, int] | None:
    """Device and inode of a folder, to tell whether it is still the same one."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _source_count(db_path: Path) -> int | None:
    """How many sources the index at db_path holds, or None when there is no usable index."""
    if not db_path.exists():
        return None
    try:
        with closing(_connect_ro(db_path)) as conn:
            (count,) = conn.execute("SELECT COUNT(*) FROM sources").fetchone()
    except sqlite3.DatabaseError:
        return None
    return int(count)


# SQLite's primary result codes that mean the index file cannot be written.
_SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_FULL, _SQLITE_CANTOPEN = 8, 10, 13, 14


def _write_failure(exc: sqlite3.Error | OSError, db_path: Path) -> IndexWriteError | None:
    """The index-wide failure behind a write error, as one line with the fix; else None."""
    folder = str(db_path.parent)
    full = IndexWriteError(
        f"no space left on the index's disk ({folder}); free some space there and index again"
    )
    if isinstance(exc, sqlite3.Error):
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
        if code == _SQLITE_FULL:
            return full
        if code in (_SQLITE_READONLY, _SQLITE_CANTOPEN):
            return IndexWriteError(
                f"cannot write the index in {folder} ({exc}); make the folder writable or set "
                "index.path to another folder, then index again"
            )
        if code == _SQLITE_IOERR:
            return IndexWriteError(
                f"the index's disk failed a write in {folder} ({exc}); check the disk, then "
                "index again"
            )
        return None
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return full
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) and _index_file(exc, db_path):
        return IndexWriteError(
            f"cannot write the index in {folder} ({exc.strerror}); make the folder writable or "
            "set index.path to another folder, then index again"
        )
    return None


def _index_file(exc: OSError, db_path: Path) -> bool:
    """Whether an OSError is about the index: its folder (or one above), its own files."""
    if exc.filename is None:  # fsync and other calls on an open file of the build
        return True
    path = Path(os.fsdecode(exc.filename))
    if db_path.parent.is_relative_to(path):
        return True
    names = (db_path.name, f".{db_path.name}")
    return path.parent == db_path.parent and path.name.startswith(names)


def _empty_corpus_message(corpus: Path, skipped: list[Skipped]) -> str:
    kinds = ", ".join(documents.SUFFIXES)
    message = f"no indexable sources ({kinds}) in {str(corpus)!r}"
    if skipped:
        message += f" ({len(skipped)} file(s) skipped: {skipped[0].path}: {skipped[0].reason}"
        message += ", …)" if len(skipped) > 1 else ")"
    return message + "; add documents there and index again"


def _create_schema(db: sqlite_utils.Database) -> None:
    db.table("meta").create({"key": str, "value": str}, pk="key")
    db.table("skipped").create({"path": str, "reason": str})
    db.table("sources").create(
        _SCHEMA_SOURCES, pk="id", not_null={"path", "title", "sha256", "content"}
    )
    db.table("sources").create_index(["path"], unique=True)
    # Listing the sources reads this index only, not the rows with their full text.
    db.table("sources").create_index(
        ["path", "id", "title", "date", "url", "updated", "date_origin", "pages"]
    )
    db.table("passages").create(
        _SCHEMA_PASSAGES, pk="id", foreign_keys=[("source_id", "sources", "id")]
    )
    db.table("passages").create_index(["source_id", "ordinal"], unique=True)
    # Numeric arrays (passage table, term matrix) as raw bytes, split in parts below
    # SQLite's 1 GB value limit: loading them is a few reads, not a row per passage.
    db.execute(
        "CREATE TABLE arrays (name TEXT NOT NULL, part INTEGER NOT NULL, dtype TEXT NOT NULL,"
        " data BLOB NOT NULL, PRIMARY KEY (name, part))"
    )


class _Writer:
    """Writes sources and passages into the new index, and collects its arrays in row order.

    Rows (passages by source, then reading order) get ids counted here, as an empty table
    would number them, so that copies of unchanged sources can be batched at the end.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        old: tuple[PassageTable, TermMatrix] | None,
        analyzer: Analyzer,
        settings: IndexSettings,
    ) -> None:
        self._conn = conn
        self._analyzer = analyzer
        self._settings = settings
        self._old_table = old[0] if old is not None else None
        self._old_rows = _source_rows(old[0]) if old is not None else {}
        self._builder = MatrixBuilder(old[1] if old is not None else None)
        self._next_source = 1
        self._next_passage = 1
        self._copies: list[tuple[int, int, str, int, int, int]] = []
        self._copied = 0
        self._pending: list[tuple[int, int, int, int]] = []  # old rows, source id, first id
        self._blocks: list[NDArray[np.int64]] = []

    def insert(self, doc: Document) -> int:
        """Add a new or changed source, analyzing its passages."""
        source_id, first = self._next_source, self._next_passage
        self._conn.execute(
            "INSERT INTO sources"
            " (id, path, title, date, url, sha256, size, mtime_ns, body_start, content,"
            " updated, date_origin, date_note, pages)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                source_id,
                doc.path,
                doc.title,
                doc.date.isoformat() if doc.date else None,
                doc.url,
                doc.sha256,
                doc.size,
                doc.mtime_ns,
                doc.body_start,
                doc.text,
                doc.updated.isoformat() if doc.updated else None,
                str(doc.date_origin),
                doc.date_note,
                json.dumps(doc.pages) if doc.pages else None,
            ),
        )
        spans = text.passages(
            doc.text, doc.body_start, self._settings.passage_chars, self._settings.min_passage_chars
        )
        rows = []
        for ordinal, (start, end) in enumerate(spans):
            passage = doc.text[start:end]
            tokens = self._analyzer.terms(passage)
            self._builder.add(tokens)
            row_id = first + ordinal
            rows.append((row_id, source_id, ordinal, start, end, passage, " ".join(tokens)))
        self._conn.executemany(
            "INSERT INTO passages (id, source_id, ordinal, start, end, text, tokens)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        self._flush_copies()
        block = np.array([r[:5] for r in rows], dtype=np.int64).reshape(-1, len(_TABLE_COLUMNS))
        self._blocks.append(block)
        self._next_source += 1
        self._next_passage += len(spans)
        return len(spans)

    def copy(self, old_id: int, entry: FileEntry) -> int:
        """Add an unchanged source from the old index, under entry's path."""
        start, stop = self._old_rows.get(old_id, (0, 0))
        source_id, first = self._next_source, self._next_passage
        self._copies.append((source_id, old_id, entry.path, entry.size, entry.mtime_ns, first))
        if not self._builder.reuse(start, stop):
            for (tokens,) in self._conn.execute(
                "SELECT tokens FROM old.passages WHERE source_id = ? ORDER BY ordinal", (old_id,)
            ):
                self._builder.add(tokens.split())
        self._pending.append((start, stop, source_id, first))
        self._next_source += 1
        self._next_passage += stop - start
        self._copied += stop - start
        return stop - start

    def _flush_copies(self) -> None:
        """Table rows of the copies since the last new source, gathered in one go."""
        if not self._pending or self._old_table is None:
            return
        old = self._old_table
        starts, stops, sources, firsts = (
            np.array(c, dtype=np.int64) for c in zip(*self._pending, strict=True)
        )
        counts = stops - starts
        before = np.cumsum(counts) - counts
        offsets = np.arange(int(counts.sum()))
        rows = offsets + np.repeat(starts - before, counts)
        ids = offsets + np.repeat(firsts - before, counts)
        block = np.column_stack(
            (ids, np.repeat(sources, counts), old.ordinals[rows], old.starts[rows], old.ends[rows])
        )
        self._blocks.append(block)
        self._pending.clear()

    def finish(self) -> tuple[PassageTable, TermMatrix]:
        """Copy the unchanged sources; the passage table and term matrix of the new index."""
        self._flush_copies()
        if self._copies:
            self._conn.execute(
                "CREATE TEMP TABLE copies (new_id INTEGER PRIMARY KEY, old_id INTEGER,"
                " path TEXT, size INTEGER, mtime_ns INTEGER, first_passage INTEGER)"
            )
            self._conn.executemany(
                "INSERT INTO temp.copies VALUES (?, ?, ?, ?, ?, ?)", self._copies
            )
            self._conn.execute(
                "INSERT INTO sources"
                " (id, path, title, date, url, sha256, size, mtime_ns, body_start, content,"
                " updated, date_origin, date_note, pages)"
                " SELECT c.new_id, c.path, o.title, o.date, o.url, o.sha256, c.size, c.mtime_ns,"
                " o.body_start, o.content, o.updated, o.date_origin, o.date_note, o.pages"
                " FROM temp.copies c JOIN old.sources o ON o.id = c.old_id ORDER BY c.new_id"
            )
            # Ordinals of a stored source run 0, 1, 2, … (checked when its arrays are read).
            cur = self._conn.execute(
                "INSERT INTO passages (id, source_id, ordinal, start, end, text, tokens)"
                " SELECT c.first_passage + p.ordinal, c.new_id, p.ordinal, p.start, p.end,"
                " p.text, p.tokens"
                " FROM temp.copies c JOIN old.passages p ON p.source_id = c.old_id"
                " ORDER BY c.new_id, p.ordinal"
            )
            if cur.rowcount != self._copied:
                raise RuntimeError("copied passages miscounted; this is a bug")
            self._conn.execute("DROP TABLE temp.copies")
        columns = np.concatenate(self._blocks) if self._blocks else np.zeros((0, 5), np.int64)
        table = PassageTable(*(np.ascontiguousarray(c) for c in columns.T))
        return table, self._builder.build()


def _source_rows(table: PassageTable) -> dict[int, tuple[int, int]]:
    """The range of rows of each source with passages."""
    ids, first, counts = np.unique(table.source_ids, return_index=True, return_counts=True)
    return {
        i: (f, f + c) for i, f, c in zip(ids.tolist(), first.tolist(), counts.tolist(), strict=True)
    }


_ARRAY_PART_BYTES = 1 << 28
_TABLE_COLUMNS = ("ids", "source_ids", "ordinals", "starts", "ends")


def _write_arrays(conn: sqlite3.Connection, table: PassageTable, matrix: TermMatrix) -> None:
    if len(table.ids) != matrix.size:
        raise RuntimeError("passage table and term matrix disagree; this is a bug")
    terms = np.frombuffer("\n".join(matrix.terms).encode("utf-8"), dtype=np.uint8)
    arrays: dict[str, NDArray[Any]] = {
        **{f"passage.{name}": getattr(table, name) for name in _TABLE_COLUMNS},
        "matrix.terms": terms,
        "matrix.indptr": matrix.indptr,
        "matrix.rows": matrix.rows,
        "matrix.tf": matrix.tf,
        "matrix.lengths": matrix.lengths,
    }
    for name, values in arrays.items():
        data = np.ascontiguousarray(values).view(np.uint8)
        conn.executemany(
            "INSERT INTO arrays (name, part, dtype, data) VALUES (?, ?, ?, ?)",
            (
                (name, part, values.dtype.str, data[lo : lo + _ARRAY_PART_BYTES].data)
                for part, lo in enumerate(range(0, max(len(data), 1), _ARRAY_PART_BYTES))
            ),
        )


def _read_arrays(conn: sqlite3.Connection) -> tuple[PassageTable, TermMatrix]:
    """The stored passage table and term matrix; raises ValueError when they are unusable."""
    parts: dict[str, list[bytes]] = {}
    dtypes: dict[str, str] = {}
    for name, dtype, data in conn.execute(
        "SELECT name, dtype, data FROM arrays ORDER BY name, part"
    ):
        parts.setdefault(name, []).append(data)
        dtypes[name] = dtype

    def get(name: str) -> NDArray[Any]:
        if name not in parts:
            raise ValueError(f"array {name} is missing")
        chunks = parts.pop(name)
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return np.frombuffer(data, dtype=np.dtype(dtypes[name]))

    table = PassageTable(*(get(f"passage.{name}") for name in _TABLE_COLUMNS))
    terms = get("matrix.terms").tobytes().decode("utf-8")
    matrix = TermMatrix(
        terms=tuple(terms.split("\n")) if terms else (),
        indptr=get("matrix.indptr"),
        rows=get("matrix.rows"),
        tf=get("matrix.tf"),
        lengths=get("matrix.lengths"),
    )
    matrix.check()
    if any(len(getattr(table, name)) != matrix.size for name in _TABLE_COLUMNS):
        raise ValueError("passage table and term matrix disagree")
    sources = table.source_ids
    if np.any(sources[1:] < sources[:-1]) or np.any(table.ids[1:] <= table.ids[:-1]):
        raise ValueError("passage table out of order")
    # Each source's ordinals run 0, 1, 2, …: its rows are found by source id and position.
    _, first, counts = np.unique(sources, return_index=True, return_counts=True)
    if np.any(table.ordinals != np.arange(len(sources)) - np.repeat(first, counts)):
        raise ValueError("passage ordinals have gaps")
    return table, matrix


def _load_arrays(db_path: Path) -> tuple[PassageTable, TermMatrix] | None:
    """The arrays of the index at db_path, or None when they cannot be read."""
    try:
        with closing(_connect_ro(db_path)) as conn:
            return _read_arrays(conn)
    except (sqlite3.DatabaseError, ValueError, UnicodeDecodeError):
        return None


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


@dataclass(frozen=True)
class StoredPassage:
    """A passage row: where it sits in its source, and its index terms."""

    id: int
    source_id: int
    ordinal: int
    start: int
    end: int
    tokens: list[str]


@dataclass(frozen=True, eq=False)
class PassageTable:
    """Every passage in row order (by source, then reading order), as parallel arrays."""

    ids: NDArray[np.int64]
    source_ids: NDArray[np.int64]
    ordinals: NDArray[np.int64]
    starts: NDArray[np.int64]
    ends: NDArray[np.int64]


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

    def cursor(self) -> AbstractContextManager[sqlite3.Cursor]:
        """A cursor under the store's lock, for the vector store (vectors.py)."""
        return self._cursor()

    @contextmanager
    def _cursor(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cur = self._conn.cursor()
            try:
                yield cur
            finally:
                cur.close()

    def sources(self) -> list[Source]:
        """All sources, in path order, with their passage counts."""
        with self._cursor() as cur:
            rows = cur.execute(
                "SELECT id, path, title, date, url, updated, date_origin, pages FROM sources"
                " ORDER BY path, id, title, date, url, updated, date_origin, pages"
            ).fetchall()
            counts = dict(
                cur.execute("SELECT source_id, COUNT(*) FROM passages GROUP BY source_id")
            )
        return [
            Source(
                r[0],
                r[1],
                r[2],
                dt.date.fromisoformat(r[3]) if r[3] else None,
                r[4],
                counts.get(r[0], 0),
                dt.date.fromisoformat(r[5]) if r[5] else None,
                r[6] or "none",
                tuple(json.loads(r[7])) if r[7] else (),
            )
            for r in rows
        ]

    def load(self) -> tuple[PassageTable, TermMatrix]:
        """The passage table and the term matrix, as stored by the build."""
        try:
            with self._cursor() as cur:
                return _read_arrays(cur.connection)
        except (sqlite3.DatabaseError, ValueError, UnicodeDecodeError) as exc:
            raise IndexIncompatibleError(
                f"the index at {str(self.path)!r} is incomplete or damaged ({exc}); "
                "run `python -m bot index` to rebuild it"
            ) from None

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


def _remove_abandoned(db_path: Path) -> None:
    """Delete the temporary files of builds whose process died (killed) before cleaning up."""
    prefix = f".{db_path.name}.building-"
    with suppress(OSError):
        for candidate in db_path.parent.iterdir():
            if not candidate.name.startswith(prefix):
                continue
            pid = candidate.name[len(prefix) :].split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                with suppress(FileNotFoundError):
                    candidate.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _remove(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + "-journal")):
        with suppress(FileNotFoundError):
            candidate.unlink()
