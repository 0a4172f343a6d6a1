"""The passage rows of an opened index: every row of every segment, deleted ones too, as a
few arrays (no source is read to open an index); a passage's source and text are read from
the store when it is shown, and the most recently shown are kept."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .segments import PassageTable
from .store import Source, Store

# Sources whose text, and sources whose record, are kept once read.
_CONTENTS_KEPT = 256
_SOURCES_KEPT = 4096


@dataclass(frozen=True)
class PassageText:
    """A whole passage with its source, for showing it in full."""

    passage_id: int
    source: Source
    text: str


class Passages:
    """Where each passage row is: its id, source, offsets, place in the source and date."""

    def __init__(self, store: Store, live: NDArray[np.bool_]) -> None:
        """live marks the rows of passages not deleted (the engine reads it from the parts)."""
        self._store = store
        table = PassageTable.concat([part.segment.table for part in store.parts])
        self.ids = table.ids
        self.source_ids = table.source_ids
        self.starts, self.ends = table.starts, table.ends
        self.ordinals = table.ordinals
        # The source's date per row, as a day number; 0 for an undated source.
        self.days = table.days
        self.live = live
        self._content_cache: dict[int, str] = {}
        self._source_cache: dict[int, Source] = {}

    def row(self, passage_id: int) -> int | None:
        """The row of a live passage, or None when the id is not in this index."""
        # Passage ids ascend with the rows (checked when the index is loaded).
        row = int(np.searchsorted(self.ids, passage_id))
        if row >= len(self.ids) or self.ids[row] != passage_id:
            return None
        return row if self.live[row] else None

    def of_source(self, source_id: int) -> list[int]:
        """Ids of a source's live passages, in reading order."""
        rows = np.flatnonzero((self.source_ids == source_id) & self.live)
        return [int(self.ids[r]) for r in rows]

    def passage(self, passage_id: int) -> PassageText | None:
        """A whole passage, or None when the id is not in this index."""
        row = self.row(passage_id)
        if row is None:
            return None
        source = self.source(row)
        start, end = self.span(row)
        return PassageText(passage_id, source, self.content(source.id)[start:end])

    def span(self, row: int) -> tuple[int, int]:
        """Where the row's passage is in its source's text, as [start, end) offsets."""
        return int(self.starts[row]), int(self.ends[row])

    def source(self, row: int) -> Source:
        """The source of the row's passage."""
        source_id = int(self.source_ids[row])
        source = self._source_cache.get(source_id)
        if source is None:
            source = self._store.source(source_id)
            if len(self._source_cache) > _SOURCES_KEPT:
                self._source_cache.clear()
            self._source_cache[source_id] = source
        return source

    def content(self, source_id: int) -> str:
        """A source's whole text, as stored."""
        text = self._content_cache.get(source_id)
        if text is None:
            text = self._store.content(source_id)
            if len(self._content_cache) > _CONTENTS_KEPT:
                self._content_cache.clear()
            self._content_cache[source_id] = text
        return text
