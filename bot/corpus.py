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


def build(config: Config, progress: ProgressCallback | None = None) -> BuildReport:
    """Build or refresh the configured index from the corpus folder."""
    return build_index(config.corpus, config.index_path, config.index, progress)


def report_lines(report: BuildReport, limit: int = 50) -> list[str]:
    """A build report as lines for people; skipped files first, long lists cut at limit."""
    lines = [
        f"Indexed {report.sources} source(s), {report.passages} passage(s) in "
        f"{report.seconds:.2f} s: {len(report.added)} added, {len(report.changed)} changed, "
        f"{len(report.removed)} removed, {report.unchanged} unchanged, "
        f"{len(report.skipped)} skipped."
    ]
    groups = (
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
