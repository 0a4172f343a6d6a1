"""Writing the index inside a build's transaction: source rows and texts, the segment files
and the segment list, the meta table; and reading back what the index held before. Nothing
here decides what changed (plan.py) or reads files (reading.py)."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import segment_files, segments
from .plan import merge_plan, worn
from .reading import Analyzed, alive
from .segment_files import SegmentFile
from .segments import Segment, SegmentBuilder
from .store import (
    APPLICATION,
    SCHEMA,
    TABLES,
    IndexSettings,
    deleted_blob,
    fsync_dir,
    remove_files,
    segment_folder,
)

# A build's new passages are written as segments of about this many rows (a question asks
# each segment, so fewer is faster; a big build sorts one segment's postings at a time).
ROWS_PER_SEGMENT = 1 << 18


class IndexWriter:
    """The rows and files of one index, inside the write transaction of its connection."""

    def __init__(
        self, conn: sqlite3.Connection, db_path: Path, settings: IndexSettings, corpus: Path
    ) -> None:
        self._conn = conn
        self._folder = segment_folder(db_path)
        self._settings = settings
        self._corpus = corpus
        # Segment files written by this build, and those it makes obsolete.
        self.written: list[Path] = []
        self.obsolete: list[Path] = []
        self.opened: list[SegmentFile] = []  # segments of the old index, closed at the end
        # New sources and their texts, inserted a batch at a time.
        self._new_sources: list[tuple[Any, ...]] = []
        self._new_texts: list[tuple[int, bytes]] = []
        self._next_source = 1
        # No old source to compare content with.
        self.fresh = True

    def start(self, indexed: int) -> None:
        """Ready to add sources to an index of indexed sources."""
        # AUTOINCREMENT's counter: an id is never given twice, even after a deletion.
        row = self._conn.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = 'sources'"
        ).fetchone()
        self._next_source = 1 + (int(row[0]) if row else 0)
        self.fresh = not indexed

    def indexed(self) -> dict[str, tuple[str, int, int, int]]:
        """path -> (path, id, size, modification time) of the sources in the index, read
        from a covering index: a few MB at a million passages."""
        return {
            row[0]: row
            for row in self._conn.execute("SELECT path, id, size, mtime_ns FROM sources").fetchall()
        }

    def source_count(self) -> int | None:
        """How many sources the index holds before this build (of any format), if any."""
        try:
            (count,) = self._conn.execute("SELECT COUNT(*) FROM sources").fetchone()
        except sqlite3.OperationalError:
            return None  # a new, empty file
        return int(count)

    def meta(self) -> dict[str, str]:
        try:
            rows = self._conn.execute("SELECT key, value FROM meta").fetchall()
        except sqlite3.OperationalError:
            return {}  # a new, empty file
        return {str(k): str(v) for k, v in rows}

    def parts(self, meta: dict[str, str]) -> list[Listed] | None:
        """The segments to refresh, or None when the index must be built afresh (other
        settings or format, or segments that cannot be read)."""
        if meta.get("application") != APPLICATION:
            return None
        if meta.get("fingerprint") != self._settings.fingerprint_json():
            return None
        listed: list[Listed] = []
        try:
            for file, rows, deleted in self._conn.execute(
                "SELECT file, rows, deleted FROM segments ORDER BY id"
            ).fetchall():
                opened = SegmentFile(self._folder / file)
                self.opened.append(opened)
                gone = np.frombuffer(deleted, dtype=np.int64)
                if opened.size != rows or (len(gone) and (gone[0] < 0 or gone[-1] >= rows)):
                    return None
                listed.append(Listed(str(file), opened, gone))
        except (OSError, ValueError, sqlite3.DatabaseError):
            return None
        return listed

    def reset(self) -> None:
        """Start from an empty index in this file (the old one stays until the commit)."""
        conn = self._conn
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall():
            # Formats 1-3 had arrays and passages; vectors are keyed by passage ids, which a
            # new index gives anew.
            if name in TABLES or name in ("arrays", "passages", "embeddings", "embedding_meta"):
                if name == "segments":
                    self.obsolete.extend(
                        self._folder / str(f) for (f,) in conn.execute("SELECT file FROM segments")
                    )
                conn.execute(f'DROP TABLE "{name}"')
        for statement in SCHEMA:
            conn.execute(statement)
        conn.execute("CREATE INDEX sources_sha256 ON sources (sha256)")
        conn.execute("CREATE INDEX sources_stat ON sources (path, id, size, mtime_ns)")
        conn.execute("CREATE INDEX sources_date ON sources (date)")

    def collect_garbage(self) -> None:
        """Delete segment files no index lists: left by builds that were killed."""
        listed = {str(f) for (f,) in self._conn.execute("SELECT file FROM segments")}
        for path in self._folder.iterdir():
            if path.name in listed or path in self.obsolete or not path.name.endswith(".seg"):
                continue
            pid = path.name.split("-", 1)[0]
            if pid.isdigit() and (int(pid) == os.getpid() or not alive(int(pid))):
                remove_files([path])

    def hashes(self, ids: Sequence[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for lo in range(0, len(ids), 500):
            chunk = ids[lo : lo + 500]
            marks = ",".join("?" * len(chunk))
            out.update(
                self._conn.execute(
                    f"SELECT id, sha256 FROM sources WHERE id IN ({marks})", chunk
                ).fetchall()
            )
        return out

    def path_of(self, source_id: int) -> str:
        (path,) = self._conn.execute(
            "SELECT path FROM sources WHERE id = ?", (source_id,)
        ).fetchone()
        return str(path)

    def same_content(self, sha256: str, kept: set[int]) -> int | None:
        """An old source with this content that no file has taken yet."""
        if self.fresh:
            return None
        for (source_id,) in self._conn.execute(
            "SELECT id FROM sources WHERE sha256 = ?", (sha256,)
        ):
            if source_id not in kept:
                return int(source_id)
        return None

    def kept_with(self, sha256: str, kept: set[int]) -> str | None:
        """The path of a source that stays and has this content."""
        if self.fresh:
            return None
        for source_id, path in self._conn.execute(
            "SELECT id, path FROM sources WHERE sha256 = ?", (sha256,)
        ):
            if source_id in kept:
                return str(path)
        return None

    def insert(self, doc: Analyzed) -> int:
        """Store a new source's metadata and text (soon); its id."""
        d = doc.document
        source_id = self._next_source
        self._next_source += 1
        self._new_sources.append(
            (
                source_id,
                d.path,
                d.title,
                d.date.isoformat() if d.date else None,
                d.url,
                d.sha256,
                d.size,
                d.mtime_ns,
                d.body_start,
                d.updated.isoformat() if d.updated else None,
                str(d.date_origin),
                d.date_note,
                json.dumps(d.pages) if d.pages else None,
                len(doc.spans),
            )
        )
        self._new_texts.append((source_id, doc.content))
        if len(self._new_sources) >= 256:
            self.flush_sources()
        return source_id

    def flush_sources(self) -> None:
        self._conn.executemany(
            "INSERT INTO sources (id, path, title, date, url, sha256, size, mtime_ns,"
            " body_start, updated, date_origin, date_note, pages, passages)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self._new_sources,
        )
        self._conn.executemany(
            "INSERT INTO texts (source_id, content) VALUES (?, ?)", self._new_texts
        )
        self._new_sources, self._new_texts = [], []

    def drop(self, source_id: int) -> None:
        self._conn.execute("DELETE FROM texts WHERE source_id = ?", (source_id,))
        self._conn.execute("DELETE FROM sources WHERE id = ?", (source_id,))

    def delete_rows(
        self, parts: list[Listed], sources: Sequence[int]
    ) -> tuple[list[Listed], NDArray[np.int64]]:
        """The segments with the passages of these sources marked deleted, and the ids of
        the passages that were live until now."""
        none = np.zeros(0, dtype=np.int64)
        if not sources:
            return parts, none
        ids = np.array(sorted(sources), dtype=np.int64)
        out: list[Listed] = []
        dropped = [none]
        for part in parts:
            hit = np.flatnonzero(np.isin(part.source_ids(), ids))
            deleted = part.deleted
            if len(hit):
                fresh = np.setdiff1d(hit, part.deleted)
                dropped.append(part.column("ids")[fresh].astype(np.int64))
                deleted = np.union1d(part.deleted, hit)
            out.append(Listed(part.file, part.source, deleted))
        return out, np.sort(np.concatenate(dropped))

    def write_segment(self, segment: Segment) -> str:
        """Write a new segment file; its name."""
        # The writer's process id leads the name: files of killed builds are recognised.
        name = f"{os.getpid()}-{secrets.token_hex(8)}.seg"
        path = self._folder / name
        self.written.append(path)
        segment_files.write(segment, path)
        return name

    def merge(self, listed: list[Listed]) -> int:
        """Apply the merge plan and store the segment list; the number of live passages."""
        live = [p.source.size - len(p.deleted) for p in listed]
        gone = [len(p.deleted) for p in listed]
        final: list[tuple[str, int, NDArray[np.int64]]] = []
        for run in merge_plan(live, gone):
            members = [listed[i] for i in run]
            if len(run) == 1 and not worn(live[run[0]], gone[run[0]]):
                final.append((members[0].file, members[0].source.size, members[0].deleted))
                continue
            merged = segments.merge([(m.segment(), m.deleted) for m in members])
            self.obsolete.extend(self._folder / m.file for m in members)
            if merged.size:
                final.append((self.write_segment(merged), merged.size, np.zeros(0, np.int64)))
        fsync_dir(self._folder)
        self._conn.execute("DELETE FROM segments")
        self._conn.executemany(
            "INSERT INTO segments (id, file, rows, deleted) VALUES (?, ?, ?, ?)",
            [
                (n, file, size, deleted_blob(deleted))
                for n, (file, size, deleted) in enumerate(final, start=1)
            ],
        )
        return sum(size - len(deleted) for _, size, deleted in final)

    def write_meta(self, next_passage: int) -> None:
        (newest,) = self._conn.execute("SELECT MAX(date) FROM sources").fetchone()
        rows = {
            "application": APPLICATION,
            "fingerprint": self._settings.fingerprint_json(),
            "corpus": str(self._corpus.resolve()),
            "built_at": dt.datetime.now(dt.UTC).isoformat(),
            "next_passage": str(next_passage),
            "newest": newest or "",
            "places": "1",
        }
        self._conn.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(rows.items())
        )


@dataclass(frozen=True, eq=False)
class Listed:
    """A segment of the index being built: its file, its content (new, in memory, or an
    old one's file, read only if it is merged), and its deleted rows."""

    file: str
    source: Segment | SegmentFile
    deleted: NDArray[np.int64]

    def source_ids(self) -> NDArray[np.integer[Any]]:
        """The source of each row."""
        if isinstance(self.source, Segment):
            return self.source.table.source_ids
        return self.source.column("source_ids")

    def column(self, name: str) -> NDArray[Any]:
        """A column of the passage table, every row."""
        if isinstance(self.source, Segment):
            return np.asarray(getattr(self.source.table, name))
        return self.source.column(name)

    def segment(self) -> Segment:
        """The whole segment."""
        return self.source if isinstance(self.source, Segment) else self.source.load()


class SegmentWriter:
    """New passages, written out as segments of ROWS_PER_SEGMENT rows."""

    def __init__(self, rows: IndexWriter, next_id: int) -> None:
        self._rows = rows
        self._builder = SegmentBuilder()
        self._done: list[Listed] = []
        self.first_id = next_id
        self.next_id = next_id

    def add(self, doc: Analyzed, source_id: int) -> None:
        """Append a new source's passages."""
        if self._builder.size + len(doc.spans) > ROWS_PER_SEGMENT:
            self._flush()
        self._builder.add_source(
            source_id,
            doc.document.date.toordinal() if doc.document.date else 0,
            self.next_id,
            doc.spans,
            doc.counts,
            doc.terms,
            doc.tf,
            doc.title,
        )
        self.next_id += len(doc.spans)

    def _flush(self) -> None:
        if self._builder.size:
            segment = self._builder.build()
            name = self._rows.write_segment(segment)
            self._done.append(Listed(name, segment, np.zeros(0, np.int64)))

    def finish(self) -> list[Listed]:
        """The new segments, in row order."""
        self._flush()
        return self._done
