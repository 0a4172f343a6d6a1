"""Answering a question from a built index, one stage after another:

question analysis (question.py) → candidates (retrieval.py) → ranking (ranking.py) →
answerability (answerability.py) → excerpts (excerpt.py). This module opens the index and
runs the stages in that order, once per question.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from . import embedding
from . import excerpt as excerptmod
from .analyzer import Analyzer
from .answerability import NOTHING, Decision, Evidence, Reason, decide
from .context import DocumentContext
from .dates import DateQuery
from .embedding import Embedder
from .engine import ENGINES, Engine, open_engine
from .errors import ConfigurationError, IndexIncompatibleError
from .places import Places
from .question import AnswerType, QueryTerm, Question, QuestionAnalyzer, near_terms
from .ranking import Ranked, RankingSettings, rank
from .retrieval import Bm25Retriever, DenseRetriever, HybridRetriever, Mode, Retriever
from .segments import PassageTable
from .store import IndexSettings, Source, Store
from .vectors import SqliteVectors
from .weights import Informativeness


@dataclass(frozen=True)
class SearchSettings:
    """How questions are matched and answered."""

    k1: float = 1.2
    b: float = 0.75
    excerpt_chars: int = 400
    # How likely an answer must be (the calibrated answerability model's probability,
    # see answerability.py) for the question to be answered.
    min_answerability: float = 0.486
    # A passage is cited only when it holds this share of the best passage's coverage.
    min_hit_ratio: float = 0.5
    # Scorer: "rank-bm25", "sparse" (same scores, built for large corpora) or "auto" by size.
    engine: str = "auto"
    # A word only in a passage's context (title, lead, previous passage) counts this much.
    context_weight: float = 0.5
    # Weight of the covered share of the question beside the normalised retriever score.
    coverage_weight: float = 1.0
    # The embedding model: embedding.BUNDLED, a model folder, a Hugging Face id, or "" for
    # BM25 only. Without the semantic extra the index answers with BM25 only.
    embedding_model: str = embedding.BUNDLED
    # "hybrid" (BM25 and embeddings, BM25 alone when there are no embeddings), "dense"
    # (embeddings alone, for measuring) or "bm25".
    retrieval: str = Mode.HYBRID
    # Share of the embeddings' score in the fused score: measured with bench/fusion.py on
    # the tuning splits, with coverage_weight (BENCHMARKS.md, "Hybrid retrieval").
    dense_weight: float = 0.95

    def ranking(self, mode: Mode = Mode.BM25) -> RankingSettings:
        """The settings of the ranking stage for the retrieval mode in use."""
        # Embeddings alone keep their own order: that mode measures them unaided.
        coverage = 0.0 if mode == Mode.DENSE else self.coverage_weight
        return RankingSettings(self.context_weight, coverage)

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigurationError(
                f"retrieval.engine: unknown engine {self.engine!r}; use one of: "
                + ", ".join(ENGINES)
            )
        if self.retrieval not in tuple(Mode):
            raise ConfigurationError(
                f"retrieval.mode: unknown mode {self.retrieval!r}; use one of: " + ", ".join(Mode)
            )
        checks = {
            "retrieval.k1": self.k1 >= 0,
            "retrieval.b": 0 <= self.b <= 1,
            "retrieval.excerpt_chars": self.excerpt_chars >= 40,
            "retrieval.min_answerability": 0 <= self.min_answerability <= 1,
            "retrieval.min_hit_ratio": 0 <= self.min_hit_ratio <= 1,
            "retrieval.context_weight": 0 <= self.context_weight <= 1,
            "retrieval.coverage_weight": self.coverage_weight >= 0,
            "retrieval.dense_weight": 0 <= self.dense_weight <= 1,
        }
        for key, ok in checks.items():
            if not ok:
                raise ConfigurationError(f"{key}: value out of range")


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
    # Where the answering sentence is in excerpt, as [start, end) offsets.
    answer_span: tuple[int, int] | None = None


@dataclass(frozen=True)
class SearchResult:
    """What a question found: the hits of one page, or why there are none."""

    question: str
    terms: tuple[QueryTerm, ...]
    found: bool
    reason: Reason | None
    missing: tuple[str, ...]
    hits: tuple[Hit, ...]
    total: int
    offset: int
    # The date range or order the question asked for ("January 2026", "latest"), if any.
    dates: DateQuery | None = None
    # What the answerability decision was made from; its confidence is compared with
    # min_answerability.
    evidence: Evidence = NOTHING
    # Which retrieval answered: "hybrid", "dense" or "bm25".
    retrieval: str = Mode.BM25

    @property
    def confidence(self) -> float:
        """The probability, by the answerability model, that the sources answer."""
        return self.evidence.confidence()


@dataclass(frozen=True)
class PassageText:
    """A whole passage with its source, for showing it in full."""

    passage_id: int
    source: Source
    text: str


# Reasons a question is not found.
NO_TERMS = Reason.NO_TERMS
MISSING_NAME = Reason.MISSING_NAME
NO_MATCH = Reason.NO_MATCH
NO_DATE_MATCH = Reason.NO_DATE_MATCH

# Candidates the retriever offers for ranking, at least.
CANDIDATES = 100


class Index:
    """A built index opened for questions."""

    def __init__(
        self,
        store: Store,
        settings: IndexSettings,
        search: SearchSettings,
        embedder: Embedder | None = None,
    ) -> None:
        self._store = store
        self.settings = settings
        self.search_settings = search
        self.analyzer = Analyzer(settings.analyzer, known=store.form)
        self._places = Places(self.analyzer)
        # Every row of every segment, deleted ones too: a few arrays, no source is read.
        table = PassageTable.concat([part.segment.table for part in store.parts])
        self._passage_ids = table.ids
        self._source_of = table.source_ids
        self._starts, self._ends = table.starts, table.ends
        self._ordinals = table.ordinals
        # The source's date per row, as a day number; 0 for an undated source.
        self._day = table.days
        self._engine = open_engine(
            store.parts, store.vocabulary, search.engine, k1=search.k1, b=search.b
        )
        self._live = self._engine.live
        bm25 = Bm25Retriever(self._engine, self._passage_ids)
        self._retriever: Retriever = bm25
        self.retrieval, self.retrieval_note = Mode.BM25, ""
        if search.retrieval != Mode.BM25:
            dense = self._dense(store, search, embedder)
            if dense is not None:
                self.retrieval = Mode(search.retrieval)
                self._retriever = dense
                if self.retrieval == Mode.HYBRID:
                    self._retriever = HybridRetriever(
                        bm25, dense, self._passage_ids, search.dense_weight
                    )
        self._context = DocumentContext(
            self._ordinals, self._engine.holds, self._engine.title_holds
        )
        size = self._engine.size
        # Index terms are about half of a text's words (stop words are the rest).
        mean_words = 2 * self._engine.mean_length if size else 1.0
        self._questions = QuestionAnalyzer(
            self.analyzer,
            _Vocabulary(self._engine),
            self._places,
            Informativeness(settings.analyzer.language, size, mean_words),
        )
        self._content_cache: dict[int, str] = {}
        self._source_cache: dict[int, Source] = {}
        self.newest: dt.date | None = store.newest

    def _dense(
        self, store: Store, search: SearchSettings, embedder: Embedder | None
    ) -> DenseRetriever | None:
        """The dense retriever over the stored vectors, or None (and why, in retrieval_note)."""
        if embedder is None:
            embedder, self.retrieval_note = embedding.load(search.embedding_model)
            if embedder is None:
                return None
        with store.cursor() as cur:
            vectors = SqliteVectors(cur)
            stored = vectors.model_id()
            if stored != embedder.model_id:
                self.retrieval_note = (
                    f"the index holds no vectors of {embedder.name}; "
                    "run `python -m bot index` to compute them"
                )
                return None
            try:
                ids, matrix = vectors.load()
            except ValueError as exc:
                raise IndexIncompatibleError(
                    f"the vectors in {str(store.path)!r} are damaged ({exc}); "
                    "run `python -m bot index` to rebuild them"
                ) from None
        # Builds keep a vector for every live passage, and only for those; an index last
        # built without the model lacks some.
        rows = np.flatnonzero(self._live).astype(np.intp)
        live = self._passage_ids[rows]
        if not np.array_equal(ids, live):
            at = np.searchsorted(ids, live)
            at[at >= len(ids)] = 0
            lacking = int(np.count_nonzero(ids[at] != live)) if len(ids) else len(live)
            if lacking:
                self.retrieval_note = (
                    f"the index lacks vectors of {embedder.name} for {lacking} passage(s); "
                    "run `python -m bot index` to compute them"
                )
                return None
            matrix = matrix[at]
        return DenseRetriever(embedder, self._passage_ids, matrix, rows)

    @classmethod
    def open(
        cls,
        db_path: Path,
        settings: IndexSettings | None = None,
        search: SearchSettings | None = None,
        embedder: Embedder | None = None,
    ) -> Index:
        """Open the index file at db_path; raises when it is missing or unusable.

        embedder (optional) is the already loaded model of search.embedding_model.
        """
        settings = settings or IndexSettings()
        return cls(Store(db_path, settings), settings, search or SearchSettings(), embedder)

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
            (self._engine.df(frozenset({name}) | self._places.equivalents(name)), name)
            for name in self._places.names
            if self._engine.df((name,))
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
        return self._engine.size

    def sources(self) -> list[Source]:
        """The indexed sources, in path order."""
        return self._store.sources()

    def skipped(self) -> list[tuple[str, str]]:
        """Files the last build skipped, with their reasons."""
        return [(s.path, s.reason) for s in self._store.skipped()]

    def passage(self, passage_id: int) -> PassageText | None:
        """A whole passage, or None when the id is not in this index."""
        row = self._row(passage_id)
        if row is None:
            return None
        source = self._source(int(self._source_of[row]))
        start, end = int(self._starts[row]), int(self._ends[row])
        return PassageText(passage_id, source, self._content(source.id)[start:end])

    def source_passages(self, source_id: int) -> list[int]:
        """Ids of a source's passages, in reading order."""
        rows = np.flatnonzero((self._source_of == source_id) & self._live)
        return [int(self._passage_ids[r]) for r in rows]

    def analyze(self, question: str) -> Question:
        """The first stage alone: the question as the later stages read it."""
        return self._questions.analyze(question, self.newest)

    def search(
        self,
        question: str,
        limit: int = 3,
        offset: int = 0,
        min_answerability: float | None = None,
    ) -> SearchResult:
        """The passages that answer the question, best first, one page at a time.

        min_answerability overrides the configured threshold, for calibrating it.
        """
        if limit < 1 or offset < 0:
            raise ValueError("limit must be positive and offset not negative")
        threshold = self.search_settings.min_answerability
        if min_answerability is not None:
            threshold = min_answerability
        asked = self.analyze(question)
        when = asked.dates
        terms = list(asked.terms)
        allowed = self._in_range(when) if when is not None and when.has_range else None
        date_only = False
        if allowed is not None and not allowed.any():
            # No source is dated so; the date may be an event the text tells of ("what
            # happened on 4 January"), so its words are searched, alone or with the rest.
            date_only = not terms
            terms += asked.date_terms
            if not terms:
                return self._not_found(asked, Decision(False, NOTHING, Reason.NO_DATE_MATCH))
            allowed = None
        if not terms:
            if when is not None:
                return self._browse(asked, allowed, limit, offset)
            return self._not_found(asked, Decision(False, NOTHING, Reason.NO_TERMS))
        matched = [t for t in terms if t.df > 0]
        ranked = self._ranked(question, terms, max(CANDIDATES, offset + limit), allowed)
        decision = decide(terms, ranked, threshold)
        if not decision.found:
            if date_only or (allowed is not None and not len(ranked)):
                decision = Decision(False, decision.evidence, Reason.NO_DATE_MATCH)
            return self._not_found(asked, decision, terms)
        # Cite only passages holding a good share of what the best one holds.
        floor = self.search_settings.min_hit_ratio * float(ranked.coverage[:1].max())
        keep = np.flatnonzero(ranked.coverage >= floor)
        if when is not None and when.order is not None:
            keep = self._by_date(ranked, keep, when.order)
        page = keep[offset : offset + limit]
        hits = tuple(self._hit(ranked, int(i), matched, asked.answer_type) for i in page)
        return SearchResult(
            question,
            tuple(terms),
            True,
            None,
            (),
            hits,
            len(keep),
            offset,
            when,
            decision.evidence,
            self.retrieval,
        )

    def _ranked(
        self,
        question: str,
        terms: Sequence[QueryTerm],
        k: int,
        allowed: NDArray[np.bool_] | None,
    ) -> Ranked:
        """Candidates from the retriever, ranked; one column per question term."""
        matched = [t for t in terms if t.df > 0]
        # Embeddings need no shared word: a paraphrase still finds its passage.
        found = None
        if matched or self.retrieval != Mode.BM25:
            found = self._retriever.candidates(question, matched, k, allowed)
        ids = found.ids if found is not None else np.zeros(0, dtype=np.int64)
        rows = np.searchsorted(self._passage_ids, ids).astype(np.intp)
        return rank(
            terms,
            sum(t.weight for t in terms),
            rows,
            found.scores if found is not None else np.zeros(0),
            self._context,
            self.search_settings.ranking(self.retrieval),
            found.similarity if found is not None else None,
        )

    def _by_date(self, ranked: Ranked, keep: NDArray[np.intp], order: str) -> NDArray[np.intp]:
        """Kept positions by source date (newest or oldest first, undated last), then rank."""
        day = self._day[ranked.rows[keep]]
        undated = day == 0
        key = np.where(undated, 0, -day if order == "latest" else day)
        return keep[np.lexsort((keep, key, undated))]

    def _not_found(
        self, asked: Question, decision: Decision, terms: Sequence[QueryTerm] | None = None
    ) -> SearchResult:
        return SearchResult(
            asked.text,
            tuple(asked.terms if terms is None else terms),
            False,
            decision.reason,
            decision.missing,
            (),
            0,
            0,
            asked.dates,
            decision.evidence,
            self.retrieval,
        )

    def _in_range(self, when: DateQuery) -> NDArray[np.bool_]:
        """Rows whose source date lies in the asked range; undated sources never do."""
        allowed = self._day > 0
        if when.start is not None:
            allowed &= self._day >= when.start.toordinal()
        if when.end is not None:
            allowed &= self._day < when.end.toordinal()
        return allowed

    def _browse(
        self, asked: Question, allowed: NDArray[np.bool_] | None, limit: int, offset: int
    ) -> SearchResult:
        """A date with nothing else asked: the opening passage of each source, by date."""
        when = asked.dates
        leads = np.flatnonzero((self._ordinals == 0) & (self._day > 0) & self._live)
        if allowed is not None:
            leads = leads[allowed[leads]]
        days = self._day[leads]
        earliest = when is not None and when.order == "earliest"
        leads = leads[np.lexsort((leads, days if earliest else -days))]
        page = leads[offset : offset + limit].tolist()
        hits = tuple(self._lead_hit(row) for row in page)
        found = bool(len(leads))
        reason = None if found else Reason.NO_DATE_MATCH
        return SearchResult(
            asked.text,
            (),
            found,
            reason,
            (),
            hits,
            len(leads),
            offset,
            when,
            retrieval=self.retrieval,
        )

    def _row(self, passage_id: int) -> int | None:
        # Passage ids ascend with the rows (checked when the index is loaded).
        row = int(np.searchsorted(self._passage_ids, passage_id))
        if row >= len(self._passage_ids) or self._passage_ids[row] != passage_id:
            return None
        return row if self._live[row] else None

    def _lead_hit(self, row: int) -> Hit:
        return self._excerpt_hit(row, 0.0, [], AnswerType.OTHER)

    def _hit(self, ranked: Ranked, i: int, matched: Sequence[QueryTerm], kind: AnswerType) -> Hit:
        return self._excerpt_hit(int(ranked.rows[i]), float(ranked.scores[i]), matched, kind)

    def _excerpt_hit(
        self, row: int, score: float, matched: Sequence[QueryTerm], kind: AnswerType
    ) -> Hit:
        source = self._source(int(self._source_of[row]))
        start, end = int(self._starts[row]), int(self._ends[row])
        content = self._content(source.id)
        groups = [(t.stems, t.weight) for t in matched]
        chosen = excerptmod.select(
            self.analyzer, content, (start, end), groups, self.search_settings.excerpt_chars, kind
        )
        words = tuple(t.word for t in matched if not t.stems.isdisjoint(chosen.passage_terms))
        text, answer = chosen.render_marked(content)
        return Hit(
            passage_id=int(self._passage_ids[row]),
            source=source,
            ordinal=int(self._ordinals[row]),
            start=start,
            end=end,
            score=score,
            matched=words,
            excerpt=text,
            excerpt_spans=chosen.spans,
            answer_span=answer,
        )

    def _content(self, source_id: int) -> str:
        text = self._content_cache.get(source_id)
        if text is None:
            text = self._store.content(source_id)
            if len(self._content_cache) > 256:
                self._content_cache.clear()
            self._content_cache[source_id] = text
        return text

    def _source(self, source_id: int) -> Source:
        source = self._source_cache.get(source_id)
        if source is None:
            source = self._store.source(source_id)
            if len(self._source_cache) > 4096:
                self._source_cache.clear()
            self._source_cache[source_id] = source
        return source


class _Vocabulary:
    """The index's terms, as question analysis asks about them."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # Indexed terms by first letter (a misspelling keeps its first letter), read when
        # a misspelling first needs them.
        self._initials: dict[str, list[str]] = {}

    @property
    def size(self) -> int:
        return self._engine.size

    def df(self, stems: frozenset[str]) -> int:
        return self._engine.df(stems)

    def near(self, stem: str) -> list[tuple[str, int]]:
        initial = stem[:1]
        terms = self._initials.get(initial)
        if terms is None:
            terms = self._engine.with_prefix(initial)
            self._initials[initial] = terms
        close = near_terms(stem, {initial: terms})
        return [(term, d) for term, d in close if self._engine.df((term,))]
