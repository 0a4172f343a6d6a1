"""Opening and rebuilding the index named by the configuration."""

from __future__ import annotations

import unicodedata

from index import (
    BuildReport,
    Index,
    IndexIncompatibleError,
    IndexMissingError,
    ProgressCallback,
    build_index,
)

from .config import Config


def open_index(config: Config, build_if_needed: bool = True) -> Index:
    """Open the configured index, building it first when there is none usable yet."""
    try:
        return Index.open(config.index_path, config.index, config.search)
    except (IndexMissingError, IndexIncompatibleError):
        if not build_if_needed:
            raise
    # No usable index is serving, so there is none to protect from a smaller one.
    build(config, force=True)
    return Index.open(config.index_path, config.index, config.search)


def build(
    config: Config,
    progress: ProgressCallback | None = None,
    embedding_progress: ProgressCallback | None = None,
    *,
    force: bool = False,
) -> BuildReport:
    """Build or refresh the configured index; force swaps it in however many sources it drops."""
    return build_index(
        config.corpus,
        config.index_path,
        config.index,
        progress,
        max_drop=None if force else config.max_drop_share,
        embedding_model=config.search.embedding_model,
        embedding_progress=embedding_progress,
    )


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
