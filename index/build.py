"""Building and refreshing an index in one transaction, touching only what changed.

A file whose size and modification time match the index is not opened; one whose do not is
read and hashed, and only a changed hash has it parsed and analyzed. New passages go into a
new segment; the passages of changed and removed files are marked deleted in theirs; small
segments are merged now and then (merge_plan). Everything commits at once, after the new
segment files are on disk: a crash at any moment leaves the previous index whole. A large
build reads and analyzes files in worker processes, one per core.

A build is refused, leaving the index as it was, when it would drop more than a given share
of the sources (SwapRefusedError), when the corpus folder vanishes or is replaced while it
runs (CorpusError), and when the index cannot be written (IndexWriteError, one line).
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import closing, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import documents, segments
from .analyzer import Analyzer
from .documents import FileEntry, Skipped
from .errors import CorpusError, IndexWriteError, ReindexBusyError, SwapRefusedError
from .places import Places
from .reading import Analyzed, Readers, ReadTask, Unchanged, alive
from .segments import Segment, SegmentBuilder, SegmentFile
from .store import (
    APPLICATION,
    SCHEMA,
    TABLES,
    IndexSettings,
    check_index_file,
    connect,
    deleted_blob,
    fsync_dir,
    fsync_file,
    remove_files,
    segment_folder,
    unpack,
)
from .vectors import EmbeddingCounts, Passages, SqliteVectors

ProgressCallback = Callable[[int, int], None]
# The build's embedding stage (vectors.EmbeddingStage): brings the vector store of the index
# being built on the connection up to date with its live passages.
EmbedStage = Callable[[sqlite3.Connection, Passages], EmbeddingCounts]

# A build's new passages are written as segments of about this many rows (a question asks
# each segment, so fewer is faster; a big build sorts one segment's postings at a time).
ROWS_PER_SEGMENT = 1 << 18
# Merges never make a segment larger than this (rows); larger ones are rewritten only to
# drop deleted rows.
MAX_MERGE_ROWS = 1 << 18
# The newest segment is merged into the one before it when at least this share of its size.
MERGE_RATIO = 4
MAX_SEGMENTS = 16
PAGE_SIZE = 1 << 14


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
    # Unchanged files that were read only to confirm it: their size or time had changed.
    touched: int = 0
    # Passage vectors computed by this build, and those kept or reused from stored ones.
    embedded: int = 0
    reused_vectors: int = 0
    # "hybrid" when passage vectors were stored, else "bm25", and why not, in one line.
    retrieval: str = "bm25"
    retrieval_note: str = ""


def build(
    corpus: Path,
    db_path: Path,
    settings: IndexSettings,
    progress: ProgressCallback | None = None,
    embed: EmbedStage | None = None,
    *,
    max_drop: float | None = None,
) -> BuildReport:
    """Index the corpus into db_path: refresh the index there, or write a new one.

    A build that would leave more than max_drop (a share, 0-1) fewer sources than the index
    holds is not committed (SwapRefusedError); None allows any drop. embed, when given, keeps
    a vector for every live passage. In every failure the previous index is left as it was.
    """
    try:
        return _build(corpus, db_path, settings, progress, embed, max_drop)
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
    embed: EmbedStage | None,
    max_drop: float | None,
) -> BuildReport:
    started = time.perf_counter()
    entries, skipped = documents.scan(corpus)
    job = _Job(corpus, settings, _identity(corpus), embed, max_drop)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    existing = check_index_file(db_path)  # a foreign file raises: it is never overwritten
    segment_folder(db_path).mkdir(exist_ok=True)
    _remove_abandoned(db_path)
    if existing is not None:
        with closing(connect(db_path)) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                raise ReindexBusyError(
                    f"another build of {str(db_path)!r} is running; index again when it is done"
                ) from None
            report = _Build(conn, db_path, job).run(entries, skipped, progress)
    else:
        # No index yet: built aside and moved in whole, so no half-built file is ever seen.
        tmp = db_path.with_name(f".{db_path.name}.building-{os.getpid()}-{threading.get_ident()}")
        remove_files([tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")])
        fresh: _Build | None = None
        try:
            with closing(connect(tmp, create=True)) as conn:
                # Texts are a few KB each: on 16 KB pages little of a page is left empty.
                conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
                # No one reads the file before it is complete, and a failed build deletes
                # it: no journal (the data is written once, not twice), one flush at the end.
                conn.execute("PRAGMA journal_mode = OFF")
                conn.execute("PRAGMA synchronous = OFF")
                conn.execute("BEGIN IMMEDIATE")
                fresh = _Build(conn, db_path, job)
                report = fresh.run(entries, skipped, progress)
                conn.execute("PRAGMA journal_mode = WAL")
            fsync_file(tmp)
            os.replace(tmp, db_path)
            fsync_dir(db_path.parent)
        except BaseException:
            if fresh is not None:  # its segment files belong to no index
                remove_files(fresh.written)
            raise
        finally:
            remove_files([tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")])
    return BuildReport(**{**report, "seconds": time.perf_counter() - started})


@dataclass(frozen=True)
class _Job:
    """What a build is asked to do, beyond the files it finds."""

    corpus: Path
    settings: IndexSettings
    # Device and inode of the corpus folder when the build began.
    root: tuple[int, int] | None
    embed: EmbedStage | None
    max_drop: float | None


# (path, id, size, modification time) of a file the index does not have.
_NOWHERE = ("", -1, -1, -1)


@dataclass
class _Tally:
    """What a build has made of the corpus's files so far."""

    skipped: list[Skipped]
    paths: set[str] = field(default_factory=set)  # the sources of the new index
    kept: set[int] = field(default_factory=set)  # old sources that stay, perhaps moved
    dropped: set[int] = field(default_factory=set)  # old sources deleted already
    read: dict[str, str] = field(default_factory=dict)  # hash -> path, of files read
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    touched: int = 0


class _Build:
    """One build, inside the write transaction of its connection."""

    def __init__(self, conn: sqlite3.Connection, db_path: Path, job: _Job) -> None:
        self._conn = conn
        self._folder = segment_folder(db_path)
        self._job = job
        self._settings = job.settings
        self._corpus = job.corpus
        self.written: list[Path] = []
        self._obsolete: list[Path] = []
        self._opened: list[SegmentFile] = []  # segments of the old index, closed at the end
        # New sources and their texts, inserted a batch at a time.
        self._new_sources: list[tuple[Any, ...]] = []
        self._new_texts: list[tuple[int, bytes]] = []
        self._next_source = 1
        self._fresh = True

    def run(
        self, entries: list[FileEntry], skipped: list[Skipped], progress: ProgressCallback | None
    ) -> dict[str, Any]:
        """Do the build and commit it; the report's figures (without the time taken)."""
        try:
            report = self._run(entries, skipped, progress)
            self._conn.execute("COMMIT")
        except BaseException:
            with suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            remove_files(self.written)
            raise
        finally:
            for opened in self._opened:
                opened.close()
        remove_files(self._obsolete)
        return report

    def _run(
        self, entries: list[FileEntry], skipped: list[Skipped], progress: ProgressCallback | None
    ) -> dict[str, Any]:
        conn = self._conn
        meta = self._meta()
        previous = self._source_count()
        parts = self._parts(meta)
        if parts is None:
            self._reset()
            parts, meta = [], {}
        self._collect_garbage()
        # AUTOINCREMENT's counter: an id is never given twice, even after a deletion.
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'sources'").fetchone()
        self._next_source = 1 + (int(row[0]) if row else 0)
        # path -> (path, id, size, modification time) of the sources in the index, read from
        # a covering index: a few MB at a million passages.
        old: dict[str, tuple[str, int, int, int]] = {
            row[0]: row
            for row in conn.execute("SELECT path, id, size, mtime_ns FROM sources").fetchall()
        }
        self._fresh = not old  # no old source to compare content with
        terms = _Vocabulary(conn)
        if meta.get("places") != "1":
            self._remember_places(terms)
        builder = _SegmentWriter(self, int(meta.get("next_passage", "1")))
        # Files whose size and time are what the index has stay as they are, unread; an
        # unchanged file is never displaced by a copy of it.
        tally = _Tally(skipped)
        positions: list[int] = []  # the files to read, by position in entries
        for position, e in enumerate(entries):
            _, source_id, size, mtime_ns = old.get(e.path, _NOWHERE)
            if size == e.size and mtime_ns == e.mtime_ns:
                tally.paths.add(e.path)
                tally.kept.add(source_id)
            else:
                positions.append(position)
        tally.unchanged = len(tally.paths)
        expected = self._hashes(
            [old[entries[i].path][1] for i in positions if entries[i].path in old]
        )
        tasks = [
            ReadTask(entries[i], expected.get(old.get(entries[i].path, _NOWHERE)[1]))
            for i in positions
        ]
        with Readers(self._settings, tasks, terms.form) as reads:
            for position, task in zip(positions, tasks, strict=True):
                if progress is not None:
                    progress(position, len(entries))
                prior = old.get(task.entry.path, _NOWHERE)[1]
                found = reads.next(terms)
                self._settle(task.entry, prior if prior >= 0 else None, found, tally, builder)
            if progress is not None:
                progress(len(entries), len(entries))
        if _identity(self._corpus) != self._job.root:
            raise CorpusError(
                f"the corpus folder {str(self._corpus)!r} vanished or was replaced during the "
                "build; the previous index is kept. Put the folder back and index again"
            )
        if not tally.paths:
            raise CorpusError(_empty_corpus_message(self._corpus, skipped))
        self._refuse_drop(previous, len(tally.paths))
        self._flush_sources()
        gone = [source_id for _, source_id, _, _ in old.values() if source_id not in tally.kept]
        for source_id in gone:
            if source_id not in tally.dropped:
                self._drop(source_id)
        before = sum(p.source.size - len(p.deleted) for p in parts)
        listed, dropped = self._delete_rows(parts, gone)
        first_new = builder.first_id
        listed += builder.finish()
        changes = _Changes(before, np.arange(first_new, builder.next_id, dtype=np.int64), dropped)
        vectors = self._vectors(listed, changes)
        passages = self._merge(listed)
        conn.execute("DELETE FROM skipped")
        conn.executemany(
            "INSERT INTO skipped (path, reason) VALUES (?, ?)",
            [(s.path, s.reason) for s in skipped],
        )
        self._write_meta(builder.next_id)
        dated_by, undated, notes = _date_summary(conn)
        return {
            "sources": len(tally.paths),
            "passages": passages,
            "added": tuple(tally.added),
            "changed": tuple(tally.changed),
            "removed": tuple(sorted(set(old) - tally.paths)),
            "unchanged": tally.unchanged,
            "skipped": tuple(skipped),
            "dated_by": dated_by,
            "undated": undated,
            "undated_notes": notes,
            "touched": tally.touched,
            "embedded": vectors.embedded if vectors is not None else 0,
            "reused_vectors": vectors.reused if vectors is not None else 0,
        }

    def _source_count(self) -> int | None:
        """How many sources the index holds before this build (of any format), if any."""
        try:
            (count,) = self._conn.execute("SELECT COUNT(*) FROM sources").fetchone()
        except sqlite3.OperationalError:
            return None  # a new, empty file
        return int(count)

    def _refuse_drop(self, previous: int | None, sources: int) -> None:
        """Raise SwapRefusedError when the build would drop too many of the sources."""
        max_drop = self._job.max_drop
        if not previous or max_drop is None or previous - sources <= max_drop * previous:
            return
        raise SwapRefusedError(
            f"the new index would hold {sources} source(s) instead of {previous} "
            f"({(previous - sources) / previous:.0%} fewer, more than the "
            f"{max_drop:.0%} allowed); the previous index is kept. If the sources "
            "really went away, index again with force",
            previous=previous,
            built=sources,
        )

    def _vectors(self, listed: list[_Listed], changes: _Changes) -> EmbeddingCounts | None:
        """Run the embedding stage; without one, drop the stored vectors of the passages
        this build deleted (those of live passages stay for a later build with the model)."""
        passages = _LivePassages(self._conn, listed, changes)
        if self._job.embed is not None:
            return self._job.embed(self._conn, passages)
        SqliteVectors(self._conn).remove(changes.dropped.tolist())
        return None

    def _settle(
        self,
        entry: FileEntry,
        prior: int | None,
        found: Analyzed | Unchanged | Skipped,
        tally: _Tally,
        builder: _SegmentWriter,
    ) -> None:
        """Decide what a file that was read becomes in the new index; prior is the id of
        the source the index had at its path."""
        conn = self._conn
        if isinstance(found, Skipped):
            tally.skipped.append(found)
            return
        if isinstance(found, Unchanged):
            assert prior is not None
            if prior in tally.kept:  # taken by a copy earlier in path order
                tally.skipped.append(Skipped(entry.path, f"duplicate of {self._path_of(prior)}"))
                return
            tally.kept.add(prior)
            tally.paths.add(entry.path)
            conn.execute(
                "UPDATE sources SET size = ?, mtime_ns = ? WHERE id = ?",
                (entry.size, entry.mtime_ns, prior),
            )
            tally.unchanged += 1
            tally.touched += 1
            return
        twin = tally.read.get(found.sha256) or self._kept_with(found.sha256, tally.kept)
        if twin is not None:
            tally.skipped.append(Skipped(entry.path, f"duplicate of {twin}"))
            return
        tally.read[found.sha256] = entry.path
        tally.paths.add(entry.path)
        if prior is not None and prior not in tally.kept and prior not in tally.dropped:
            # Replaced: its row goes now, so that the new one can take its path.
            self._drop(prior)
            tally.dropped.add(prior)
        reuse = self._same_content(found.sha256, tally.kept)
        if reuse is not None:  # moved or renamed: its passages stay as they are
            tally.kept.add(reuse)
            conn.execute(
                "UPDATE sources SET path = ?, size = ?, mtime_ns = ? WHERE id = ?",
                (entry.path, entry.size, entry.mtime_ns, reuse),
            )
        else:
            builder.add(found, self._insert(found))
        (tally.added if prior is None else tally.changed).append(entry.path)

    def _remember_places(self, terms: _Vocabulary) -> None:
        """Store the word forms of country names and adjectives: every Index analyzes them
        when it opens."""
        met: list[str] = []

        def known(word: str) -> str | None:
            found = terms.form(word)
            if found is None:
                met.append(word)
            return found

        analyzer = Analyzer(self._settings.analyzer, known)
        Places(analyzer)
        terms.remember([(w, t) for w in met if (t := analyzer.term(w))])

    # --- the index being refreshed -------------------------------------------------------

    def _meta(self) -> dict[str, str]:
        try:
            rows = self._conn.execute("SELECT key, value FROM meta").fetchall()
        except sqlite3.OperationalError:
            return {}  # a new, empty file
        return {str(k): str(v) for k, v in rows}

    def _parts(self, meta: dict[str, str]) -> list[_Listed] | None:
        """The segments to refresh, or None when the index must be built afresh (other
        settings or format, or segments that cannot be read)."""
        if meta.get("application") != APPLICATION:
            return None
        if meta.get("fingerprint") != self._settings.fingerprint_json():
            return None
        listed: list[_Listed] = []
        try:
            for file, rows, deleted in self._conn.execute(
                "SELECT file, rows, deleted FROM segments ORDER BY id"
            ).fetchall():
                opened = SegmentFile(self._folder / file)
                self._opened.append(opened)
                gone = np.frombuffer(deleted, dtype=np.int64)
                if opened.size != rows or (len(gone) and (gone[0] < 0 or gone[-1] >= rows)):
                    return None
                listed.append(_Listed(str(file), opened, gone))
        except (OSError, ValueError, sqlite3.DatabaseError):
            return None
        return listed

    def _reset(self) -> None:
        """Start from an empty index in this file (the old one stays until the commit)."""
        conn = self._conn
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall():
            # Formats 1-3 had arrays and passages; vectors are keyed by passage ids, which a
            # new index gives anew.
            if name in TABLES or name in ("arrays", "passages", "embeddings", "embedding_meta"):
                if name == "segments":
                    self._obsolete.extend(
                        self._folder / str(f) for (f,) in conn.execute("SELECT file FROM segments")
                    )
                conn.execute(f'DROP TABLE "{name}"')
        for statement in SCHEMA:
            conn.execute(statement)
        conn.execute("CREATE INDEX sources_sha256 ON sources (sha256)")
        conn.execute("CREATE INDEX sources_stat ON sources (path, id, size, mtime_ns)")
        conn.execute("CREATE INDEX sources_date ON sources (date)")

    def _collect_garbage(self) -> None:
        """Delete segment files no index lists: left by builds that were killed."""
        listed = {str(f) for (f,) in self._conn.execute("SELECT file FROM segments")}
        for path in self._folder.iterdir():
            if path.name in listed or path in self._obsolete or not path.name.endswith(".seg"):
                continue
            pid = path.name.split("-", 1)[0]
            if pid.isdigit() and (int(pid) == os.getpid() or not alive(int(pid))):
                remove_files([path])

    def _hashes(self, ids: Sequence[int]) -> dict[int, str]:
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

    def _path_of(self, source_id: int) -> str:
        (path,) = self._conn.execute(
            "SELECT path FROM sources WHERE id = ?", (source_id,)
        ).fetchone()
        return str(path)

    def _same_content(self, sha256: str, kept: set[int]) -> int | None:
        """An old source with this content that no file has taken yet."""
        if self._fresh:
            return None
        for (source_id,) in self._conn.execute(
            "SELECT id FROM sources WHERE sha256 = ?", (sha256,)
        ):
            if source_id not in kept:
                return int(source_id)
        return None

    def _kept_with(self, sha256: str, kept: set[int]) -> str | None:
        """The path of a source that stays and has this content."""
        if self._fresh:
            return None
        for source_id, path in self._conn.execute(
            "SELECT id, path FROM sources WHERE sha256 = ?", (sha256,)
        ):
            if source_id in kept:
                return str(path)
        return None

    # --- writing -------------------------------------------------------------------------

    def _insert(self, doc: Analyzed) -> int:
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
            self._flush_sources()
        return source_id

    def _flush_sources(self) -> None:
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

    def _drop(self, source_id: int) -> None:
        self._conn.execute("DELETE FROM texts WHERE source_id = ?", (source_id,))
        self._conn.execute("DELETE FROM sources WHERE id = ?", (source_id,))

    def _delete_rows(
        self, parts: list[_Listed], sources: Sequence[int]
    ) -> tuple[list[_Listed], NDArray[np.int64]]:
        """The segments with the passages of these sources marked deleted, and the ids of
        the passages that were live until now."""
        none = np.zeros(0, dtype=np.int64)
        if not sources:
            return parts, none
        ids = np.array(sorted(sources), dtype=np.int64)
        out: list[_Listed] = []
        dropped = [none]
        for part in parts:
            hit = np.flatnonzero(np.isin(part.source_ids(), ids))
            deleted = part.deleted
            if len(hit):
                fresh = np.setdiff1d(hit, part.deleted)
                dropped.append(part.column("ids")[fresh].astype(np.int64))
                deleted = np.union1d(part.deleted, hit)
            out.append(_Listed(part.file, part.source, deleted))
        return out, np.sort(np.concatenate(dropped))

    def write_segment(self, segment: Segment) -> str:
        """Write a new segment file; its name."""
        # The writer's process id leads the name: files of killed builds are recognised.
        name = f"{os.getpid()}-{secrets.token_hex(8)}.seg"
        path = self._folder / name
        self.written.append(path)
        segments.write(segment, path)
        return name

    def _merge(self, listed: list[_Listed]) -> int:
        """Apply the merge plan and store the segment list; the number of live passages."""
        live = [p.source.size - len(p.deleted) for p in listed]
        gone = [len(p.deleted) for p in listed]
        final: list[tuple[str, int, NDArray[np.int64]]] = []
        for run in merge_plan(live, gone):
            members = [listed[i] for i in run]
            if len(run) == 1 and not _worn(live[run[0]], gone[run[0]]):
                final.append((members[0].file, members[0].source.size, members[0].deleted))
                continue
            merged = segments.merge([(m.segment(), m.deleted) for m in members])
            self._obsolete.extend(self._folder / m.file for m in members)
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

    def _write_meta(self, next_passage: int) -> None:
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
class _Listed:
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


@dataclass(frozen=True)
class _Changes:
    """How a build changes the live passages."""

    # Live passages before the build.
    before: int
    # Ids of the passages it adds, and of those it deletes (ascending).
    added: NDArray[np.int64]
    dropped: NDArray[np.int64]


class _LivePassages:
    """The live passages of the segments of a build, read for its embedding stage."""

    def __init__(
        self, conn: sqlite3.Connection, listed: Sequence[_Listed], changes: _Changes
    ) -> None:
        self._conn = conn
        self._listed = listed
        self._changes = changes
        self._columns: dict[tuple[int, str], NDArray[np.int64]] = {}

    @property
    def before(self) -> int:
        """How many passages were live before this build."""
        return self._changes.before

    def count(self) -> int:
        """How many passages are live."""
        return sum(p.source.size - len(p.deleted) for p in self._listed)

    def added(self) -> NDArray[np.int64]:
        """Ids of the passages this build adds, ascending."""
        return self._changes.added

    def dropped(self) -> NDArray[np.int64]:
        """Ids of the passages this build deletes, ascending."""
        return self._changes.dropped

    def _column(self, part: int, name: str) -> NDArray[np.int64]:
        """A column of one segment's passage table, read once."""
        key = (part, name)
        found = self._columns.get(key)
        if found is None:
            found = np.asarray(self._listed[part].column(name), dtype=np.int64)
            self._columns[key] = found
        return found

    def ids(self) -> NDArray[np.int64]:
        """Every live passage id, ascending (segments hold ascending ids, in order)."""
        ids = [np.zeros(0, np.int64)]
        for n, part in enumerate(self._listed):
            column = self._column(n, "ids")
            keep = np.ones(len(column), dtype=bool)
            keep[part.deleted] = False
            ids.append(column[keep])
        return np.concatenate(ids)

    def texts(self, passage_ids: Sequence[int]) -> list[tuple[str, str]]:
        """The title of its source and the text of each of some live passages (ascending)."""
        wanted = np.asarray(passage_ids, dtype=np.int64)
        part_of = np.full(len(wanted), -1, dtype=np.int64)
        row_of = np.zeros(len(wanted), dtype=np.int64)
        # Newest segments first: a build's new passages are there, and older segments'
        # columns are read only for passages they hold.
        for n in reversed(range(len(self._listed))):
            todo = np.flatnonzero(part_of < 0)
            if not len(todo):
                break
            column = self._column(n, "ids")
            if not len(column) or wanted[todo[-1]] < column[0]:
                continue
            at = np.minimum(np.searchsorted(column, wanted[todo]), len(column) - 1)
            hit = column[at] == wanted[todo]
            part_of[todo[hit]], row_of[todo[hit]] = n, at[hit]
        if (part_of < 0).any():
            raise KeyError(f"no passage {int(wanted[part_of < 0][0])} in the index being built")
        out: list[tuple[str, str]] = []
        current, title, content = -1, "", ""
        for n, row in zip(part_of.tolist(), row_of.tolist(), strict=True):
            source_id = int(self._column(n, "source_ids")[row])
            if source_id != current:
                title, data = self._conn.execute(
                    "SELECT s.title, t.content FROM sources s JOIN texts t ON t.source_id = s.id"
                    " WHERE s.id = ?",
                    (source_id,),
                ).fetchone()
                current, content = source_id, unpack(data)
            start, end = int(self._column(n, "starts")[row]), int(self._column(n, "ends")[row])
            out.append((str(title), content[start:end]))
        return out


class _SegmentWriter:
    """New passages, written out as segments of ROWS_PER_SEGMENT rows."""

    def __init__(self, build: _Build, next_id: int) -> None:
        self._build = build
        self._builder = SegmentBuilder()
        self._done: list[_Listed] = []
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
            name = self._build.write_segment(segment)
            self._done.append(_Listed(name, segment, np.zeros(0, np.int64)))

    def finish(self) -> list[_Listed]:
        """The new segments, in row order."""
        self._flush()
        return self._done


def merge_plan(live: Sequence[int], deleted: Sequence[int]) -> list[list[int]]:
    """Runs of adjacent segments, covering all in order; a run of several is rewritten as
    one segment, and so is a single worn one (see _worn), without its deleted rows.

    The newest segments are merged while they are of comparable size (so there are a
    logarithmic number of segments, and a row is rewritten a logarithmic number of times),
    never into more than MAX_MERGE_ROWS rows; at most MAX_SEGMENTS hold live rows.
    """
    runs: list[list[int]] = []
    sizes: list[int] = []
    for i, (n, gone) in enumerate(zip(live, deleted, strict=True)):
        runs.append([i])
        sizes.append(n)
        if _worn(n, gone):
            continue  # rewritten alone; what follows starts anew
        while (
            len(runs) >= 2
            and sizes[-2] > 0
            and sizes[-1] * MERGE_RATIO >= sizes[-2]
            and sizes[-2] + sizes[-1] <= MAX_MERGE_ROWS
        ):
            runs[-2:] = [runs[-2] + runs[-1]]
            sizes[-2:] = [sizes[-2] + sizes[-1]]
    while sum(1 for n in sizes if n) > MAX_SEGMENTS:
        pair = min(range(len(sizes) - 1), key=lambda j: sizes[j] + sizes[j + 1])
        runs[pair : pair + 2] = [runs[pair] + runs[pair + 1]]
        sizes[pair : pair + 2] = [sizes[pair] + sizes[pair + 1]]
    return runs


def _worn(live: int, deleted: int) -> bool:
    """Whether a segment is rewritten even alone: no live row, or more deleted rows than
    half its live ones."""
    return live == 0 or 2 * deleted > live


class _Vocabulary:
    """The term and word-form tables of the index being built: global ids of the terms new
    passages use (new ones added), and the word forms the readers analyzed."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._ids: dict[str, int] = {}
        (top,) = conn.execute("SELECT MAX(id) FROM terms").fetchone()
        self._next = 0 if top is None else int(top) + 1
        self._empty = top is None

    def ids(self, terms: Sequence[str]) -> NDArray[np.int64]:
        """The ids of terms."""
        known = self._ids
        new: list[tuple[str, int]] = []
        out = np.empty(len(terms), dtype=np.int64)
        for i, term in enumerate(terms):
            found = known.get(term)
            if found is None and not self._empty:
                row = self._conn.execute("SELECT id FROM terms WHERE term = ?", (term,)).fetchone()
                found = None if row is None else int(row[0])
            if found is None:
                found = self._next
                self._next += 1
                new.append((term, found))
            known[term] = found
            out[i] = found
        if new:
            self._conn.executemany("INSERT INTO terms (term, id) VALUES (?, ?)", new)
        return out

    def remember(self, forms: Sequence[tuple[str, str]]) -> None:
        """Store word forms with their index terms (one already stored stays as it is)."""
        self._conn.executemany("INSERT OR IGNORE INTO forms (word, term) VALUES (?, ?)", forms)

    def form(self, word: str) -> str | None:
        """The stored index term of a word form, if any."""
        row = self._conn.execute("SELECT term FROM forms WHERE word = ?", (word,)).fetchone()
        return None if row is None else str(row[0])


# --- reports and housekeeping -----------------------------------------------------------------


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


def _empty_corpus_message(corpus: Path, skipped: list[Skipped]) -> str:
    kinds = ", ".join(documents.SUFFIXES)
    message = f"no indexable sources ({kinds}) in {str(corpus)!r}"
    if skipped:
        message += f" ({len(skipped)} file(s) skipped: {skipped[0].path}: {skipped[0].reason}"
        message += ", …)" if len(skipped) > 1 else ")"
    return message + "; add documents there and index again"


def _identity(path: Path) -> tuple[int, int] | None:
    """Device and inode of a folder, to tell whether it is still the same one."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


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
    """Whether an OSError is about the index: its folder (or one above), its own files, its
    segment files."""
    if exc.filename is None:  # fsync and other calls on an open file of the build
        return True
    path = Path(os.fsdecode(exc.filename))
    if db_path.parent.is_relative_to(path):
        return True
    if path.parent == segment_folder(db_path):
        return True
    names = (db_path.name, f".{db_path.name}")
    return path.parent == db_path.parent and path.name.startswith(names)


def _remove_abandoned(db_path: Path) -> None:
    """Delete the temporary files of builds whose process died (killed) before cleaning up."""
    prefix = f".{db_path.name}.building-"
    with suppress(OSError):
        for candidate in db_path.parent.iterdir():
            if not candidate.name.startswith(prefix):
                continue
            pid = candidate.name[len(prefix) :].split("-", 1)[0]
            if pid.isdigit() and not alive(int(pid)):
                with suppress(FileNotFoundError):
                    candidate.unlink()
