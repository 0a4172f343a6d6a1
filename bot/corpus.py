"""Opening and rebuilding the index named by the configuration."""

from __future__ import annotations

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
    build(config)
    return Index.open(config.index_path, config.index, config.search)


def build(
    config: Config,
    progress: ProgressCallback | None = None,
    embedding_progress: ProgressCallback | None = None,
) -> BuildReport:
    """Build or refresh the configured index from the corpus folder."""
    return build_index(
        config.corpus,
        config.index_path,
        config.index,
        progress,
        embedding_model=config.search.embedding_model,
        embedding_progress=embedding_progress,
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
        ("undated", [f"{path}: {note} is not a date" for path, note in report.undated_notes]),
        ("skipped", [f"{s.path}: {s.reason}" for s in report.skipped]),
        ("added", list(report.added)),
        ("changed", list(report.changed)),
        ("removed", list(report.removed)),
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
