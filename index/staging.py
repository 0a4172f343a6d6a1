"""The index being built, as the stages after reading see it: the ids of the terms its
new passages use, and its live passages, read for the embedding stage."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from .store import unpack

if TYPE_CHECKING:
    from .writer import Listed


@dataclass(frozen=True)
class Changes:
    """How a build changes the live passages."""

    # Live passages before the build.
    before: int
    # Ids of the passages it adds, and of those it deletes (ascending).
    added: NDArray[np.int64]
    dropped: NDArray[np.int64]


class LivePassages:
    """The live passages of the segments of a build, read for its embedding stage."""

    def __init__(
        self, conn: sqlite3.Connection, listed: Sequence[Listed], changes: Changes
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


class Vocabulary:
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
