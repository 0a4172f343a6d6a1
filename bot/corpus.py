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
