"""Segment files: a short header naming a segment's arrays, then the arrays' raw bytes.

Opening a segment file reads its header; its passage table and term dictionaries are read
when asked for, and the postings a term at a time when a question needs them. A file is
written once, flushed, and never changed.
"""

from __future__ import annotations

import json
import os
import weakref
from contextlib import suppress
from dataclasses import fields
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from .segments import PassageTable, Postings, Segment, Stored

MAGIC = b"DSB-SEGMENT 1\n"
_ALIGN = 64


def write(segment: Segment, path: Path) -> None:
    """Write the segment to a new file at path and flush it to disk."""
    arrays: dict[str, NDArray[Any]] = {}
    for f in fields(PassageTable):
        arrays[f"table.{f.name}"] = getattr(segment.table, f.name)
    for name, postings in (("body", segment.body), ("title", segment.title)):
        for f in fields(Postings):
            arrays[f"{name}.{f.name}"] = getattr(postings, f.name)
    layout: dict[str, list[Any]] = {}
    offset = 0
    for name, values in arrays.items():
        layout[name] = [values.dtype.str, offset, len(values)]
        offset = _aligned(offset + values.nbytes)
    header = json.dumps({"rows": segment.size, "arrays": layout}).encode("utf-8")
    start = _aligned(len(MAGIC) + 8 + len(header))
    with open(path, "xb") as fh:
        fh.write(MAGIC + len(header).to_bytes(8, "little") + header)
        _pad(fh, start)
        for name, values in arrays.items():
            _pad(fh, start + layout[name][1])
            fh.write(np.ascontiguousarray(values).data)
        fh.flush()
        os.fsync(fh.fileno())


def _close(fd: int) -> None:
    with suppress(OSError):
        os.close(fd)


def _aligned(n: int) -> int:
    return -(-n // _ALIGN) * _ALIGN


def _pad(fh: BinaryIO, position: int) -> None:
    gap = position - fh.tell()
    if gap < 0:
        raise RuntimeError("segment layout overlaps; this is a bug")
    fh.write(b"\0" * gap)


class SegmentFile:
    """A segment file, open: its header is read, its arrays when asked for."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDONLY)
        # Closes the file once: at close(), or when this object is collected.
        self._closer = weakref.finalize(self, _close, self._fd)
        try:
            self._layout, self.size = self._header()
        except BaseException:
            self.close()
            raise

    def _header(self) -> tuple[dict[str, Stored], int]:
        name = self.path.name
        size = os.fstat(self._fd).st_size
        head = os.pread(self._fd, len(MAGIC) + 8, 0)
        if len(head) < len(MAGIC) + 8:
            raise ValueError(f"segment {name} is truncated")
        if head[: len(MAGIC)] != MAGIC:
            raise ValueError(f"{name} is not a segment file")
        length = int.from_bytes(head[len(MAGIC) :], "little")
        try:
            header = json.loads(os.pread(self._fd, length, len(MAGIC) + 8))
            start = _aligned(len(MAGIC) + 8 + length)
            arrays: dict[str, Stored] = {}
            for key, (dtype, offset, count) in header["arrays"].items():
                kind = np.dtype(dtype)
                if start + offset + count * kind.itemsize > size:
                    raise ValueError(f"segment {name} is truncated")
                arrays[key] = Stored(self._fd, start + offset, kind, count)
            rows = int(header["rows"])
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"segment {name} has a damaged header ({exc})") from None
        return arrays, rows

    def _stored(self, name: str) -> Stored:
        found = self._layout.get(name)
        if found is None:
            raise ValueError(f"segment {self.path.name} lacks {name}")
        return found

    def column(self, name: str) -> NDArray[Any]:
        """One column of the passage table, read whole."""
        return self._stored(f"table.{name}")[:]

    def load(self) -> Segment:
        """The segment: its passage table and term dictionaries read, its postings read a
        column at a time when asked for (while this file is open)."""

        def postings(field: str) -> Postings:
            return Postings(
                terms=self._stored(f"{field}.terms")[:],
                bounds=self._stored(f"{field}.bounds")[:],
                rows=self._stored(f"{field}.rows"),
                tf=self._stored(f"{field}.tf"),
                max_tf=self._stored(f"{field}.max_tf")[:],
                min_length=self._stored(f"{field}.min_length")[:],
            )

        table = PassageTable(*(self.column(f.name) for f in fields(PassageTable)))
        segment = Segment(table, postings("body"), postings("title"), self)
        if segment.size != self.size:
            raise ValueError(f"segment {self.path.name} has a damaged header")
        segment.check()
        return segment

    def close(self) -> None:
        """Close the file."""
        self._closer()


def read(path: Path) -> Segment:
    """The segment in the file at path (see SegmentFile.load); ValueError when unusable."""
    file = SegmentFile(path)
    try:
        return file.load()
    except BaseException:
        file.close()
        raise
