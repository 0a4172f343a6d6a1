"""The build's reports and housekeeping: the date summary, the one-line messages of an
empty corpus and of an index that cannot be written, the corpus folder's identity, and
temporary files of builds that were killed."""

from __future__ import annotations

import errno
import os
import sqlite3
from contextlib import suppress
from pathlib import Path

from . import documents
from .documents import Skipped
from .errors import IndexWriteError
from .reading import alive
from .store import segment_folder


def date_summary(
    conn: sqlite3.Connection,
) -> tuple[tuple[tuple[str, int], ...], int, tuple[tuple[str, str], ...]]:
    """Dated sources counted by where the date came from; the undated, and notes on why."""
    dated_by = tuple(
        (str(origin), int(n))
        for origin, n in conn.execute(
            "SELECT date_origin, COUNT(*) FROM sources WHERE date IS NOT NULL"
            " GROUP BY date_origin ORDER BY COUNT(*) DESC, date_origin"
        )
    )
    (undated,) = conn.execute("SELECT COUNT(*) FROM sources WHERE date IS NULL").fetchone()
    notes = tuple(
        (str(path), str(note))
        for path, note in conn.execute(
            "SELECT path, date_note FROM sources WHERE date IS NULL AND date_note IS NOT NULL"
            " ORDER BY path"
        )
    )
    return dated_by, int(undated), notes


def empty_corpus_message(corpus: Path, skipped: list[Skipped]) -> str:
    kinds = ", ".join(documents.SUFFIXES)
    message = f"no indexable sources ({kinds}) in {str(corpus)!r}"
    if skipped:
        message += f" ({len(skipped)} file(s) skipped: {skipped[0].path}: {skipped[0].reason}"
        message += ", …)" if len(skipped) > 1 else ")"
    return message + "; add documents there and index again"


def identity(path: Path) -> tuple[int, int] | None:
    """Device and inode of a folder, to tell whether it is still the same one."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


# SQLite's primary result codes that mean the index file cannot be written.
_SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_FULL, _SQLITE_CANTOPEN = 8, 10, 13, 14


def write_failure(exc: sqlite3.Error | OSError, db_path: Path) -> IndexWriteError | None:
    """The index-wide failure behind a write error, as one line with the fix; else None."""
    folder = str(db_path.parent)
    full = IndexWriteError(
        f"no space left on the index's disk ({folder}); free some space there and index again"
    )
    if isinstance(exc, sqlite3.Error):
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
        if code == _SQLITE_FULL:
            return full
        if code in (_SQLITE_READONLY, _SQLITE_CANTOPEN):
            return IndexWriteError(
                f"cannot write the index in {folder} ({exc}); make the folder writable or set "
                "index.path to another folder, then index again"
            )
        if code == _SQLITE_IOERR:
            return IndexWriteError(
                f"the index's disk failed a write in {folder} ({exc}); check the disk, then "
                "index again"
            )
        return None
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return full
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) and _index_file(exc, db_path):
        return IndexWriteError(
            f"cannot write the index in {folder} ({exc.strerror}); make the folder writable or "
            "set index.path to another folder, then index again"
        )
    return None


def _index_file(exc: OSError, db_path: Path) -> bool:
    """Whether an OSError is about the index: its folder (or one above), its own files, its
    segment files."""
    if exc.filename is None:  # fsync and other calls on an open file of the build
        return True
    path = Path(os.fsdecode(exc.filename))
    if db_path.parent.is_relative_to(path):
        return True
    if path.parent == segment_folder(db_path):
        return True
    names = (db_path.name, f".{db_path.name}")
    return path.parent == db_path.parent and path.name.startswith(names)


def remove_abandoned(db_path: Path) -> None:
    """Delete the temporary files of builds whose process died (killed) before cleaning up."""
    prefix = f".{db_path.name}.building-"
    with suppress(OSError):
        for candidate in db_path.parent.iterdir():
            if not candidate.name.startswith(prefix):
                continue
            pid = candidate.name[len(prefix) :].split("-", 1)[0]
            if pid.isdigit() and not alive(int(pid)):
                with suppress(FileNotFoundError):
                    candidate.unlink()
