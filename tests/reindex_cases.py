"""Corpora and failures shared by the reindex safety tests: notes to index, a disk that
fills up."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

NOTE = (
    "date 2025-04-{day:02d} Note {i} on the tides at pier {i}. " + "The tide rose and fell. " * 40
)


def notes(count: int, start: int = 0) -> dict[str, str | bytes]:
    return {
        f"notes/n{i}.txt": NOTE.format(day=1 + i % 28, i=i) for i in range(start, start + count)
    }


def write_notes(corpus: Path, count: int, start: int = 0) -> None:
    for rel, text in notes(count, start).items():
        path = corpus / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        assert isinstance(text, str)
        path.write_text(text, encoding="utf-8")


def filling_connect(real_connect: Any) -> Any:
    """sqlite3.connect for an index whose disk is nearly full (SQLite's own SQLITE_FULL): a
    new index's file stops at 50 pages, an index refreshed in place grows by one page."""

    def connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn: sqlite3.Connection = real_connect(database, *args, **kwargs)
        if ".building-" in str(database):
            conn.execute("PRAGMA max_page_count = 50")
        elif str(database).endswith("?mode=rw"):  # the index's file, opened by index.store
            (pages,) = conn.execute("PRAGMA page_count").fetchone()
            conn.execute(f"PRAGMA max_page_count = {pages + 1}")
        return conn

    return connect
