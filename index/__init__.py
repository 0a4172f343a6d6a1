"""Corpus indexing and retrieval: the public surface used by the bot."""

from .analyzer import AnalyzerSettings, fold
from .dates import DateQuery
from .documents import Skipped
from .errors import (
    ConfigurationError,
    CorpusError,
    IndexCorruptError,
    IndexIncompatibleError,
    IndexMissingError,
    IndexWriteError,
    ReindexBusyError,
    SearchIndexError,
    SwapRefusedError,
)
from .excerpt import ELLIPSIS
from .quotes import Quote, QuoteResult, exact_phrase, find_quotes, notable_quotes
from .search import (
    MISSING_NAME,
    NO_DATE_MATCH,
    NO_MATCH,
    NO_TERMS,
    Hit,
    Index,
    PassageText,
    SearchResult,
    SearchSettings,
)
from .store import BuildReport, IndexSettings, ProgressCallback, Source
from .store import build as build_index

__all__ = [
    "ELLIPSIS",
    "MISSING_NAME",
    "NO_DATE_MATCH",
    "NO_MATCH",
    "NO_TERMS",
    "AnalyzerSettings",
    "BuildReport",
    "ConfigurationError",
    "CorpusError",
    "DateQuery",
    "Hit",
    "Index",
    "IndexCorruptError",
    "IndexIncompatibleError",
    "IndexMissingError",
    "IndexSettings",
    "IndexWriteError",
    "PassageText",
    "ProgressCallback",
    "Quote",
    "QuoteResult",
    "ReindexBusyError",
    "SearchIndexError",
    "SearchResult",
    "SearchSettings",
    "Skipped",
    "Source",
    "SwapRefusedError",
    "build_index",
    "exact_phrase",
    "find_quotes",
    "fold",
    "notable_quotes",
]
