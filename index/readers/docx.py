"""Word documents (.docx): paragraphs and tables with python-docx."""

from __future__ import annotations

import io
import zipfile

from . import metadata as meta
from .base import Extracted, Format, Unreadable
from .metadata import DateOrigin

# A .docx is a zip archive: refuse one that would unpack to more than this.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024


class DocxReader:
    """The document's paragraphs and table cells, in order; title and dates from its properties."""

    format: Format = Format.DOCX
    suffixes: tuple[str, ...] = (".docx",)

    def looks_like(self, data: bytes) -> bool:
        """A zip archive holding word/document.xml."""
        if not data.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return "word/document.xml" in archive.namelist()
        except zipfile.BadZipFile:
            return False

    def read(self, path: str, data: bytes) -> Extracted:
        """Paragraphs separated by blank lines; headings stay paragraphs of their own."""
        import docx
        from docx.opc.exceptions import PackageNotFoundError
        from docx.table import Table

        if not self.looks_like(data):
            raise Unreadable("not a Word document (.docx)")
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_UNPACKED_BYTES:
            raise Unreadable(
                f"unpacks to {unpacked // (1024 * 1024)} MB, over the"
                f" {MAX_UNPACKED_BYTES // (1024 * 1024)} MB limit"
            )
        try:
            document = docx.Document(io.BytesIO(data))
        except (PackageNotFoundError, KeyError, ValueError) as exc:
            raise Unreadable(f"damaged Word document ({exc})") from None
        paragraphs: list[str] = []
        heading: str | None = None
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                for row in block.rows:
                    cells = [" ".join(c.text.split()) for c in row.cells]
                    line = " | ".join(dict.fromkeys(c for c in cells if c))
                    if line:
                        paragraphs.append(line)
                continue
            text = " ".join(block.text.split())
            if not text:
                continue
            style = (block.style.name if block.style is not None else "") or ""
            if heading is None and (style == "Title" or style.startswith("Heading")):
                heading = text
            paragraphs.append(text)
        if not paragraphs:
            raise Unreadable("no text in the document")
        props = document.core_properties
        published = meta.stated_date(props.created)
        updated = meta.stated_date(props.modified)
        title = " ".join((props.title or "").split()) or heading
        return Extracted(
            text="\n\n".join(paragraphs),
            title=title,
            published=published,
            updated=updated if updated and published and updated > published else None,
            date_origin=DateOrigin.DOCX if published else DateOrigin.NONE,
        )
