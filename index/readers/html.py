"""Saved web pages (.html, .htm): the main text, title and dates, without menus and footers."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from . import metadata as meta
from .base import Extracted, Format, Unreadable
from .metadata import DateOrigin

_HTML_START_RE = re.compile(rb"<(?:!doctype\s+html|html|head|body|meta|title|article)[\s>]", re.I)
_LINE_BREAKS_RE = re.compile(r"\s*\n\s*")


class HtmlReader:
    """trafilatura for the main text and title, htmldate for the dates it states."""

    format: Format = Format.HTML
    suffixes: tuple[str, ...] = (".html", ".htm")

    def looks_like(self, data: bytes) -> bool:
        """Markup that opens like a web page, not a PDF or a program."""
        head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
        if b"\x00" in head:
            return False
        return bool(_HTML_START_RE.search(head[:2048]))

    def read(self, path: str, data: bytes, url: str | None = None) -> Extracted:
        """The page's main text (paragraphs separated by blank lines) and metadata."""
        # Imported here: trafilatura takes a third of a second to import, and only HTML needs it.
        import htmldate
        import trafilatura
        from trafilatura.utils import decode_file

        html = decode_file(data)
        if not html.strip():
            raise Unreadable("empty page")
        found: Any = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            # Dates come from htmldate below, which never searches the running text.
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
        body = (getattr(found, "text", None) or "") if found is not None else ""
        paragraphs = [p for p in _LINE_BREAKS_RE.split(body.strip()) if p]
        if not paragraphs:
            raise Unreadable("no main text found in the page")
        text = "\n\n".join(paragraphs)
        page_url = url or getattr(found, "url", None)
        published = _date(
            htmldate.find_date(html, extensive_search=False, original_date=True, url=page_url)
        )
        updated = _date(
            htmldate.find_date(html, extensive_search=False, original_date=False, url=page_url)
        )
        title = getattr(found, "title", None)
        return Extracted(
            text=text,
            title=" ".join(title.split()) if isinstance(title, str) and title.strip() else None,
            published=published,
            updated=updated if updated and published and updated > published else None,
            date_origin=DateOrigin.HTML if published else DateOrigin.NONE,
            url=meta.first_url({"url": page_url}),
        )


def _date(value: str | None) -> dt.date | None:
    return meta.stated_date(value) if value else None
