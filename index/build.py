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

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import documents, plan
from .analyzer import Analyzer
from .documents import FileEntry, Skipped
from .errors import CorpusError, ReindexBusyError, SwapRefusedError
from .housekeeping import (
    date_summary,
    empty_corpus_message,
    identity,
    remove_abandoned,
    write_failure,
)
from .places import country_texts
from .reading import Analyzed, Readers, ReadTask, Unchanged
from .staging import Changes, LivePassages, Vocabulary
from .store import (
    IndexSettings,
    check_index_file,
    connect,
    fsync_dir,
    fsync_file,
    remove_files,
    segment_folder,
)
from .vectors import EmbeddingCounts, Passages, SqliteVectors
from .writer import IndexWriter, Listed, SegmentWriter

ProgressCallback = Callable[[int, int], None]
# The build's embedding stage (vectors.EmbeddingStage): brings the vector store of the index
# being built on the connection up to date with its live passages.
EmbedStage = Callable[[sqlite3.Connection, Passages], EmbeddingCounts]

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
        failure = write_failure(exc, db_path)
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
    job = _Job(corpus, settings, identity(corpus), embed, max_drop)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    existing = check_index_file(db_path)  # a foreign file raises: it is never overwritten
    segment_folder(db_path).mkdir(exist_ok=True)
    remove_abandoned(db_path)
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
        report = _build_aside(db_path, job, entries, skipped, progress)
    return BuildReport(**{**report, "seconds": time.perf_counter() - started})


def _build_aside(
    db_path: Path,
    job: _Job,
    entries: list[FileEntry],
    skipped: list[Skipped],
    progress: ProgressCallback | None,
) -> dict[str, Any]:
    """No index yet: one is built aside and moved in whole, so no half-built file is ever
    seen; the report's figures."""
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
            remove_files(fresh.rows.written)
        raise
    finally:
        remove_files([tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")])
    return report


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
    """One build, inside the write transaction of its connection: what becomes of each file
    of the corpus (plan.py decides from plain data, IndexWriter writes)."""

    def __init__(self, conn: sqlite3.Connection, db_path: Path, job: _Job) -> None:
        self._conn = conn
        self._job = job
        self._settings = job.settings
        self._corpus = job.corpus
        self.rows = IndexWriter(conn, db_path, job.settings, job.corpus)

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
            remove_files(self.rows.written)
            raise
        finally:
            for opened in self.rows.opened:
                opened.close()
        remove_files(self.rows.obsolete)
        return report

    def _run(
        self, entries: list[FileEntry], skipped: list[Skipped], progress: ProgressCallback | None
    ) -> dict[str, Any]:
        """Read what changed, write the new sources and segments, settle the vectors."""
        rows = self.rows
        meta = rows.meta()
        previous = rows.source_count()
        parts = rows.parts(meta)
        if parts is None:
            rows.reset()
            parts, meta = [], {}
        rows.collect_garbage()
        old = rows.indexed()
        rows.start(len(old))
        terms = Vocabulary(self._conn)
        if meta.get("places") != "1":
            self._remember_places(terms)
        builder = SegmentWriter(rows, int(meta.get("next_passage", "1")))
        tally = self._read(entries, old, _Tally(skipped), terms, builder, progress)
        if identity(self._corpus) != self._job.root:
            raise CorpusError(
                f"the corpus folder {str(self._corpus)!r} vanished or was replaced during the "
                "build; the previous index is kept. Put the folder back and index again"
            )
        if not tally.paths:
            raise CorpusError(empty_corpus_message(self._corpus, skipped))
        refusal = plan.drop_refusal(previous, len(tally.paths), self._job.max_drop)
        if refusal is not None:
            raise SwapRefusedError(refusal, previous=previous or 0, built=len(tally.paths))
        rows.flush_sources()
        gone = plan.gone(old.values(), tally.kept)
        for source_id in gone:
            if source_id not in tally.dropped:
                rows.drop(source_id)
        before = sum(p.source.size - len(p.deleted) for p in parts)
        listed, dropped = rows.delete_rows(parts, gone)
        first_new = builder.first_id
        listed += builder.finish()
        changes = Changes(before, np.arange(first_new, builder.next_id, dtype=np.int64), dropped)
        vectors = self._vectors(listed, changes)
        passages = rows.merge(listed)
        self._conn.execute("DELETE FROM skipped")
        self._conn.executemany(
            "INSERT INTO skipped (path, reason) VALUES (?, ?)",
            [(s.path, s.reason) for s in skipped],
        )
        rows.write_meta(builder.next_id)
        return self._report(tally, passages, sorted(set(old) - tally.paths), vectors)

    def _read(
        self,
        entries: list[FileEntry],
        old: dict[str, plan.Indexed],
        tally: _Tally,
        terms: Vocabulary,
        builder: SegmentWriter,
        progress: ProgressCallback | None,
    ) -> _Tally:
        """Read the files whose size or time differ from the index's, and settle each;
        the others stay as they are, unread (an unchanged file is never displaced by a copy
        of it)."""
        kept, positions = plan.unread(entries, old)
        tally.paths.update(kept)
        tally.kept.update(kept.values())
        tally.unchanged = len(kept)
        expected = self.rows.hashes(
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
        return tally

    def _report(
        self,
        tally: _Tally,
        passages: int,
        removed: list[str],
        vectors: EmbeddingCounts | None,
    ) -> dict[str, Any]:
        """The build report's figures."""
        dated_by, undated, notes = date_summary(self._conn)
        return {
            "sources": len(tally.paths),
            "passages": passages,
            "added": tuple(tally.added),
            "changed": tuple(tally.changed),
            "removed": tuple(removed),
            "unchanged": tally.unchanged,
            "skipped": tuple(tally.skipped),
            "dated_by": dated_by,
            "undated": undated,
            "undated_notes": notes,
            "touched": tally.touched,
            "embedded": vectors.embedded if vectors is not None else 0,
            "reused_vectors": vectors.reused if vectors is not None else 0,
        }

    def _vectors(self, listed: list[Listed], changes: Changes) -> EmbeddingCounts | None:
        """Run the embedding stage; without one, drop the stored vectors of the passages
        this build deleted (those of live passages stay for a later build with the model)."""
        passages = LivePassages(self._conn, listed, changes)
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
        builder: SegmentWriter,
    ) -> None:
        """Decide what a file that was read becomes in the new index; prior is the id of
        the source the index had at its path."""
        rows = self.rows
        if isinstance(found, Skipped):
            tally.skipped.append(found)
            return
        if isinstance(found, Unchanged):
            assert prior is not None
            if prior in tally.kept:  # taken by a copy earlier in path order
                tally.skipped.append(Skipped(entry.path, f"duplicate of {rows.path_of(prior)}"))
                return
            tally.kept.add(prior)
            tally.paths.add(entry.path)
            self._conn.execute(
                "UPDATE sources SET size = ?, mtime_ns = ? WHERE id = ?",
                (entry.size, entry.mtime_ns, prior),
            )
            tally.unchanged += 1
            tally.touched += 1
            return
        twin = tally.read.get(found.sha256) or rows.kept_with(found.sha256, tally.kept)
        if twin is not None:
            tally.skipped.append(Skipped(entry.path, f"duplicate of {twin}"))
            return
        tally.read[found.sha256] = entry.path
        tally.paths.add(entry.path)
        if prior is not None and prior not in tally.kept and prior not in tally.dropped:
            # Replaced: its row goes now, so that the new one can take its path.
            rows.drop(prior)
            tally.dropped.add(prior)
        reuse = rows.same_content(found.sha256, tally.kept)
        if reuse is not None:  # moved or renamed: its passages stay as they are
            tally.kept.add(reuse)
            self._conn.execute(
                "UPDATE sources SET path = ?, size = ?, mtime_ns = ? WHERE id = ?",
                (entry.path, entry.size, entry.mtime_ns, reuse),
            )
        else:
            builder.add(found, rows.insert(found))
        (tally.added if prior is None else tally.changed).append(entry.path)

    def _remember_places(self, terms: Vocabulary) -> None:
        """Store the word forms of country names and adjectives: every Index analyzes them
        when it opens."""
        met: list[str] = []

        def known(word: str) -> str | None:
            found = terms.form(word)
            if found is None:
                met.append(word)
            return found

        analyzer = Analyzer(self._settings.analyzer, known)
        for text in country_texts():
            analyzer.terms(text)
        terms.remember([(w, t) for w in met if (t := analyzer.term(w))])
