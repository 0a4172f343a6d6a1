"""The one interface every format reader implements, and what a reader returns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from .metadata import DateOrigin


class Format(StrEnum):
    """A kind of source file, each read by one reader."""

    TEXT = "text"
    MARKDOWN = "markdown"
    HTML = "html"
    PDF = "pdf"
    DOCX = "docx"


@dataclass(frozen=True)
class Extracted:
    """What a reader found in a file: the text to index and what the file states about it.

    text[body_start:] is what passages and excerpts are cut from; pages holds the offset in
    text where each page starts (page 1 first), empty for formats without pages.
    """

    text: str
    body_start: int = 0
    title: str | None = None
    published: dt.date | None = None
    updated: dt.date | None = None
    date_origin: DateOrigin = DateOrigin.NONE
    url: str | None = None
    pages: tuple[int, ...] = ()
    # A stated date that could not be read, for the index report ("date: 'yesterday'").
    unreadable_date: str | None = None


class Unreadable(Exception):
    """A file its reader cannot index; the message is the reason shown in the report."""


class Reader(Protocol):
    """Reads one format: bytes in, text and metadata out, or Unreadable with the reason."""

    format: Format
    suffixes: tuple[str, ...]

    def looks_like(self, data: bytes) -> bool:
        """Whether the bytes are of this format, judged from their content."""
        ...

    def read(self, path: str, data: bytes) -> Extracted:
        """The text and metadata of a file; raises Unreadable with the reason."""
        ...
