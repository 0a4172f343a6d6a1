"""Corpus indexing and retrieval: the public surface used by the bot."""

from .analyzer import AnalyzerSettings, fold
from .answerability import Reason
from .build import BuildReport, ProgressCallback
from .building import build_index
from .citations import Hit
from .dates import DateQuery
from .documents import Document, Skipped
from .documents import parse as read_document
from .documents import scan as scan_corpus
from .embedding import BUNDLED as BUNDLED_EMBEDDING_MODEL
from .embedding import Embedder
from .embedding import load as load_embedder
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
from .passages import PassageText
from .question import AnswerType, QueryTerm, Question
from .quotes import Quote, QuoteResult, exact_phrase, find_quotes, notable_quotes
from .readers import SUFFIXES, looks_like
from .readers.metadata import path_date
from .retrieval import Candidates, Mode, Retriever
from .search import (
    MISSING_NAME,
    NO_DATE_MATCH,
    NO_MATCH,
    NO_TERMS,
    Index,
    SearchResult,
    SearchSettings,
)
from .store import IndexSettings, Source

__all__ = [
    "BUNDLED_EMBEDDING_MODEL",
    "ELLIPSIS",
    "MISSING_NAME",
    "NO_DATE_MATCH",
    "NO_MATCH",
    "NO_TERMS",
    "SUFFIXES",
    "AnalyzerSettings",
    "AnswerType",
    "BuildReport",
    "Candidates",
    "ConfigurationError",
    "CorpusError",
    "DateQuery",
    "Document",
    "Embedder",
    "Hit",
    "Index",
    "IndexCorruptError",
    "IndexIncompatibleError",
    "IndexMissingError",
    "IndexSettings",
    "IndexWriteError",
    "Mode",
    "PassageText",
    "ProgressCallback",
    "QueryTerm",
    "Question",
    "Quote",
    "QuoteResult",
    "Reason",
    "ReindexBusyError",
    "Retriever",
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
    "load_embedder",
    "looks_like",
    "notable_quotes",
    "path_date",
    "read_document",
    "scan_corpus",
]
