"""Question analysis, the first stage of answering: words and their forms, how informative
each is, dates, numbers, and what kind of answer is asked for."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from . import dates as datesmod
from .analyzer import Analyzer, normalize
from .dates import DateQuery
from .engine import Engine
from .language import question_language, stop_words
from .places import Places
from .weights import Informativeness

# Shorter words are not corrected: at one edit from many others, a guess would mislead.
MIN_CORRECTED_CHARS = 5


class AnswerType(StrEnum):
    """What a question asks for, read from its question word."""

    PERSON = "person"
    DATE = "date"
    PLACE = "place"
    QUANTITY = "quantity"
    REASON = "reason"
    OTHER = "other"


# The question word decides; the first one found counts. English and Spanish.
_ANSWER_TYPES: tuple[tuple[re.Pattern[str], AnswerType], ...] = (
    (
        re.compile(
            r"\b(?:how\s+(?:much|many|long|far|old|big|large|often)|what\s+(?:percentage|"
            r"number|amount|share|proportion|size|sum)|cu[aá]nt[oa]s?)\b",
            re.I,
        ),
        AnswerType.QUANTITY,
    ),
    (
        re.compile(
            r"\b(?:when|what\s+(?:year|date|day|month|time|decade|century)|which\s+(?:year|"
            r"date|day|month)|since\s+when|cu[aá]ndo)\b",
            re.I,
        ),
        AnswerType.DATE,
    ),
    (re.compile(r"\b(?:who|whom|whose|qui[eé]n(?:es)?)\b", re.I), AnswerType.PERSON),
    (
        re.compile(
            r"\b(?:where|(?:what|which)\s+(?:country|countries|city|cities|place|places|town"
            r"|towns|region|regions|state|states)|d[oó]nde)\b",
            re.I,
        ),
        AnswerType.PLACE,
    ),
    (re.compile(r"\b(?:why|how\s+come|por\s+qu[eé])\b", re.I), AnswerType.REASON),
)


# How a question is put rather than what it is about: "how much", "what happened", "what
# did they say", "is it going to". These words say what kind of answer is wanted; they are
# not words an answer needs to hold. English and Spanish.
_PHRASING = re.compile(
    r"\bhow\s+(?:much|many|long|far|old|often|big|large)\b"
    r"|\bwhat(?:'s|\s+is|\s+has|\s+had)?\s+(?:happen(?:ed|s|ing)?|going\s+on|new|up)\b"
    r"|\b(?:going|gonna)\s+to\b"
    r"|\bcu[aá]nt[oa]s?\b|\bqu[eé]\s+(?:pas[oó]|ha\s+pasado)\b",
    re.I,
)
# Verbs of saying in a question that asks what was said: the answer says it in its own words
# ("stated", "declared", "called for").
_ASKS_WHAT_WAS_SAID = re.compile(r"^\W*(?:what|how|did|does|do|qu[eé])\b", re.I)
_SAYING = re.compile(
    r"\b(?:say|says|said|saying|tell|tells|told|think|thinks|thought|dijo|dice|dijeron)\b",
    re.I,
)


def phrasing_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Where the question's wording says how it is put, not what about."""
    spans = [m.span() for m in _PHRASING.finditer(text)]
    if _ASKS_WHAT_WAS_SAID.search(text):
        spans.extend(m.span() for m in _SAYING.finditer(text))
    return tuple(sorted(spans))


class Vocabulary(Protocol):
    """What question analysis needs to know of the corpus."""

    @property
    def size(self) -> int:
        """How many passages are indexed."""
        ...

    def df(self, stems: frozenset[str]) -> int:
        """How many passages hold any of the stems."""
        ...

    def near(self, stem: str) -> list[tuple[str, int]]:
        """Indexed terms within a typing error or two of stem, with their edit distance."""
        ...


@dataclass(frozen=True)
class QueryTerm:
    """One content word of a question, with what it matches in the corpus."""

    word: str
    stems: frozenset[str]
    df: int
    # How informative the word is (rare words weigh more), on one scale whether or not
    # the corpus has it.
    weight: float
    # A number or version ("2019", "3.12"): an answer must hold it.
    number: bool = False
    # A country or its adjective (Peru/Peruvian are one term).
    place: bool = False


@dataclass(frozen=True)
class Question:
    """A question as the later stages read it."""

    text: str
    terms: tuple[QueryTerm, ...]
    answer_type: AnswerType
    # The date range or order asked for ("January 2026", "latest"), if any.
    dates: DateQuery | None = None
    # The words of the date expression, for when no source is dated so: then the date may
    # be an event the text tells of ("What did Petro say on 4 January?").
    date_terms: tuple[QueryTerm, ...] = ()
    # The language it is asked in (language.py); "" when not told.
    language: str = ""

    @property
    def weight(self) -> float:
        """The weight of every content word together."""
        return sum(t.weight for t in self.terms)


def answer_type(text: str) -> AnswerType:
    """What kind of answer a question asks for."""
    for pattern, kind in _ANSWER_TYPES:
        if pattern.search(text):
            return kind
    return AnswerType.OTHER


class QuestionAnalyzer:
    """Turns question text into a Question against one index's vocabulary."""

    def __init__(
        self,
        analyzer: Analyzer,
        vocabulary: Vocabulary,
        places: Places,
        informativeness: Informativeness,
        language: str,
    ) -> None:
        self._analyzer = analyzer
        self._vocabulary = vocabulary
        self._places = places
        self._informativeness = informativeness
        # The corpus's language; a question may be asked in another (language.py).
        self._language = language

    @classmethod
    def of_index(
        cls, analyzer: Analyzer, engine: Engine, places: Places, language: str
    ) -> QuestionAnalyzer:
        """Question analysis against the terms an index's engine holds."""
        size = engine.size
        # Index terms are about half of a text's words (stop words are the rest).
        mean_words = 2 * engine.mean_length if size else 1.0
        informativeness = Informativeness(language, size, mean_words)
        return cls(analyzer, EngineVocabulary(engine), places, informativeness, language)

    def analyze(self, text: str, newest: dt.date | None) -> Question:
        """Read a question: its content words, dates and answer type."""
        when = datesmod.parse(text, newest)
        kind = answer_type(text)
        asked = datesmod.remove(text, phrasing_spans(text))
        asked_in = question_language(self._analyzer.tokens(text), self._language, text)
        if when is None:
            terms = self.terms(asked, asked_in=asked_in)
            return Question(text, tuple(terms), kind, language=asked_in)
        rest = datesmod.remove(asked, when.spans)
        terms = self.terms(rest, drop=datesmod.FILLER, asked_in=asked_in)
        dated = " ".join(text[s:e] for s, e in when.spans)
        date_terms = [t for t in self.terms(dated) if t.stems.isdisjoint(_stems(terms))]
        return Question(text, tuple(terms), kind, when, tuple(date_terms), asked_in)

    def terms(
        self, text: str, drop: frozenset[str] = frozenset(), asked_in: str | None = None
    ) -> list[QueryTerm]:
        """The distinct content words of text, each with its forms, frequency and weight.

        asked_in: the question's language when it is not the corpus's; its stop words are
        dropped too, and a word the corpus lacks is weighed by that language's use of it.
        """
        foreign = None if asked_in in (None, self._language) else asked_in
        if foreign is not None:
            drop = drop | stop_words(foreign)
        seen: set[str] = set()
        out: list[QueryTerm] = []
        for start, end, stem in self._analyzer.term_spans(text):
            word = text[start:end]
            if stem in seen or normalize(word) in drop:
                continue
            seen.add(stem)
            number = stem[:1].isdigit()
            if not number and not self._vocabulary.df(frozenset({stem})):
                stem = self._spelling(stem) or stem
            stems = frozenset({stem} | self._places.equivalents(stem))
            df = self._vocabulary.df(stems)
            weight = self._informativeness.weight(word.lower(), df, foreign)
            place = stem in self._places.names
            out.append(QueryTerm(word, stems, df, weight, number, place))
        return out

    def _spelling(self, stem: str) -> str | None:
        """The indexed term a misspelt one most likely means ("Melanchhon"), if any.

        Country names are never corrected: one the corpus lacks is absent, not misspelt.
        """
        if stem in self._places.names:
            return None
        if stem.endswith("s") and len(stem) >= 4 and self._vocabulary.df(frozenset({stem[:-1]})):
            return stem[:-1]  # "DSMs", "1700s"
        if len(stem) < MIN_CORRECTED_CHARS:
            return None
        close = [c for c in self._vocabulary.near(stem) if c[0] not in self._places.names]
        if not close:
            return None
        # The nearest, then the most frequent: a typo is likelier of a common word.
        best = min(close, key=lambda c: (c[1], -self._vocabulary.df(frozenset({c[0]})), c[0]))
        return best[0]


def _stems(terms: Sequence[QueryTerm]) -> frozenset[str]:
    return frozenset().union(*(t.stems for t in terms))


def near_terms(stem: str, terms_by_initial: dict[str, list[str]]) -> list[tuple[str, int]]:
    """Indexed terms one typing error from stem (two for long words), same first letter."""
    distance = 1 if len(stem) < 8 else 2
    close = process.extract(
        stem,
        terms_by_initial.get(stem[0], ()),
        scorer=DamerauLevenshtein.distance,
        score_cutoff=distance,
        limit=20,
    )
    return [(str(c[0]), int(c[1])) for c in close]


class EngineVocabulary:
    """The terms an index's engine holds, as question analysis asks about them."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # Indexed terms by first letter (a misspelling keeps its first letter), read when
        # a misspelling first needs them.
        self._initials: dict[str, list[str]] = {}

    @property
    def size(self) -> int:
        """How many passages are indexed."""
        return self._engine.size

    def df(self, stems: frozenset[str]) -> int:
        """How many passages hold any of the stems."""
        return self._engine.df(stems)

    def near(self, stem: str) -> list[tuple[str, int]]:
        """Indexed terms held by a live passage within a typing error or two of stem."""
        initial = stem[:1]
        terms = self._initials.get(initial)
        if terms is None:
            terms = self._engine.with_prefix(initial)
            self._initials[initial] = terms
        close = near_terms(stem, {initial: terms})
        return [(term, d) for term, d in close if self._engine.df((term,))]
