"""What a build must do, decided from plain data (index/plan.py): no SQLite, no files."""

from __future__ import annotations

from index.documents import FileEntry
from index.plan import drop_refusal, gone, unread


def entry(path: str, size: int, mtime_ns: int) -> FileEntry:
    return FileEntry(path=path, location=f"/corpus/{path}", size=size, mtime_ns=mtime_ns)


INDEXED = {
    "a.md": ("a.md", 1, 100, 5),
    "b.md": ("b.md", 2, 200, 5),
    "c.md": ("c.md", 3, 300, 5),
}


def test_files_with_the_indexed_size_and_time_stay_unread() -> None:
    entries = [
        entry("a.md", 100, 5),  # unchanged
        entry("b.md", 200, 6),  # touched or changed: read to tell
        entry("c.md", 301, 5),  # changed size
        entry("d.md", 10, 5),  # new
    ]
    kept, to_read = unread(entries, INDEXED)
    assert kept == {"a.md": 1}
    assert to_read == [1, 2, 3]


def test_a_new_index_reads_everything() -> None:
    entries = [entry("a.md", 100, 5), entry("b.md", 200, 5)]
    assert unread(entries, {}) == ({}, [0, 1])


def test_sources_no_file_keeps_are_gone() -> None:
    assert gone(INDEXED.values(), {1, 3}) == [2]
    assert gone(INDEXED.values(), {1, 2, 3}) == []


def test_a_build_dropping_more_than_the_allowed_share_is_refused() -> None:
    refusal = drop_refusal(previous=10, sources=4, max_drop=0.5)
    assert refusal is not None
    assert refusal.startswith("the new index would hold 4 source(s) instead of 10 (60% fewer")
    assert drop_refusal(previous=10, sources=5, max_drop=0.5) is None
    assert drop_refusal(previous=10, sources=0, max_drop=None) is None
    assert drop_refusal(previous=None, sources=0, max_drop=0.5) is None
    assert drop_refusal(previous=0, sources=3, max_drop=0.0) is None
    assert drop_refusal(previous=10, sources=9, max_drop=0.0) is not None
