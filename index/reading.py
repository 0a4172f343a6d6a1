"""Reading, parsing and analyzing the files a build must read: in this process, or for a
large build in worker processes (one per core), forked by a fork server.

Each reader numbers the index terms it meets itself; the build maps those numbers to the
index's term ids a batch at a time, so nothing crosses processes per token.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from . import documents, text
from .analyzer import Analyzer
from .documents import Document, FileEntry, Skipped
from .store import IndexSettings, pack

# Files are read in worker processes (one per core) from this many bytes to read on;
# below it starting the workers costs more than it saves.
PARALLEL_FROM_BYTES = 32 << 20
# Work is handed to a worker this many bytes at a time.
BATCH_BYTES = 1 << 20
# Word forms whose term id a reader remembers; cleared when this many are held.
_WORD_CACHE = 1 << 20


class Vocabulary(Protocol):
    """Where the build keeps term ids and word forms."""

    def ids(self, terms: Sequence[str]) -> NDArray[np.int64]:
        """The index's ids of terms (new ones added)."""
        ...

    def remember(self, forms: Sequence[tuple[str, str]]) -> None:
        """Store word forms with their index terms."""
        ...


@dataclass(frozen=True)
class ReadTask:
    """A file to read, and the hash its content had in the index, if it was there."""

    entry: FileEntry
    expected: str | None


@dataclass(frozen=True)
class Unchanged:
    """A file read again whose content is what the index holds."""

    sha256: str


@dataclass(frozen=True, eq=False)
class Analyzed:
    """A document ready to store: its metadata, its packed text, its passages' terms."""

    document: Document
    content: bytes
    # (start, end) of each passage; per passage `counts` entries of (terms, tf).
    spans: NDArray[np.int64]
    counts: NDArray[np.int64]
    terms: NDArray[np.int64]
    tf: NDArray[np.int64]
    title: NDArray[np.int64]

    @property
    def sha256(self) -> str:
        """The content's hash."""
        return self.document.sha256


Result = Analyzed | Unchanged | Skipped


@dataclass(frozen=True)
class Batch:
    """Results of some tasks, with terms as ids of the reader that made them."""

    reader: int
    new_terms: tuple[str, ...]
    results: tuple[Result, ...]
    # Word forms the reader met for the first time, with their index terms.
    forms: tuple[tuple[str, str], ...] = ()


class Reader:
    """Reads, parses and analyzes files; term ids are its own, numbered as first met."""

    def __init__(
        self, settings: IndexSettings, known: Callable[[str], str | None] | None = None
    ) -> None:
        self._settings = settings
        self._analyzer = Analyzer(settings.analyzer, known)
        self._ids: dict[str, int] = {}
        # Each word form's term id, -1 for a stop word: one look-up per token.
        self._word_ids: dict[str, int] = {}
        self._reported = 0
        # Word forms met since the last batch, with their terms, for the forms table.
        self._forms: list[tuple[str, str]] = []
        self.key = os.getpid() * 1000 + threading.get_ident() % 1000

    def batch(self, tasks: Sequence[ReadTask]) -> Batch:
        """Read a few files."""
        results = tuple(self._one(task) for task in tasks)
        terms = tuple(self._ids)[self._reported :]
        self._reported += len(terms)
        forms, self._forms = tuple(self._forms), []
        return Batch(self.key, terms, results, forms)

    def _one(self, task: ReadTask) -> Result:
        loaded = documents.load(task.entry, self._settings.max_file_bytes)
        if isinstance(loaded, Skipped):
            return loaded
        sha = loaded.sha256
        if sha == task.expected:
            return Unchanged(sha)
        doc = documents.parse(task.entry.path, loaded.data, loaded.mtime_ns)
        if isinstance(doc, Skipped):
            return doc
        spans = text.passages(
            doc.text, doc.body_start, self._settings.passage_chars, self._settings.min_passage_chars
        )
        per_passage = [self._term_ids(doc.text[start:end]) for start, end in spans]
        lengths = np.fromiter(map(len, per_passage), dtype=np.int64, count=len(spans))
        flat = np.concatenate(per_passage) if per_passage else np.zeros(0, dtype=np.int64)
        # One entry per (passage, term).
        keys, tf = np.unique(
            (np.repeat(np.arange(len(spans), dtype=np.int64), lengths) << 32) | flat,
            return_counts=True,
        )
        counts = np.bincount(keys >> 32, minlength=len(spans)).astype(np.int64)
        return Analyzed(
            document=_without_text(doc),
            content=pack(doc.text),
            spans=np.array(spans, dtype=np.int64).reshape(-1, 2),
            counts=counts,
            terms=keys & 0xFFFFFFFF,
            tf=tf.astype(np.int64),
            title=np.unique(self._term_ids(doc.title)),
        )

    def _term_ids(self, text: str) -> NDArray[np.int64]:
        """The term ids of a text's index terms, in order, with repeats."""
        words = self._analyzer.tokens(text)
        found = list(map(self._word_ids.get, words))
        if None in found:
            found = [
                self._word_id(w) if i is None else i for w, i in zip(words, found, strict=True)
            ]
        ids = np.array(found, dtype=np.int64)
        return ids[ids >= 0]

    def _word_id(self, word: str) -> int:
        term = self._analyzer.term(word)
        found = self._ids.setdefault(term, len(self._ids)) if term else -1
        if term:
            self._forms.append((word, term))
        if len(self._word_ids) >= _WORD_CACHE:
            self._word_ids.clear()
        self._word_ids[word] = found
        return found


def _without_text(doc: Document) -> Document:
    """The document's metadata alone (the text travels packed)."""
    return Document(
        path=doc.path,
        text="",
        body_start=doc.body_start,
        title=doc.title,
        date=doc.date,
        url=doc.url,
        sha256=doc.sha256,
        size=doc.size,
        mtime_ns=doc.mtime_ns,
        updated=doc.updated,
        date_origin=doc.date_origin,
        pages=doc.pages,
        date_note=doc.date_note,
    )


# The reader of a worker process, made by its initializer.
_worker_reader: Reader | None = None


def _start_worker(settings: IndexSettings, owner: int) -> None:
    global _worker_reader
    _worker_reader = Reader(settings)
    # A worker whose build was killed is not told: it leaves as soon as it sees that.
    threading.Thread(target=_leave_with, args=(owner,), daemon=True).start()


def _leave_with(owner: int) -> None:
    while alive(owner):
        time.sleep(1.0)
    os._exit(1)


def _work(tasks: Sequence[ReadTask]) -> Batch:
    if _worker_reader is None:
        raise RuntimeError("worker not started; this is a bug")
    return _worker_reader.batch(tasks)


class Readers:
    """The results of the build's reads in task order, from workers for a large build."""

    def __init__(
        self, settings: IndexSettings, tasks: list[ReadTask], known: Callable[[str], str | None]
    ) -> None:
        self._settings = settings
        self._tasks = tasks
        self._known = known
        self._maps: dict[int, NDArray[np.int64]] = {}
        self._pending: Iterator[Result] = iter(())
        self._batches: Iterator[Batch] = iter(())
        self._pool: ProcessPoolExecutor | None = None
        self._current: NDArray[np.int64] = np.zeros(0, dtype=np.int64)

    def __enter__(self) -> Readers:
        batches = _batches(self._tasks)
        workers = min(os.cpu_count() or 1, 4)
        if workers > 1 and sum(t.entry.size for t in self._tasks) >= PARALLEL_FROM_BYTES:
            # A fork server started clean (no threads, no open index) forks the workers;
            # it imports the analyzer once for all of them, and for later builds.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])
            self._pool = ProcessPoolExecutor(
                workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(self._settings, os.getpid()),
            )
            self._batches = self._pool.map(_work, batches)
        else:
            # In this process the reader asks the index's forms table before the lemmatizer.
            reader = Reader(self._settings, self._known)
            self._batches = map(reader.batch, batches)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def next(self, terms: Vocabulary) -> Result:
        """The next task's result, its term ids made global."""
        while True:
            result = next(self._pending, None)
            if result is not None:
                if not isinstance(result, Analyzed):
                    return result
                return replace(
                    result, terms=self._current[result.terms], title=self._current[result.title]
                )
            batch = next(self._batches)
            terms.remember(batch.forms)
            known = self._maps.get(batch.reader, np.zeros(0, dtype=np.int64))
            if batch.new_terms:
                known = np.concatenate((known, terms.ids(batch.new_terms)))
                self._maps[batch.reader] = known
            self._current = known
            self._pending = iter(batch.results)


def _batches(tasks: list[ReadTask]) -> Iterator[list[ReadTask]]:
    batch: list[ReadTask] = []
    size = 0
    for task in tasks:
        batch.append(task)
        size += task.entry.size
        if size >= BATCH_BYTES or len(batch) >= 256:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def alive(pid: int) -> bool:
    """Whether a process with this id still runs (someone else's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
