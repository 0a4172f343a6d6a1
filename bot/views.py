"""What the bot shows, as plain data: quote cards, source lists, reindex reports.

Views are made here from the index's objects and rendered elsewhere, one renderer per
output: console text (render_console.py), JSON (render_json.py), Telegram HTML
(render_telegram.py). The answer to a question is bot.answer.Answer; the /stats report is
bot.feedback.Stats. A renderer never reads an index object: a second chat platform is one
renderer and one adapter.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from index import BuildReport, PassageText, Quote, Reason, Source


@dataclass(frozen=True)
class Cited:
    """The source an excerpt is cited from, as shown beside it."""

    title: str
    date: dt.date | None
    url: str | None
    path: str
    # The page the excerpt starts on, for sources with pages (PDF); None otherwise.
    page: int | None = None


@dataclass(frozen=True)
class QuoteCard:
    """A verbatim excerpt with its source: a /quote result, an inline card, a whole passage."""

    passage_id: int
    text: str
    cited: Cited
    # Offset in text of the first word that matched, to show a long quote from there.
    focus: int = 0


@dataclass(frozen=True)
class Quotes:
    """The quote cards found for words or a phrase; reason says why there are none."""

    cards: tuple[QuoteCard, ...]
    reason: Reason | None = None


@dataclass(frozen=True)
class SourceItem:
    """One indexed source: its title, date, link and size."""

    path: str
    title: str
    date: dt.date | None
    url: str | None
    passages: int


@dataclass(frozen=True)
class SourceList:
    """The indexed sources, in path order, and the files the last build skipped."""

    sources: tuple[SourceItem, ...]
    skipped: tuple[tuple[str, str], ...] = ()


class ReindexStatus(StrEnum):
    """How a reindex ended."""

    DONE = "done"
    REFUSED = "refused"
    FAILED = "failed"
    BUSY = "busy"


@dataclass(frozen=True)
class ReindexReport:
    """A finished reindex: what changed (when done) or why it did not run, as lines."""

    status: ReindexStatus
    lines: tuple[str, ...]


def cited(source: Source, page: int | None = None) -> Cited:
    """How a source is cited."""
    return Cited(source.title, source.date, source.url, source.path, page)


def quote_card(quote: Quote) -> QuoteCard:
    """A quote found in the index, as a card."""
    return QuoteCard(quote.passage_id, quote.text, cited(quote.source, quote.page), quote.focus)


def quote_cards(quotes: Iterable[Quote]) -> tuple[QuoteCard, ...]:
    """Quotes found in the index, as cards."""
    return tuple(quote_card(q) for q in quotes)


def passage_card(passage: PassageText) -> QuoteCard:
    """A whole passage, as a card."""
    return QuoteCard(passage.passage_id, passage.text, cited(passage.source))


def source_list(sources: Sequence[Source], skipped: Sequence[tuple[str, str]] = ()) -> SourceList:
    """The indexed sources and the skipped files."""
    items = tuple(SourceItem(s.path, s.title, s.date, s.url, s.passages) for s in sources)
    return SourceList(items, tuple(skipped))


def date_label(date: dt.date | None) -> str:
    """A source date as shown to people: ISO form, or undated."""
    return date.isoformat() if date else "undated"


def page_label(page: int | None) -> str:
    """A page reference as shown in citations ("p. 4"), or nothing."""
    return f"p. {page}" if page is not None else ""


# ---------------------------------------------------------------- build reports


def printable(text: str) -> str:
    """Text safe on one line of a report: line breaks, controls and direction marks escaped."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    if ch == " ":
        return ch
    if unicodedata.category(ch) == "Zs":  # other spaces (no-break, thin) stay readable
        return ch
    code = ord(ch)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def report_lines(report: BuildReport, limit: int = 50) -> list[str]:
    """A build report as lines for people; skipped files first, long lists cut at limit."""
    lines = [
        f"Indexed {report.sources} source(s), {report.passages} passage(s) in "
        f"{report.seconds:.2f} s: {len(report.added)} added, {len(report.changed)} changed, "
        f"{len(report.removed)} removed, {report.unchanged} unchanged, "
        f"{len(report.skipped)} skipped."
    ]
    lines.append(retrieval_line(report))
    lines.extend(date_lines(report))
    groups = (
        (
            "undated",
            [
                f"{printable(path)}: {printable(note)} is not a date"
                for path, note in report.undated_notes
            ],
        ),
        ("skipped", [f"{printable(s.path)}: {printable(s.reason)}" for s in report.skipped]),
        ("added", [printable(p) for p in report.added]),
        ("changed", [printable(p) for p in report.changed]),
        ("removed", [printable(p) for p in report.removed]),
    )
    for label, items in groups:
        lines.extend(f"  {label}: {item}" for item in items[:limit])
        if len(items) > limit:
            lines.append(f"  … and {len(items) - limit} more {label}")
    return lines


def retrieval_line(report: BuildReport) -> str:
    """Which retrieval the index serves, and what the embedding stage did."""
    if report.retrieval == "hybrid":
        return (
            f"Retrieval: hybrid ({report.retrieval_note}); {report.embedded} passage(s) "
            f"embedded, {report.reused_vectors} reused."
        )
    return f"Retrieval: BM25 only ({report.retrieval_note})."


DATE_SOURCES = (
    "front matter (date, published, pubDate, created; updated and lastmod kept apart), "
    "a leading date line, page or document metadata, the file name (2024-02-13-…) "
    "or year/month/day folders"
)


def date_lines(report: BuildReport) -> list[str]:
    """How many sources are dated, from where, and how many are not."""
    if not report.sources:
        return []
    origins = ", ".join(f"{origin} {n}" for origin, n in report.dated_by)
    dated = report.sources - report.undated
    line = f"Dates: {dated} of {report.sources} source(s) dated"
    line += f" ({origins})." if origins else "."
    if report.undated:
        line += (
            f" {report.undated} of {report.sources} source(s) have no date; "
            f"dates are read from {DATE_SOURCES}."
        )
    return [line]


def reindex_done(
    report: BuildReport, sources: int, passages: int, limit: int = 10
) -> ReindexReport:
    """A reindex that swapped a new index in: what changed, and what is served now."""
    lines = report_lines(report, limit=limit)
    lines.append(f"Now serving {sources} source(s), {passages} passage(s).")
    return ReindexReport(ReindexStatus.DONE, tuple(lines))


def reindex_ended(status: ReindexStatus, reason: str) -> ReindexReport:
    """A reindex that was refused, failed or did not start, with the reason in one line."""
    return ReindexReport(status, (reason,))
