"""Plain text and Markdown (.txt, .md, .markdown): UTF-8, with front matter or a date line."""

from __future__ import annotations

import re
from dataclasses import replace

from . import metadata as meta
from .base import Extracted, Format, Unreadable
from .metadata import DateOrigin, FrontMatterError

_DATE_MARKER_RE = re.compile(r"\s*date:?[ \t]+(\d{4}-\d{2}-\d{2})(?![\d-])[ \t]*\n?[ \t]*", re.I)


class TextReader:
    """UTF-8 text; YAML (---) or TOML (+++) front matter and a leading date line are metadata."""

    format: Format = Format.TEXT
    suffixes: tuple[str, ...] = (".txt", ".md", ".markdown")

    def looks_like(self, data: bytes) -> bool:
        """UTF-8 text without NUL bytes."""
        if b"\x00" in data[:8192]:
            return False
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    def read(self, path: str, data: bytes) -> Extracted:
        """The text, with what its front matter or date line states."""
        if b"\x00" in data[:8192]:
            raise Unreadable("binary file (contains NUL bytes)")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Unreadable(f"not valid UTF-8 (byte {exc.start})") from None
        start = 1 if text.startswith("\ufeff") else 0
        try:
            front = meta.front_matter(text, start)
        except FrontMatterError as exc:
            raise Unreadable(str(exc)) from None
        found = Extracted(text=text)
        if front is not None:
            start = front.end
            published = meta.first_date(front.meta, meta.PUBLISHED_KEYS)
            origin = DateOrigin.FRONT_MATTER
            if published is None:
                published = meta.published_path_date(front.meta)
                origin = DateOrigin.PAGE_PATH
            found = Extracted(
                text=text,
                title=meta.first_string(front.meta, ("title",)),
                published=published,
                date_origin=origin if published else DateOrigin.NONE,
                updated=meta.first_date(front.meta, meta.UPDATED_KEYS),
                url=meta.first_url(front.meta),
                unreadable_date=front.unreadable_date,
            )
        marker = _DATE_MARKER_RE.match(text, start)
        if marker:
            stated = meta.stated_date(marker.group(1))
            if stated is not None:
                if found.published is None:
                    found = replace(found, published=stated, date_origin=DateOrigin.MARKER)
                start = marker.end()
        return replace(found, body_start=start)
