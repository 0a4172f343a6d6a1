"""PDF documents (.pdf): text page by page with pypdf, so citations can give the page."""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Mapping

from . import metadata as meta
from .base import Extracted, Format, Unreadable
from .metadata import DateOrigin

# A PDF whose pages hold fewer letters than this in all is a scan without a text layer.
MIN_TEXT_CHARS = 20
_JUNK_TITLE_RE = re.compile(
    r"^(?:untitled|microsoft word - .*|document\d*|.*\.(?:docx?|pdf))$", re.I
)
_SPACES_RE = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES_RE = re.compile(r"\n\s*\n\s*")


class PdfReader:
    """Text of every page; title and dates from the document's own metadata."""

    format: Format = Format.PDF
    suffixes: tuple[str, ...] = (".pdf",)

    def looks_like(self, data: bytes) -> bool:
        """A PDF header near the start, as PDF readers require."""
        return b"%PDF-" in data[:1024]

    def read(self, path: str, data: bytes) -> Extracted:
        """Pages joined by blank lines; pages holds where each page's text starts."""
        import pypdf
        from pypdf.errors import FileNotDecryptedError, PdfReadError

        if not self.looks_like(data):
            raise Unreadable("not a PDF (no %PDF header)")
        try:
            with warnings.catch_warnings():
                # Defects pypdf repairs are its business; what cannot be read is reported below.
                warnings.simplefilter("ignore")
                reader = pypdf.PdfReader(io.BytesIO(data))
                if reader.is_encrypted and not reader.decrypt(""):
                    raise Unreadable("encrypted PDF; save a copy without a password")
                texts = [_page_text(page) for page in reader.pages]
                info: Mapping[str, object] = reader.metadata or {}
        except FileNotDecryptedError:
            raise Unreadable("encrypted PDF; save a copy without a password") from None
        except PdfReadError as exc:
            raise Unreadable(f"damaged PDF ({exc})") from None
        letters = sum(sum(ch.isalnum() for ch in t) for t in texts)
        if letters < MIN_TEXT_CHARS:
            raise Unreadable(
                f"scanned PDF without a text layer ({len(texts)} page(s) of images); "
                "run OCR on it (e.g. ocrmypdf) and add the result"
            )
        parts: list[str] = []
        pages: list[int] = []
        offset = 0
        for text in texts:
            pages.append(offset)
            if text:
                parts.append(text)
                offset += len(text) + 2
        # A page without text starts where the next text does; the last offset past the end.
        joined = "\n\n".join(parts)
        pages = [min(p, len(joined)) for p in pages]
        title = _title(info.get("/Title"))
        published = meta.pdf_date(info.get("/CreationDate"))
        updated = meta.pdf_date(info.get("/ModDate"))
        return Extracted(
            text=joined,
            title=title,
            published=published,
            updated=updated if updated and published and updated > published else None,
            date_origin=DateOrigin.PDF if published else DateOrigin.NONE,
            pages=tuple(pages),
        )


def _page_text(page: object) -> str:
    text = str(page.extract_text() or "")  # type: ignore[attr-defined]
    lines = [_SPACES_RE.sub(" ", line).strip() for line in text.replace("\x00", "").split("\n")]
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip()


def _title(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    title = " ".join(value.split())
    return title if title and not _JUNK_TITLE_RE.match(title) else None
