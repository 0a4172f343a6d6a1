"""Passage vectors for the dense retriever: computed at index time, stored in the index
file keyed by passage id and content key. Passage ids are stable (a build gives new ids only
to the passages of new and changed files), so a build embeds only passages without a vector,
reusing the stored vector of any passage whose text, title and model are unchanged, and
drops the vectors of deleted passages. An opened index reads back those of its live passages
(live_vectors).

The storage sits behind VectorStore: today one SQLite table in the index file
(SqliteVectors); another store only has to give the same operations.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from .embedding import Embedder, EmbedProgress
from .errors import IndexIncompatibleError
from .store import Store

# Stored as float16: half the bytes of float32, and ranking by cosine does not notice.
STORED = np.dtype("<f2")
# Passages read, embedded and written per round: bounds the memory a large build takes.
ROUND = 2048
_IN_LIMIT = 500  # keys per "IN (...)" look-up, below SQLite's variable limit

Vectors = NDArray[np.float32]


def embedding_text(title: str, passage: str) -> str:
    """What is embedded for a passage: its document's title, then its text."""
    return f"{title}\n{passage}" if title else passage


def content_key(model_id: str, text: str) -> bytes:
    """A passage's key: equal only for the same model and the same embedded text."""
    return hashlib.sha256(f"{model_id}\0{text}".encode()).digest()[:16]


class VectorStore(Protocol):
    """Where passage vectors live, keyed by passage id and content key."""

    def model_id(self) -> str | None:
        """The model the stored vectors were made with, or None when there are none."""
        ...

    def known(self, keys: Sequence[bytes]) -> dict[bytes, bytes]:
        """Stored vectors (raw float16 bytes) of those keys that are present."""
        ...

    def write(self, model_id: str, rows: Iterable[tuple[int, bytes, bytes]]) -> None:
        """Store (passage id, content key, raw float16 vector) rows."""
        ...

    def load(self) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Every stored passage id, ascending, and its vector as float32 rows."""
        ...

    def ids(self) -> NDArray[np.int64]:
        """Every stored passage id, ascending."""
        ...

    def count(self) -> int:
        """How many vectors are stored."""
        ...

    def remove(self, passage_ids: Sequence[int]) -> None:
        """Forget the vectors of these passages."""
        ...


class SqliteVectors:
    """Vectors in two tables of an index's SQLite file (schema "main", or "old" attached)."""

    def __init__(self, conn: sqlite3.Connection | sqlite3.Cursor, schema: str = "main") -> None:
        self._conn = conn
        self._schema = schema

    def _exists(self) -> bool:
        row = self._conn.execute(
            f"SELECT 1 FROM {self._schema}.sqlite_master WHERE type = 'table' AND name = ?",
            ("embedding_meta",),
        ).fetchone()
        return row is not None

    def model_id(self) -> str | None:
        if not self._exists():
            return None
        row = self._conn.execute(
            f"SELECT value FROM {self._schema}.embedding_meta WHERE key = 'model'"
        ).fetchone()
        return str(row[0]) if row else None

    def known(self, keys: Sequence[bytes]) -> dict[bytes, bytes]:
        if not keys or not self._exists():
            return {}
        found: dict[bytes, bytes] = {}
        unique = list(dict.fromkeys(keys))
        for lo in range(0, len(unique), _IN_LIMIT):
            part = unique[lo : lo + _IN_LIMIT]
            marks = ",".join("?" * len(part))
            for key, vector in self._conn.execute(
                f"SELECT key, vector FROM {self._schema}.embeddings WHERE key IN ({marks})", part
            ):
                found[bytes(key)] = bytes(vector)
        return found

    def write(self, model_id: str, rows: Iterable[tuple[int, bytes, bytes]]) -> None:
        if not self._exists():
            self._conn.execute(
                f"CREATE TABLE {self._schema}.embedding_meta"
                " (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            self._conn.execute(
                f"CREATE TABLE {self._schema}.embeddings (passage_id INTEGER PRIMARY KEY,"
                " key BLOB NOT NULL, vector BLOB NOT NULL)"
            )
            self._conn.execute(f"CREATE INDEX {self._schema}.embeddings_key ON embeddings (key)")
        self._conn.execute(
            f"INSERT OR REPLACE INTO {self._schema}.embedding_meta VALUES ('model', ?)",
            (model_id,),
        )
        self._conn.executemany(
            f"INSERT OR REPLACE INTO {self._schema}.embeddings VALUES (?, ?, ?)", rows
        )

    def ids(self) -> NDArray[np.int64]:
        if not self._exists():
            return np.zeros(0, dtype=np.int64)
        rows = self._conn.execute(
            f"SELECT passage_id FROM {self._schema}.embeddings ORDER BY passage_id"
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def count(self) -> int:
        if not self._exists():
            return 0
        (count,) = self._conn.execute(f"SELECT COUNT(*) FROM {self._schema}.embeddings").fetchone()
        return int(count)

    def remove(self, passage_ids: Sequence[int]) -> None:
        if not passage_ids or not self._exists():
            return
        self._conn.executemany(
            f"DELETE FROM {self._schema}.embeddings WHERE passage_id = ?",
            ((int(i),) for i in passage_ids),
        )

    def load(self) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        empty = np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        if not self._exists():
            return empty
        table = f"{self._schema}.embeddings"
        count, size = self._conn.execute(
            f"SELECT COUNT(*), MAX(LENGTH(vector)) FROM {table}"
        ).fetchone()
        if not count:
            return empty
        # Filled row by row: no list of blobs and joined copy beside the matrix, which
        # would double the peak memory of opening a large index.
        ids = np.empty(count, dtype=np.int64)
        matrix = np.empty((count, size // STORED.itemsize), dtype=np.float32)
        rows = self._conn.execute(f"SELECT passage_id, vector FROM {table} ORDER BY passage_id")
        for row, (passage_id, vector) in enumerate(rows):
            if len(vector) != size:
                raise ValueError("stored vectors differ in length")
            ids[row] = passage_id
            matrix[row] = np.frombuffer(vector, dtype=STORED)
        return ids, matrix


def live_vectors(store: Store, embedder: Embedder, live: NDArray[np.int64]) -> Vectors | str:
    """The stored vectors of the live passages (their ids ascending), in that order, or why
    the index cannot answer with embedder's: no vectors of its model, or not for every live
    passage. Raises IndexIncompatibleError when the stored vectors are damaged."""
    with store.cursor() as cur:
        vectors = SqliteVectors(cur)
        if vectors.model_id() != embedder.model_id:
            return (
                f"the index holds no vectors of {embedder.name}; "
                "run `python -m bot index` to compute them"
            )
        try:
            ids, matrix = vectors.load()
        except ValueError as exc:
            raise IndexIncompatibleError(
                f"the vectors in {str(store.path)!r} are damaged ({exc}); "
                "run `python -m bot index` to rebuild them"
            ) from None
    # Builds keep a vector for every live passage, and only for those; an index last built
    # without the model lacks some.
    if np.array_equal(ids, live):
        return matrix
    at = np.searchsorted(ids, live)
    at[at >= len(ids)] = 0
    lacking = int(np.count_nonzero(ids[at] != live)) if len(ids) else len(live)
    if lacking:
        return (
            f"the index lacks vectors of {embedder.name} for {lacking} passage(s); "
            "run `python -m bot index` to compute them"
        )
    return matrix[at]


@dataclass(frozen=True)
class EmbeddingCounts:
    """What the embedding stage of a build did."""

    embedded: int
    reused: int


class Passages(Protocol):
    """The live passages of the index being built, as the embedding stage reads them."""

    @property
    def before(self) -> int:
        """How many passages were live before this build."""
        ...

    def count(self) -> int:
        """How many passages are live."""
        ...

    def added(self) -> NDArray[np.int64]:
        """Ids of the passages this build adds, ascending."""
        ...

    def dropped(self) -> NDArray[np.int64]:
        """Ids of the passages this build deletes, ascending."""
        ...

    def ids(self) -> NDArray[np.int64]:
        """Every live passage id, ascending (read from the segments: the slow way)."""
        ...

    def texts(self, passage_ids: Sequence[int]) -> list[tuple[str, str]]:
        """The title of its source and the text of each of some live passages (ascending)."""
        ...


class EmbeddingStage:
    """The build's embedding stage: a vector for every live passage that has none, reusing
    a stored vector of the same embedded text; the vectors of deleted passages dropped."""

    def __init__(self, embedder: Embedder, progress: EmbedProgress | None = None) -> None:
        self.embedder = embedder
        self._progress = progress

    def __call__(self, conn: sqlite3.Connection, passages: Passages) -> EmbeddingCounts:
        """Bring the vector store of the index being built on conn up to date."""
        model_id = self.embedder.model_id
        store = SqliteVectors(conn)
        if store.model_id() not in (None, model_id):
            store.remove(store.ids().tolist())  # another model's vectors: none can be reused
        store.write(model_id, [])
        missing, dead = _changes(store, passages)
        keys = _keys(model_id, passages, missing)
        # A stored vector of the same text (an edited file's unchanged passages, deleted
        # ones too) is reused; each distinct new text is embedded once.
        reuse = store.known(keys)
        store.write(
            model_id, ((i, k, reuse[k]) for i, k in zip(missing, keys, strict=True) if k in reuse)
        )
        todo, twins = _distinct(missing, keys, reuse)
        self._embed(store, passages, todo)
        made = store.known([key for _, key in twins])
        store.write(model_id, ((i, k, made[k]) for i, k in twins))
        store.remove(dead)
        total = len(todo)
        return EmbeddingCounts(embedded=total, reused=passages.count() - total - len(twins))

    def _embed(
        self, store: SqliteVectors, passages: Passages, todo: Sequence[tuple[bytes, int]]
    ) -> None:
        """Embed and store the text of each (content key, passage id), a round at a time."""
        model_id = self.embedder.model_id
        total = len(todo)
        if self._progress is not None:
            self._progress(0, total)
        for lo in range(0, total, ROUND):
            part = todo[lo : lo + ROUND]
            texts = [embedding_text(t, x) for t, x in passages.texts([i for _, i in part])]

            def step(n: int, _: int, base: int = lo) -> None:
                if self._progress is not None:
                    self._progress(base + n, total)

            vectors = self.embedder.passages(texts, step).astype(STORED)
            store.write(
                model_id,
                ((i, k, v.tobytes()) for (k, i), v in zip(part, vectors, strict=True)),
            )


def _changes(store: SqliteVectors, passages: Passages) -> tuple[list[int], list[int]]:
    """Ids of the live passages without a vector, and of the stored vectors no passage has."""
    # Builds keep vectors of live passages only: when as many are stored as passages were
    # live, exactly those are, and the build's own changes are all there is to do.
    if store.count() == passages.before:
        return passages.added().tolist(), passages.dropped().tolist()
    # A first build with the model, or after builds without it.
    live, stored = passages.ids(), store.ids()
    missing = np.setdiff1d(live, stored, assume_unique=True).tolist()
    dead = np.setdiff1d(stored, live, assume_unique=True).tolist()
    return missing, dead


def _keys(model_id: str, passages: Passages, missing: Sequence[int]) -> list[bytes]:
    """The content key of each passage without a vector."""
    # Its text read a round at a time (and again if it must be embedded): no build holds
    # the corpus's text at once.
    keys: list[bytes] = []
    for lo in range(0, len(missing), ROUND):
        part = missing[lo : lo + ROUND]
        keys.extend(
            content_key(model_id, embedding_text(title, text))
            for title, text in passages.texts(part)
        )
    return keys


def _distinct(
    missing: Sequence[int], keys: Sequence[bytes], reuse: dict[bytes, bytes]
) -> tuple[list[tuple[bytes, int]], list[tuple[int, bytes]]]:
    """Of the passages with no vector to reuse, the first of each content key, as (key,
    passage id), to be embedded; and the others, as (passage id, key), to share its vector."""
    first: dict[bytes, int] = {}
    twins: list[tuple[int, bytes]] = []
    for passage_id, key in zip(missing, keys, strict=True):
        if key in reuse:
            continue
        if first.setdefault(key, passage_id) != passage_id:
            twins.append((passage_id, key))
    return list(first.items()), twins
