"""One reader per file format behind one interface; a new format is one more module here."""

from __future__ import annotations

from .base import Extracted, Format, Reader, Unreadable
from .docx import DocxReader
from .html import HtmlReader
from .metadata import DateOrigin
from .pdf import PdfReader
from .textfile import TextReader

READERS: tuple[Reader, ...] = (TextReader(), HtmlReader(), PdfReader(), DocxReader())
SUFFIXES: tuple[str, ...] = tuple(s for r in READERS for s in r.suffixes)


def reader_for(name: str) -> Reader | None:
    """The reader of a file name's suffix (case ignored), or None for other files."""
    lower = name.lower()
    return next((r for r in READERS if lower.endswith(r.suffixes)), None)


def looks_like(name: str, data: bytes) -> bool:
    """Whether the bytes are of the format the name's suffix says, judged from content."""
    reader = reader_for(name)
    return reader is not None and reader.looks_like(data)


__all__ = [
    "READERS",
    "SUFFIXES",
    "DateOrigin",
    "Extracted",
    "Format",
    "Reader",
    "Unreadable",
    "looks_like",
    "reader_for",
]
