"""Named errors of the index; each message says what to do about it."""

from __future__ import annotations


class SearchIndexError(Exception):
    """Base class for errors the index reports to its callers."""


class ConfigurationError(SearchIndexError):
    """A setting has a value the index cannot use."""


class CorpusError(SearchIndexError):
    """The corpus folder is missing, empty or unusable."""


class IndexMissingError(SearchIndexError):
    """No index file exists yet at the configured path."""


class IndexIncompatibleError(SearchIndexError):
    """The index file was built by another format or with other analyzer settings."""


class IndexCorruptError(SearchIndexError):
    """The file at the index path is not a readable index of this program."""


class ReindexBusyError(SearchIndexError):
    """Another reindex is already running."""


class IndexWriteError(SearchIndexError):
    """The index file cannot be written (disk full, no permission); the previous one stays."""


class SwapRefusedError(SearchIndexError):
    """A new index would drop too many of the indexed sources; the previous one stays."""

    def __init__(self, message: str, previous: int, built: int) -> None:
        super().__init__(message)
        self.previous = previous
        self.built = built
