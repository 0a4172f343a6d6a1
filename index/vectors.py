"""Passage vectors for the dense retriever: computed at index time, stored in the index
file keyed by passage id and content key, reused by the next build for every passage whose
text, title and model are unchanged.

The storage sits behind VectorStore: today one SQLite table in the index file
(SqliteVectors); another store only has to give the same four operations.
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

# Stored as float16: half the bytes of float32, and ranking by cosine does not notice.
STORED = np.dtype("<f2")
# Passages read, embedded and written per round: bounds the memory a large build takes.
ROUND = 2048
_IN_LIMIT = 500  # keys per "IN (...)" look-up, below SQLite's variable limit


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


@dataclass(frozen=True)
class EmbeddingCounts:
    """What the embedding stage of a build did."""

    embedded: int
    reused: int


class EmbeddingStage:
    """The build's embedding stage: vectors for the new index's passages, reusing the
    previous index's vectors for passages whose embedded text is unchanged."""

    def __init__(self, embedder: Embedder, progress: EmbedProgress | None = None) -> None:
        self.embedder = embedder
        self._progress = progress

    def __call__(self, conn: sqlite3.Connection, has_old: bool) -> EmbeddingCounts:
        """Fill the vector store of the index being built on conn ("old" attached if any)."""
        model_id = self.embedder.model_id
        rows = conn.execute(
            "SELECT p.id, s.title, p.text FROM passages p JOIN sources s ON s.id = p.source_id"
            " ORDER BY p.id"
        ).fetchall()
        keys = [content_key(model_id, embedding_text(title, text)) for _, title, text in rows]
        old = SqliteVectors(conn, "old") if has_old else None
        reuse = old.known(keys) if old is not None and old.model_id() == model_id else {}
        new = SqliteVectors(conn)
        new.write(model_id, [])
        # Each distinct missing text is embedded once, however many passages share it.
        missing = [i for i, key in enumerate(keys) if key not in reuse]
        first_of: dict[bytes, int] = {}
        todo = [i for i in missing if first_of.setdefault(keys[i], i) == i]
        total = len(todo)
        done = 0
        if self._progress is not None:
            self._progress(0, total)
        made: dict[bytes, bytes] = {}
        for lo in range(0, total, ROUND):
            part = todo[lo : lo + ROUND]
            texts = [embedding_text(rows[i][1], rows[i][2]) for i in part]

            def step(n: int, _: int, base: int = done) -> None:
                if self._progress is not None:
                    self._progress(base + n, total)

            vectors = self.embedder.passages(texts, step).astype(STORED)
            for i, vector in zip(part, vectors, strict=True):
                made[keys[i]] = vector.tobytes()
            done += len(part)
        new.write(
            model_id,
            (
                (rows[i][0], keys[i], reuse[keys[i]] if keys[i] in reuse else made[keys[i]])
                for i in range(len(rows))
            ),
        )
        return EmbeddingCounts(embedded=total, reused=len(rows) - len(missing))
