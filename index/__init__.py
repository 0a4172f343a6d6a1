"""Corpus indexing and retrieval: the public surface used by the bot."""

from .analyzer import AnalyzerSettings, fold
from .documents import Skipped
from .errors import (
    ConfigurationError,
    CorpusError,
    IndexCorruptError,
    IndexIncompatibleError,
    IndexMissingError,
    ReindexBusyError,
    SearchIndexError,
)
from .excerpt import ELLIPSIS
from .search import (
    MISSING_NAME,
    NO_MATCH,
    NO_TERMS,
    Hit,
    Index,
    PassageText,
    SearchResult,
    SearchSettings,
    Source,
)
from .store import BuildReport, IndexSettings, ProgressCallback
from .store import build as build_index

__all__ = [
    "ELLIPSIS",
    "MISSING_NAME",
    "NO_MATCH",
    "NO_TERMS",
    "AnalyzerSettings",
    "BuildReport",
    "ConfigurationError",
    "CorpusError",
    "Hit",
    "Index",
    "IndexCorruptError",
    "IndexIncompatibleError",
    "IndexMissingError",
    "IndexSettings",
    "PassageText",
    "ProgressCallback",
    "ReindexBusyError",
    "SearchIndexError",
    "SearchResult",
    "SearchSettings",
    "Skipped",
    "Source",
    "build_index",
    "fold",
]
