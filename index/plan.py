"""What a build must do, decided from plain data: no SQLite, no file system.

Which files stay unread (the index holds them with the same size and modification time),
which sources are gone, whether the build drops too many sources to be committed, and which
segments are merged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from .documents import FileEntry

# Merges never make a segment larger than this (rows); larger ones are rewritten only to
# drop deleted rows.
MAX_MERGE_ROWS = 1 << 18
# The newest segment is merged into the one before it when at least this share of its size.
MERGE_RATIO = 4
MAX_SEGMENTS = 16

# A source the index holds: path, id, size, modification time (ns).
Indexed = tuple[str, int, int, int]


def unread(
    entries: Sequence[FileEntry], indexed: Mapping[str, Indexed]
) -> tuple[dict[str, int], list[int]]:
    """The files the index holds with the same size and modification time (path: source
    id), which stay as they are, unread; and the positions in entries of the others."""
    kept: dict[str, int] = {}
    to_read: list[int] = []
    for position, entry in enumerate(entries):
        held = indexed.get(entry.path)
        if held is not None and held[2] == entry.size and held[3] == entry.mtime_ns:
            kept[entry.path] = held[1]
        else:
            to_read.append(position)
    return kept, to_read


def gone(indexed: Iterable[Indexed], kept: set[int]) -> list[int]:
    """The ids of the indexed sources no file of the corpus keeps."""
    return [source_id for _, source_id, _, _ in indexed if source_id not in kept]


def drop_refusal(previous: int | None, sources: int, max_drop: float | None) -> str | None:
    """Why a build of sources sources must not replace an index of previous ones (it would
    drop more than the share max_drop of them); None when it may."""
    if not previous or max_drop is None or previous - sources <= max_drop * previous:
        return None
    return (
        f"the new index would hold {sources} source(s) instead of {previous} "
        f"({(previous - sources) / previous:.0%} fewer, more than the "
        f"{max_drop:.0%} allowed); the previous index is kept. If the sources "
        "really went away, index again with force"
    )


def merge_plan(live: Sequence[int], deleted: Sequence[int]) -> list[list[int]]:
    """Runs of adjacent segments, covering all in order; a run of several is rewritten as
    one segment, and so is a single worn one (see worn), without its deleted rows.

    The newest segments are merged while they are of comparable size (so there are a
    logarithmic number of segments, and a row is rewritten a logarithmic number of times),
    never into more than MAX_MERGE_ROWS rows; at most MAX_SEGMENTS hold live rows.
    """
    runs: list[list[int]] = []
    sizes: list[int] = []
    for i, (n, gone) in enumerate(zip(live, deleted, strict=True)):
        runs.append([i])
        sizes.append(n)
        if worn(n, gone):
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


def worn(live: int, deleted: int) -> bool:
    """Whether a segment is rewritten even alone: no live row, or more deleted rows than
    half its live ones."""
    return live == 0 or 2 * deleted > live
