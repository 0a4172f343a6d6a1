"""Answering a question from a built index, one stage after another:

question analysis (question.py) → candidates (retrieval.py) → ranking (ranking.py) →
answerability (answerability.py) → excerpts (excerpt.py, cited by citations.py). This module
opens the index and runs the stages in that order, once per question; the question's dates
narrow the passages searched (date_scope.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from . import embedding
from .analyzer import Analyzer
from .answerability import NOTHING, Decision, Evidence, Reason, decide
from .citations import Citations, Hit
from .context import DocumentContext
from .date_scope import Scope, by_date, leads, scope
from .dates import DateQuery
from .embedding import Embedder
from .engine import ENGINES, open_engine
from .errors import ConfigurationError
from .passages import Passages, PassageText
from .places import Places
from .question import QueryTerm, Question, QuestionAnalyzer
from .ranking import Ranked, RankingSettings, rank
from .retrieval import Bm25Retriever, DenseRetriever, HybridRetriever, Mode, Retriever
from .store import IndexSettings, Source, Store
from .vectors import live_vectors


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
        share = "must be between 0 and 1"
        checks = {
            "k1": (self.k1 >= 0, "must be at least 0"),
            "b": (0 <= self.b <= 1, share),
            "excerpt_chars": (self.excerpt_chars >= 40, "must be at least 40"),
            "min_answerability": (0 <= self.min_answerability <= 1, share),
            "min_hit_ratio": (0 <= self.min_hit_ratio <= 1, share),
            "context_weight": (0 <= self.context_weight <= 1, share),
            "coverage_weight": (self.coverage_weight >= 0, "must be at least 0"),
            "dense_weight": (0 <= self.dense_weight <= 1, share),
        }
        for key, (ok, rule) in checks.items():
            if not ok:
                raise ConfigurationError(f"retrieval.{key}: {rule}")


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
        self._engine = open_engine(
            store.parts, store.vocabulary, search.engine, k1=search.k1, b=search.b
        )
        self._passages = Passages(store, self._engine.live)
        self.retrieval, self.retrieval_note = Mode.BM25, ""
        self._retriever = self._open_retriever(embedder)
        self._context = DocumentContext(
            self._passages.ordinals, self._engine.holds, self._engine.title_holds
        )
        self._questions = QuestionAnalyzer.of_index(
            self.analyzer, self._engine, self._places, settings.analyzer.language
        )
        self._citations = Citations(self.analyzer, self._passages, search.excerpt_chars)
        self.newest: dt.date | None = store.newest

    def _open_retriever(self, embedder: Embedder | None) -> Retriever:
        """The retriever of the configured mode; BM25 alone, and why, in retrieval_note, when
        the embeddings cannot be used."""
        search, ids = self.search_settings, self._passages.ids
        bm25 = self._bm25 = Bm25Retriever(self._engine, ids)
        self._embedder: Embedder | None = None
        if search.retrieval == Mode.BM25:
            return bm25
        if embedder is None:
            embedder, self.retrieval_note = embedding.load(search.embedding_model)
            if embedder is None:
                return bm25
        self._embedder = embedder
        rows = np.flatnonzero(self._passages.live).astype(np.intp)
        vectors = live_vectors(self._store, embedder, ids[rows])
        if isinstance(vectors, str):
            self.retrieval_note = vectors
            return bm25
        dense = DenseRetriever(embedder, ids, vectors, rows)
        self.retrieval = Mode(search.retrieval)
        if self.retrieval == Mode.HYBRID:
            return HybridRetriever(bm25, dense, ids, search.dense_weight)
        return dense

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
        return self._places.most_mentioned(self._engine.df, limit)

    @property
    def passage_count(self) -> int:
        """How many passages are indexed."""
        return self._engine.size

    @property
    def engine(self) -> str:
        """The BM25 scorer answering: "rank-bm25" or "sparse"."""
        return self._engine.name

    def segments(self) -> list[tuple[int, int]]:
        """Each segment file's rows and how many of them are deleted, oldest first."""
        return [(part.segment.size, len(part.deleted)) for part in self._store.parts]

    def sources(self) -> list[Source]:
        """The indexed sources, in path order."""
        return self._store.sources()

    def skipped(self) -> list[tuple[str, str]]:
        """Files the last build skipped, with their reasons."""
        return [(s.path, s.reason) for s in self._store.skipped()]

    def passage(self, passage_id: int) -> PassageText | None:
        """A whole passage, or None when the id is not in this index."""
        return self._passages.passage(passage_id)

    def source_passages(self, source_id: int) -> list[int]:
        """Ids of a source's passages, in reading order."""
        return self._passages.of_source(source_id)

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
        searched = scope(asked, self._passages.days)
        if not searched.terms:
            if searched.date_only:
                return self._not_found(asked, Decision(False, NOTHING, Reason.NO_DATE_MATCH))
            if asked.dates is not None:
                return self._browse(asked, searched.allowed, limit, offset)
            return self._not_found(asked, Decision(False, NOTHING, Reason.NO_TERMS))
        mode = self._mode(asked)
        ranked = self._ranked(question, searched, max(CANDIDATES, offset + limit), mode)
        decision = decide(searched.terms, ranked, threshold)
        if not decision.found:
            if searched.date_only or (searched.allowed is not None and not len(ranked)):
                decision = Decision(False, decision.evidence, Reason.NO_DATE_MATCH)
            return self._not_found(asked, decision, searched, mode)
        return self._found(asked, searched, ranked, decision, limit, offset, mode)

    def _mode(self, asked: Question) -> Mode:
        """How this question is answered: BM25 alone when the embedding model does not
        know the language it is asked in (an English model places a Spanish question
        nowhere near its passages), else the index's mode."""
        embedder = self._embedder
        if embedder is not None and asked.language and not embedder.understands(asked.language):
            return Mode.BM25
        return self.retrieval

    def _ranked(self, question: str, searched: Scope, k: int, mode: Mode) -> Ranked:
        """Candidates from the retriever, ranked; one column per question term."""
        terms = searched.terms
        matched = [t for t in terms if t.df > 0]
        retriever = self._bm25 if mode == Mode.BM25 else self._retriever
        # Embeddings need no shared word: a paraphrase still finds its passage.
        found = None
        if matched or mode != Mode.BM25:
            found = retriever.candidates(question, matched, k, searched.allowed)
        ids = found.ids if found is not None else np.zeros(0, dtype=np.int64)
        rows = np.searchsorted(self._passages.ids, ids).astype(np.intp)
        return rank(
            terms,
            sum(t.weight for t in terms),
            rows,
            found.scores if found is not None else np.zeros(0),
            self._context,
            self.search_settings.ranking(mode),
            found.similarity if found is not None else None,
        )

    def _found(
        self,
        asked: Question,
        searched: Scope,
        ranked: Ranked,
        decision: Decision,
        limit: int,
        offset: int,
        mode: Mode,
    ) -> SearchResult:
        """One page of the ranked passages worth citing, by date when the question asks."""
        # Cite only passages holding a good share of what the best one holds.
        floor = self.search_settings.min_hit_ratio * float(ranked.coverage[:1].max())
        keep = np.flatnonzero(ranked.coverage >= floor)
        when = asked.dates
        if when is not None and when.order is not None:
            keep = by_date(self._passages.days, ranked.rows, keep, when.order)
        matched = [t for t in searched.terms if t.df > 0]
        hits = tuple(
            self._citations.hit(
                int(ranked.rows[i]), float(ranked.scores[i]), matched, asked.answer_type
            )
            for i in keep[offset : offset + limit].tolist()
        )
        return SearchResult(
            asked.text,
            searched.terms,
            True,
            None,
            (),
            hits,
            len(keep),
            offset,
            when,
            decision.evidence,
            mode,
        )

    def _not_found(
        self,
        asked: Question,
        decision: Decision,
        searched: Scope | None = None,
        mode: Mode | None = None,
    ) -> SearchResult:
        return SearchResult(
            asked.text,
            asked.terms if searched is None else searched.terms,
            False,
            decision.reason,
            decision.missing,
            (),
            0,
            0,
            asked.dates,
            decision.evidence,
            mode or self.retrieval,
        )

    def _browse(
        self, asked: Question, allowed: NDArray[np.bool_] | None, limit: int, offset: int
    ) -> SearchResult:
        """A date with nothing else asked: the opening passage of each source, by date."""
        when = asked.dates
        found = leads(self._passages, allowed, when.order if when is not None else None)
        page = found[offset : offset + limit].tolist()
        hits = tuple(self._citations.hit(row, 0.0) for row in page)
        return SearchResult(
            asked.text,
            (),
            bool(len(found)),
            None if len(found) else Reason.NO_DATE_MATCH,
            (),
            hits,
            len(found),
            offset,
            when,
            retrieval=self.retrieval,
        )
