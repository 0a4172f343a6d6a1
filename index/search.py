"""Answering a question from a built index: what matched, which passages, which sentences."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from . import dates as datesmod
from . import excerpt as excerptmod
from .analyzer import Analyzer
from .dates import DateQuery
from .engine import ENGINES, open_engine
from .errors import ConfigurationError
from .places import Places
from .store import IndexSettings, Source, Store


@dataclass(frozen=True)
class SearchSettings:
    """How questions are matched and answered."""

    k1: float = 1.2
    b: float = 0.75
    epsilon: float = 0.25
    excerpt_chars: int = 400
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
class QueryTerm:
    """One content word of a question, with what it matches in the corpus."""

    word: str
    stems: frozenset[str]
    df: int
    weight: float
    # A name (capitalised word, acronym, number, country): if absent, the corpus cannot answer.
    decisive: bool
    # A country or its adjective: passages naming it, or following one that does, come first.
    place: bool = False


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
    # The date range or order the question asked for ("January 2026", "latest"), if any.
    dates: DateQuery | None = None
    # Share of the question's weight the corpus holds, compared with min_coverage.
    coverage: float = 0.0


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
NO_DATE_MATCH = "no_date_match"

# The missing-name rule holds for short questions, where a name is what is asked about;
# in long ones (claims, pasted sentences) a single absent code or typo must not veto.
MAX_TERMS_FOR_NAME_RULE = 5
# Passages after one that names a country, naming none themselves, are about it too
# ("From November 25 to 28, the delegation visited Peru." then the meetings there).
CONTEXT_PASSAGES = 3
CONTEXT_WEIGHT = 0.5
# Shorter words are not corrected: at one edit from many others, a guess would mislead.
MIN_CORRECTED_CHARS = 5
# A country named in this share of a source's passages is the source's topic.
TOPIC_SHARE = 0.4
# Verbs that phrase a question rather than name its topic: when the corpus lacks them,
# they count for little in deciding whether it answers.
QUESTION_VERBS = frozenset(
    """happen happened happens happening say says said tell told think thinks thought mean
    means meant going go goes went know known according want wants wanted like""".split()
)
QUESTION_VERB_WEIGHT = 0.25


class Index:
    """A built index opened for questions."""

    def __init__(self, store: Store, settings: IndexSettings, search: SearchSettings) -> None:
        self._store = store
        self.settings = settings
        self.search_settings = search
        self.analyzer = Analyzer(settings.analyzer)
        self._places = Places(self.analyzer)
        self._sources = {s.id: s for s in store.sources()}
        table, matrix = store.load()
        self._passage_ids = table.ids
        self._source_of = table.source_ids
        self._spans = np.column_stack((table.starts, table.ends))
        self._ordinals = table.ordinals
        self._engine = open_engine(
            matrix, search.engine, k1=search.k1, b=search.b, epsilon=search.epsilon
        )
        self._content_cache: dict[int, str] = {}
        self._initials: dict[str, list[str]] | None = None
        # Source date per passage row, as a day number; 0 for an undated source.
        by_source = np.zeros(max(self._sources, default=0) + 1, dtype=np.int64)
        for source in self._sources.values():
            by_source[source.id] = source.date.toordinal() if source.date else 0
        self._day = by_source[self._source_of] if len(self._source_of) else np.zeros(0, np.int64)
        dated = [s.date for s in self._sources.values() if s.date]
        self.newest: dt.date | None = max(dated) if dated else None
        self._has_place = self._section_places()

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

    def search(
        self, question: str, limit: int = 3, offset: int = 0, min_coverage: float | None = None
    ) -> SearchResult:
        """The passages that answer the question, best first, one page at a time.

        min_coverage overrides the configured threshold, for calibrating it.
        """
        if limit < 1 or offset < 0:
            raise ValueError("limit must be positive and offset not negative")
        threshold = self.search_settings.min_coverage if min_coverage is None else min_coverage
        when = datesmod.parse(question, self.newest)
        if when is None:
            return self._search(question, question, None, limit, offset, threshold)
        text = datesmod.remove(question, when.spans)
        result = self._search(question, text, when, limit, offset, threshold)
        if result.reason == NO_DATE_MATCH and result.terms:
            # No source is dated so, but the date may be an event in the text ("on 4 January").
            in_text = self._search(question, question, None, limit, offset, threshold)
            return in_text if in_text.found else result
        return result

    def _search(
        self,
        question: str,
        text: str,
        when: DateQuery | None,
        limit: int,
        offset: int,
        threshold: float,
    ) -> SearchResult:
        terms = self._query_terms(text, drop=datesmod.FILLER if when else frozenset())
        allowed = self._in_range(when) if when and when.has_range else None
        if allowed is not None and not allowed.any():
            return self._not_found(question, terms, NO_DATE_MATCH, (), when)
        if not terms:
            if when is None:
                return self._not_found(question, terms, NO_TERMS, ())
            return self._browse(question, when, allowed, limit, offset)
        matched = [t for t in terms if t.df > 0]
        if not matched:
            return self._not_found(question, terms, NO_MATCH, tuple(t.word for t in terms), when)
        missing_names = tuple(t.word for t in terms if t.df == 0 and t.decisive)
        if missing_names and len(terms) <= MAX_TERMS_FOR_NAME_RULE:
            return self._not_found(question, terms, MISSING_NAME, missing_names, when)
        coverage = min(1.0, sum(t.weight for t in matched) / sum(_doubt(t) for t in terms))
        if coverage < threshold:
            missing = tuple(t.word for t in terms if t.df == 0)
            result = self._not_found(question, terms, NO_MATCH, missing, when)
            return replace(result, coverage=coverage)
        ranked, total = self._rank(matched, offset + limit, allowed, when)
        if total == 0:
            return self._not_found(question, terms, NO_DATE_MATCH, (), when)
        page = ranked[offset : offset + limit]
        hits = tuple(self._hit(row, score, matched) for row, score in page)
        return SearchResult(
            question, tuple(terms), True, None, (), hits, total, offset, when, coverage
        )

    def _not_found(
        self,
        question: str,
        terms: list[QueryTerm],
        reason: str,
        missing: tuple[str, ...],
        when: DateQuery | None = None,
    ) -> SearchResult:
        return SearchResult(question, tuple(terms), False, reason, missing, (), 0, 0, when)

    def _in_range(self, when: DateQuery) -> NDArray[np.bool_]:
        """Rows whose source date lies in the asked range; undated sources never do."""
        allowed = self._day > 0
        if when.start is not None:
            allowed &= self._day >= when.start.toordinal()
        if when.end is not None:
            allowed &= self._day < when.end.toordinal()
        return allowed

    def _browse(
        self,
        question: str,
        when: DateQuery,
        allowed: NDArray[np.bool_] | None,
        limit: int,
        offset: int,
    ) -> SearchResult:
        """A date with nothing else asked: the opening passage of each source, by date."""
        leads = np.flatnonzero((self._ordinals == 0) & (self._day > 0))
        if allowed is not None:
            leads = leads[allowed[leads]]
        days = self._day[leads]
        order = np.lexsort((leads, days if when.order == "earliest" else -days))
        leads = leads[order]
        page = leads[offset : offset + limit].tolist()
        hits = tuple(self._hit(row, 0.0, []) for row in page)
        found = bool(len(leads))
        reason = None if found else NO_DATE_MATCH
        return SearchResult(question, (), found, reason, (), hits, len(leads), offset, when)

    def _query_terms(self, question: str, drop: frozenset[str] = frozenset()) -> list[QueryTerm]:
        n = max(self._engine.size, 1)
        seen: set[str] = set()
        terms: list[QueryTerm] = []
        for position, (start, end, stem) in enumerate(self.analyzer.term_spans(question)):
            raw = question[start:end]
            if stem in seen or raw.lower() in drop:
                continue
            seen.add(stem)
            if not self._engine.df(stem):
                stem = self._spelling(stem) or stem
            stems = frozenset({stem} | self._places.equivalents(stem))
            df = len(self._rows(stems))
            weight = math.log(1 + (n - df + 0.5) / (df + 0.5))
            place = stem in self._places.names
            decisive = (
                place
                or any(ch.isdigit() for ch in raw)
                or (raw[:1].isupper() and (position > 0 or raw.isupper()) and len(raw) > 1)
            )
            terms.append(QueryTerm(raw, stems, df, weight, decisive, place))
        return terms

    def _terms_by_initial(self) -> dict[str, list[str]]:
        """Indexed terms grouped by first letter: a misspelling keeps its first letter."""
        if self._initials is None:
            groups: dict[str, list[str]] = {}
            for term in self._engine.terms:
                groups.setdefault(term[0], []).append(term)
            self._initials = groups
        return self._initials

    def _spelling(self, stem: str) -> str | None:
        """The indexed term a misspelt one most likely means ("Melanchhon", "1700s"), if any.

        Country names are never corrected: one the corpus lacks is absent, not misspelt.
        """
        if stem in self._places.names:
            return None
        if stem.endswith("s") and len(stem) >= 4 and self._engine.df(stem[:-1]):
            return stem[:-1]  # "DSMs", "1700s"
        if len(stem) < MIN_CORRECTED_CHARS or stem.isdigit():
            return None
        distance = 1 if len(stem) < 8 else 2
        close = process.extract(
            stem,
            self._terms_by_initial().get(stem[0], ()),
            scorer=DamerauLevenshtein.distance,
            score_cutoff=distance,
            limit=20,
        )
        close = [c for c in close if c[0] not in self._places.names]
        if not close:
            return None
        # The nearest, then the most frequent: a typo is likelier of a common word.
        best = min(close, key=lambda c: (c[1], -self._engine.df(c[0]), c[0]))
        return str(best[0])

    def _rank(
        self,
        matched: list[QueryTerm],
        k: int,
        allowed: NDArray[np.bool_] | None = None,
        when: DateQuery | None = None,
    ) -> tuple[list[tuple[int, float]], int]:
        """The first k candidates with BM25 scores, best first, weak ones dropped; and a count."""
        size = self._engine.size
        scores = self._engine.scores([s for t in matched for s in sorted(t.stems)])
        coverage = np.zeros(size)
        # A question about a country prefers the passages about it.
        places = [t for t in matched if t.place]
        names = np.zeros(size, dtype=np.int64) if places else None
        for term in matched:
            rows = self._rows(term.stems)
            # Rows are distinct; add.at is about twice as fast as coverage[rows] += weight.
            np.add.at(coverage, rows, term.weight)
            if term.place and names is not None:
                about = np.zeros(size, dtype=bool)
                about[self._following(rows)] = True
                about[rows] = False
                # A passage about the country without naming it matches it half.
                coverage[about] += term.weight * CONTEXT_WEIGHT
                about[rows] = True
                names += about
        # Weights are positive: the passages with coverage are those matching a term.
        if allowed is not None:
            coverage[~allowed] = 0.0
        best = coverage.max() if size else 0.0
        if best <= 0:
            return [], 0
        # One pass over the dense array; a share of a positive best is itself positive.
        floor = best * self.search_settings.min_hit_ratio
        keep = np.flatnonzero(coverage >= floor if floor > 0 else coverage > 0)
        if when is not None and when.order is not None:
            top = _by_date(keep, self._day, when.order, names, scores, coverage, k)
        else:
            top = _best_first(keep, names, scores, coverage, k)
        return list(zip(top.tolist(), scores[top].tolist(), strict=True)), len(keep)

    def _section_places(self) -> NDArray[np.bool_]:
        """Rows naming a country that is not the topic of their whole source.

        A country named all through a source (Venezuela in a report on solidarity with it)
        is its subject, not a new section's; other country names start a section.
        """
        marks = np.zeros(self._engine.size, dtype=bool)
        if not self._engine.size:
            return marks
        per_source = np.bincount(self._source_of)
        done: set[str] = set()
        for name in sorted(self._places.names):
            if name in done:
                continue
            group = frozenset({name} | self._places.equivalents(name))
            done |= group
            rows = self._rows(group)
            if not len(rows):
                continue
            sources = self._source_of[rows]
            share = np.bincount(sources, minlength=len(per_source))[sources] / per_source[sources]
            marks[rows[share < TOPIC_SHARE]] = True
        return marks

    def _following(self, rows: NDArray[np.int32]) -> NDArray[np.intp]:
        """Rows after one of rows in the same source, with no country named since."""
        origin = rows.astype(np.intp)
        current = origin
        out: list[NDArray[np.intp]] = []
        for _ in range(CONTEXT_PASSAGES):
            nxt = current + 1
            ok = nxt < self._engine.size
            origin, nxt = origin[ok], nxt[ok]
            ok = (self._source_of[nxt] == self._source_of[origin]) & ~self._has_place[nxt]
            origin, nxt = origin[ok], nxt[ok]
            if not len(nxt):
                break
            out.append(nxt)
            current = nxt
        return np.concatenate(out) if out else np.zeros(0, dtype=np.intp)

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
        words = tuple(t.word for t in matched if not t.stems.isdisjoint(chosen.passage_terms))
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


def _doubt(term: QueryTerm) -> float:
    """A term's weight in the share of the question the corpus covers."""
    if term.df == 0 and term.word.lower() in QUESTION_VERBS:
        return term.weight * QUESTION_VERB_WEIGHT
    return term.weight


def _by_date(
    rows: NDArray[np.intp],
    days: NDArray[np.int64],
    order: str,
    names: NDArray[np.int64] | None,
    scores: NDArray[np.float64],
    coverage: NDArray[np.float64],
    k: int,
) -> NDArray[np.intp]:
    """The first k rows by source date (newest or oldest first, undated last), then relevance."""
    day = days[rows]
    undated = day == 0
    key = np.where(undated, 0, -day if order == "latest" else day)
    level = names[rows] if names is not None else np.zeros(len(rows), dtype=np.int64)
    order_ = np.lexsort((rows, -coverage[rows], -scores[rows], -level, key, undated))
    return rows[order_[:k]]
