"""Answering a question from a built index: what matched, which passages, which sentences."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from . import excerpt as excerptmod
from .analyzer import Analyzer
from .engine import ENGINES, open_engine
from .errors import ConfigurationError
from .places import Places
from .store import IndexSettings, Store, StoredSource


@dataclass(frozen=True)
class SearchSettings:
    """How questions are matched and answered."""

    k1: float = 1.5
    b: float = 0.75
    epsilon: float = 0.25
    excerpt_chars: int = 450
    # Share of the question's weight (rare words weigh more) that must appear in the corpus.
    min_coverage: float = 0.5
    # A passage is cited only when it holds this share of the best passage's matched weight.
    min_hit_ratio: float = 0.5
    # Scorer: "rank-bm25", "sparse" (same scores, built for large corpora) or "auto" by size.
    engine: str = "auto"

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigurationError(
                f"retrieval.engine: unknown engine {self.engine!r}; use one of: "
                + ", ".join(ENGINES)
            )
        checks = {
            "retrieval.k1": self.k1 >= 0,
            "retrieval.b": 0 <= self.b <= 1,
            "retrieval.epsilon": self.epsilon >= 0,
            "retrieval.excerpt_chars": self.excerpt_chars >= 40,
            "retrieval.min_coverage": 0 <= self.min_coverage <= 1,
            "retrieval.min_hit_ratio": 0 <= self.min_hit_ratio <= 1,
        }
        for key, ok in checks.items():
            if not ok:
                raise ConfigurationError(f"{key}: value out of range")


@dataclass(frozen=True)
class Source:
    """A source document as the index knows it."""

    id: int
    path: str
    title: str
    date: dt.date | None
    url: str | None
    passages: int


@dataclass(frozen=True)
class QueryTerm:
    """One content word of a question, with what it matches in the corpus."""

    word: str
    stems: frozenset[str]
    df: int
    weight: float
    decisive: bool


@dataclass(frozen=True)
class Hit:
    """A passage that answers the question, with its best sentences."""

    passage_id: int
    source: Source
    ordinal: int
    start: int
    end: int
    score: float
    matched: tuple[str, ...]
    excerpt: str
    excerpt_spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class SearchResult:
    """What a question found: the hits of one page, or why there are none."""

    question: str
    terms: tuple[QueryTerm, ...]
    found: bool
    reason: str | None
    missing: tuple[str, ...]
    hits: tuple[Hit, ...]
    total: int
    offset: int


@dataclass(frozen=True)
class PassageText:
    """A whole passage with its source, for showing it in full."""

    passage_id: int
    source: Source
    text: str


# Reasons a question is not found.
NO_TERMS = "no_terms"
MISSING_NAME = "missing_name"
NO_MATCH = "no_match"


class Index:
    """A built index opened for questions."""

    def __init__(self, store: Store, settings: IndexSettings, search: SearchSettings) -> None:
        self._store = store
        self.settings = settings
        self.search_settings = search
        self.analyzer = Analyzer(settings.analyzer)
        self._places = Places(self.analyzer)
        self._sources = {s.id: _source(s) for s in store.sources()}
        table, matrix = store.load()
        self._passage_ids = table.ids
        self._source_of = table.source_ids
        self._spans = np.column_stack((table.starts, table.ends))
        self._ordinals = table.ordinals
        self._engine = open_engine(
            matrix, search.engine, k1=search.k1, b=search.b, epsilon=search.epsilon
        )
        self._content_cache: dict[int, str] = {}

    @classmethod
    def open(
        cls,
        db_path: Path,
        settings: IndexSettings | None = None,
        search: SearchSettings | None = None,
    ) -> Index:
        """Open the index file at db_path; raises when it is missing or unusable."""
        settings = settings or IndexSettings()
        return cls(Store(db_path, settings), settings, search or SearchSettings())

    def close(self) -> None:
        """Release the database connection."""
        self._store.close()

    @property
    def path(self) -> Path:
        """The index file."""
        return self._store.path

    @property
    def built_at(self) -> str:
        """When the index was built (ISO 8601, UTC)."""
        return self._store.meta.get("built_at", "")

    def frequent_places(self, limit: int) -> list[str]:
        """Country names the corpus mentions most, most frequent first."""
        counted = [
            (len(self._rows(frozenset({name}) | self._places.equivalents(name))), name)
            for name in self._places.names
            if self._engine.df(name)
        ]
        counted.sort(key=lambda item: (-item[0], len(item[1]), item[1]))
        names: list[str] = []
        for _, name in counted:
            if not self._places.equivalents(name) & set(names):
                names.append(name)
        return [name.title() for name in names[:limit]]

    @property
    def passage_count(self) -> int:
        """How many passages are indexed."""
        return len(self._passage_ids)

    def sources(self) -> list[Source]:
        """The indexed sources, in path order."""
        return sorted(self._sources.values(), key=lambda s: s.path)

    def skipped(self) -> list[tuple[str, str]]:
        """Files the last build skipped, with their reasons."""
        return [(s.path, s.reason) for s in self._store.skipped()]

    def passage(self, passage_id: int) -> PassageText | None:
        """A whole passage, or None when the id is not in this index."""
        # Passage ids ascend with the rows (checked when the index is loaded).
        row = int(np.searchsorted(self._passage_ids, passage_id))
        if row >= len(self._passage_ids) or self._passage_ids[row] != passage_id:
            return None
        source = self._sources[int(self._source_of[row])]
        start, end = (int(x) for x in self._spans[row])
        return PassageText(passage_id, source, self._content(source.id)[start:end])

    def source_passages(self, source_id: int) -> list[int]:
        """Ids of a source's passages, in reading order."""
        rows = np.flatnonzero(self._source_of == source_id)
        return [int(self._passage_ids[r]) for r in rows]

    def search(self, question: str, limit: int = 3, offset: int = 0) -> SearchResult:
        """The passages that answer the question, best first, one page at a time."""
        if limit < 1 or offset < 0:
            raise ValueError("limit must be positive and offset not negative")
        terms = self._query_terms(question)
        if not terms:
            return self._not_found(question, terms, NO_TERMS, ())
        matched = [t for t in terms if t.df > 0]
        missing_names = tuple(t.word for t in terms if t.df == 0 and t.decisive)
        if not matched:
            return self._not_found(question, terms, NO_MATCH, tuple(t.word for t in terms))
        if missing_names:
            return self._not_found(question, terms, MISSING_NAME, missing_names)
        coverage = sum(t.weight for t in matched) / sum(t.weight for t in terms)
        if coverage < self.search_settings.min_coverage:
            missing = tuple(t.word for t in terms if t.df == 0)
            return self._not_found(question, terms, NO_MATCH, missing)

        ranked, total = self._rank(matched, offset + limit)
        page = ranked[offset : offset + limit]
        hits = tuple(self._hit(row, score, matched) for row, score in page)
        return SearchResult(question, tuple(terms), True, None, (), hits, total, offset)

    def _not_found(
        self, question: str, terms: list[QueryTerm], reason: str, missing: tuple[str, ...]
    ) -> SearchResult:
        return SearchResult(question, tuple(terms), False, reason, missing, (), 0, 0)

    def _query_terms(self, question: str) -> list[QueryTerm]:
        n = max(self._engine.size, 1)
        seen: set[str] = set()
        terms: list[QueryTerm] = []
        for position, (start, end, stem) in enumerate(self.analyzer.term_spans(question)):
            if stem in seen:
                continue
            seen.add(stem)
            raw = question[start:end]
            stems = frozenset({stem} | self._places.equivalents(stem))
            df = len(self._rows(stems))
            weight = math.log(1 + (n - df + 0.5) / (df + 0.5))
            decisive = (
                stem in self._places.names
                or any(ch.isdigit() for ch in raw)
                or (raw[:1].isupper() and (position > 0 or raw.isupper()) and len(raw) > 1)
            )
            terms.append(QueryTerm(raw, stems, df, weight, decisive))
        return terms

    def _rank(self, matched: list[QueryTerm], k: int) -> tuple[list[tuple[int, float]], int]:
        """The first k candidates with BM25 scores, best first, weak ones dropped; and a count."""
        size = self._engine.size
        scores = self._engine.scores([s for t in matched for s in sorted(t.stems)])
        coverage = np.zeros(size)
        # A question about a named thing prefers the passages that name it.
        names = np.zeros(size, dtype=np.int64) if any(t.decisive for t in matched) else None
        for term in matched:
            rows = self._rows(term.stems)
            np.add.at(coverage, rows, term.weight)
            if term.decisive and names is not None:
                np.add.at(names, rows, 1)
        # Weights are positive: the passages with coverage are those matching a term.
        found = np.flatnonzero(coverage > 0)
        best = coverage[found].max()
        keep = found[coverage[found] >= best * self.search_settings.min_hit_ratio]
        top = _best_first(keep, names, scores, coverage, k)
        return list(zip(top.tolist(), scores[top].tolist(), strict=True)), len(keep)

    def _rows(self, stems: frozenset[str]) -> NDArray[np.int32]:
        """Rows of the passages that contain any of the stems, ascending."""
        postings = [self._engine.postings(stem) for stem in stems]
        return postings[0] if len(postings) == 1 else np.unique(np.concatenate(postings))

    def _hit(self, row: int, score: float, matched: list[QueryTerm]) -> Hit:
        source = self._sources[int(self._source_of[row])]
        start, end = (int(x) for x in self._spans[row])
        content = self._content(source.id)
        groups = [(t.stems, t.weight) for t in matched]
        chosen = excerptmod.select(
            self.analyzer, content, (start, end), groups, self.search_settings.excerpt_chars
        )
        # The index holds the passage's terms: no need to analyze it again.
        words = tuple(
            t.word for t in matched if any(self._engine.contains(s, row) for s in t.stems)
        )
        return Hit(
            passage_id=int(self._passage_ids[row]),
            source=source,
            ordinal=int(self._ordinals[row]),
            start=start,
            end=end,
            score=score,
            matched=words,
            excerpt=chosen.render(content),
            excerpt_spans=chosen.spans,
        )

    def _content(self, source_id: int) -> str:
        text = self._content_cache.get(source_id)
        if text is None:
            text = self._store.content(source_id)
            if len(self._content_cache) > 256:
                self._content_cache.clear()
            self._content_cache[source_id] = text
        return text


def _best_first(
    rows: NDArray[np.intp],
    names: NDArray[np.int64] | None,
    scores: NDArray[np.float64],
    coverage: NDArray[np.float64],
    k: int,
) -> NDArray[np.intp]:
    """The first k rows by names (when counted), score and coverage, descending, then row."""
    # Sorting every candidate takes milliseconds on a large corpus: only the first k are
    # sorted, one names level at a time, after a partition on the score.
    levels = names[rows] if names is not None else None
    out: list[NDArray[np.intp]] = []
    for level in range(int(levels.max()) if levels is not None else 0, -1, -1):
        if k <= 0:
            break
        group = rows if levels is None else rows[levels == level]
        if len(group) > k:
            # Each of the first k scores at least the k-th best score.
            group_scores = scores[group]
            kth = np.partition(group_scores, len(group) - k)[len(group) - k]
            group = group[group_scores >= kth]
        order = np.lexsort((group, -coverage[group], -scores[group]))
        out.append(group[order[:k]])
        k -= len(out[-1])
    return np.concatenate(out) if out else rows[:0]


def _source(s: StoredSource) -> Source:
    return Source(s.id, s.path, s.title, s.date, s.url, s.passages)
