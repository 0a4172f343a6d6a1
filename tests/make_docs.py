"""Real PDF and Word files for the tests, made with fpdf2 and python-docx."""

from __future__ import annotations

import datetime as dt
import io
import random

import docx
from fpdf import FPDF
from PIL import Image

# A report of four pages; each page's text names what only that page says.
REPORT_PAGES = (
    "Annual report of the river cooperative\n\n"
    "This report covers the cooperative's year: its harvests, its accounts and the "
    "decisions of its assembly.",
    "Harvests\n\nThe members harvested ninety tonnes of rice, ten more than the year before, "
    "thanks to the new irrigation channel dug in the spring.",
    "Accounts\n\nThe cooperative closed the year with a surplus of twelve thousand pesos, "
    "which the assembly decided to spend on a second threshing machine.",
    "Assembly\n\nThe assembly elected Rosa Quispe as president and agreed to open the "
    "seed bank to the neighbouring villages from next season.",
)


def text_pdf(
    pages: tuple[str, ...] = REPORT_PAGES,
    title: str | None = "Annual report of the river cooperative",
    created: dt.datetime | None = None,
) -> bytes:
    """A PDF with a text layer, one page per string."""
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    pdf.set_creation_date(created or dt.datetime(2024, 3, 14, 9, 30, tzinfo=dt.UTC))
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def scanned_pdf(pages: int = 2) -> bytes:
    """A PDF whose pages are only pictures, as a scanner makes them: no text layer."""
    rng = random.Random(7)
    pdf = FPDF()
    pdf.set_creation_date(dt.datetime(2024, 1, 5, tzinfo=dt.UTC))
    for _ in range(pages):
        image = Image.new("L", (300, 400), 255)
        for _ in range(4000):  # specks of "ink" where a scan would show letters
            image.putpixel((rng.randrange(300), rng.randrange(400)), 0)
        pdf.add_page()
        pdf.image(image, x=10, y=10, w=190)
    return bytes(pdf.output())


def word_document(
    title: str | None = "Minutes of the harbour assembly",
    created: dt.datetime | None = None,
) -> bytes:
    """A .docx with a heading, paragraphs and a table."""
    document = docx.Document()
    if title:
        document.core_properties.title = title
    document.core_properties.created = created or dt.datetime(2023, 9, 1, 18, 0)
    document.add_heading("Harbour assembly, September", level=1)
    document.add_paragraph(
        "The assembly agreed to repair the north pier before the winter storms and to ask "
        "the port authority for a second crane."
    )
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Votes in favour"
    table.cell(0, 1).text = "41"
    table.cell(1, 0).text = "Votes against"
    table.cell(1, 1).text = "3"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
