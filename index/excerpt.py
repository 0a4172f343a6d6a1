"""Choosing the sentences of a passage that answer a question, verbatim.

A sentence scores the informative question words it holds; one that also holds what the
question asks for (a person for "who", a date for "when", a place, a quantity, a reason)
and says something beyond the question's own words scores more: "Who did the minister
meet in Lima?" is answered by the sentence listing whom she met, not by "the minister
arrived in Lima".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from . import text as textmod
from .analyzer import Analyzer
from .question import AnswerType
from .text import Span

ELLIPSIS = "…"
# The marks that open or close quoted speech (also read by quotes.py).
QUOTE_MARKS = frozenset('\u201c\u201d\u00ab\u00bb"')
# A sentence that holds what the question asks for gains this much (on the scale of the
# share of the question's weight it holds, 0 to 1).
TYPE_BONUS = 0.3
# A sentence saying this many index terms the question lacks counts as fully new.
NEW_TERMS_FOR_FULL_CREDIT = 6
NEW_TERMS_BONUS = 0.1
# A question word found in an earlier sentence of the passage counts this much: "The
# minister arrived in Lima. She met the mayor." answers whom the minister met in Lima.
EARLIER_SENTENCE_WEIGHT = 0.5

_MONTHS = (
    r"january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec|enero|febrero|marzo|abril|mayo|junio"
    r"|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre"
)
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty"
    r"|fifty|hundred|thousand|million|billion|trillion|dozen|half|percent|per\s+cent"
    r"|uno|una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|cien|mil|millones|millón"
)
# A capitalised word that is not a day or a month.
_CAPITALISED = (
    rf"\b(?!(?i:{_MONTHS}|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b)"
    r"[A-ZÁÉÍÓÚÑ][\w'’-]+"
)
_TYPE_PATTERNS: dict[AnswerType, re.Pattern[str]] = {
    AnswerType.QUANTITY: re.compile(rf"\d|[$€£¥%]|\b(?:{_NUMBER_WORDS})\b", re.I),
    AnswerType.DATE: re.compile(
        rf"\b(?:{_MONTHS})\b\.?|\b(?:1[5-9]\d\d|20\d\d)s?\b|\b(?:monday|tuesday|wednesday"
        r"|thursday|friday|saturday|sunday|yesterday|today|tomorrow|tonight|century|decade"
        r"|lunes|martes|miércoles|jueves|viernes|sábado|domingo|ayer|hoy)\b|\d{1,2}/\d{1,2}",
        re.I,
    ),
    AnswerType.PERSON: re.compile(_CAPITALISED),
    AnswerType.PLACE: re.compile(
        r"\b(?:in|at|from|near|to|across|en|desde|hacia)\s+(?:the\s+)?[A-ZÁÉÍÓÚÑ][\w'’-]+"
    ),
    AnswerType.REASON: re.compile(
        r"\b(?:because|due\s+to|owing\s+to|as\s+a\s+result|in\s+order\s+to|so\s+that|"
        r"thanks\s+to|since|caused|causes|reason|porque|debido|ya\s+que|para\s+que)\b",
        re.I,
    ),
}


@dataclass(frozen=True)
class Excerpt:
    """Verbatim slices of a source, in source order, with where the passage was cut."""

    spans: tuple[Span, ...]
    cut_before: bool
    cut_after: bool
    # Every index term of the passage the excerpt was chosen from.
    passage_terms: frozenset[str] = frozenset()
    # The sentence that answers best (source offsets), inside one of the spans.
    answer: Span | None = None

    def render(self, source_text: str) -> str:
        """The slices joined by ellipses where text was left out."""
        return self.render_marked(source_text)[0]

    def render_marked(self, source_text: str) -> tuple[str, Span | None]:
        """The rendered excerpt and where the answering sentence is in it."""
        out = ELLIPSIS + " " if self.cut_before else ""
        marked: Span | None = None
        for i, (start, end) in enumerate(self.spans):
            if i:
                out += f" {ELLIPSIS} "
            if self.answer is not None and start <= self.answer[0] < self.answer[1] <= end:
                at = len(out) + self.answer[0] - start
                marked = (at, at + self.answer[1] - self.answer[0])
            out += source_text[start:end]
        return out + (" " + ELLIPSIS if self.cut_after else ""), marked


@dataclass(frozen=True)
class ScoredSentence:
    span: Span
    score: float
    quoted: bool
    # A Markdown heading names the topic; the sentences under it say something about it.
    heading: bool = False
    terms: frozenset[str] = frozenset()


def select(
    analyzer: Analyzer,
    source_text: str,
    passage: Span,
    terms: Sequence[tuple[frozenset[str], float]],
    max_chars: int,
    kind: AnswerType = AnswerType.OTHER,
) -> Excerpt:
    """The best-answering sentences of a passage within max_chars, kept in source order.

    terms holds each query term's stems (with equivalents such as Peru/Peruvian) and its
    weight; kind is what the question asks for.
    """
    sentences = score_sentences(analyzer, source_text, passage, terms, kind)
    if not sentences:
        return Excerpt((passage,), False, False)
    found = frozenset().union(*(s.terms for s in sentences))
    ranked = sorted(
        (i for i, s in enumerate(sentences) if s.score > 0),
        key=lambda i: (sentences[i].heading, -sentences[i].score, not sentences[i].quoted, i),
    )
    if not ranked:
        ranked = [0]
    best = ranked[0]
    chosen = {best}
    used = _length(sentences[best].span)
    if used > max_chars:
        stems = frozenset().union(*(group for group, _ in terms))
        span = _window(analyzer, source_text, sentences[best].span, stems, max_chars)
        return _excerpt([span], passage, found, answer=span)
    for i in ranked[1:]:
        if sentences[i].heading:
            continue
        length = _length(sentences[i].span) + 1
        if used + length <= max_chars:
            chosen.add(i)
            used += length
    # Room left: the sentence after the best one often carries what it introduces.
    for i in (best + 1, best - 1):
        if 0 <= i < len(sentences) and i not in chosen and not sentences[i].heading:
            length = _length(sentences[i].span) + 1
            if used + length <= max_chars:
                chosen.add(i)
                used += length
    spans = [sentences[i].span for i in sorted(chosen)]
    return _excerpt(spans, passage, found, source_text, sentences[best].span)


def _length(span: Span) -> int:
    return span[1] - span[0]


def score_sentences(
    analyzer: Analyzer,
    source_text: str,
    passage: Span,
    terms: Sequence[tuple[frozenset[str], float]],
    kind: AnswerType = AnswerType.OTHER,
) -> list[ScoredSentence]:
    """Every sentence of the passage with its score for the question."""
    total = sum(w for _, w in terms) or 1.0
    asked = frozenset().union(*(group for group, _ in terms))
    pattern = _TYPE_PATTERNS.get(kind)
    out: list[ScoredSentence] = []
    earlier: set[str] = set()
    for para in textmod.paragraphs(source_text, *passage):
        for span in textmod.sentences(source_text, *para):
            sentence = source_text[span[0] : span[1]]
            stems = analyzer.term_set(sentence)
            share = sum(w for group, w in terms if not group.isdisjoint(stems)) / total
            score = share
            if share > 0:
                score += (
                    EARLIER_SENTENCE_WEIGHT
                    * sum(
                        w
                        for group, w in terms
                        if group.isdisjoint(stems) and not group.isdisjoint(earlier)
                    )
                    / total
                )
            earlier |= stems
            if share > 0:
                new = len(stems - asked)
                score += NEW_TERMS_BONUS * min(1.0, new / NEW_TERMS_FOR_FULL_CREDIT)
                if pattern is not None and _holds(pattern, sentence, asked, analyzer):
                    score += TYPE_BONUS
            quoted = not QUOTE_MARKS.isdisjoint(sentence)
            out.append(ScoredSentence(span, score, quoted, sentence.startswith("#"), stems))
    return out


def _holds(
    pattern: re.Pattern[str], sentence: str, asked: frozenset[str], analyzer: Analyzer
) -> bool:
    """Whether the sentence holds an answer of the kind asked, beyond the question's words."""
    for match in pattern.finditer(sentence):
        if match.start() == 0 and pattern is _TYPE_PATTERNS[AnswerType.PERSON]:
            continue  # a sentence's first word is capitalised anyway
        words = analyzer.term_set(match.group())
        if not words or not words <= asked:
            return True
    return False


def _excerpt(
    spans: list[Span],
    passage: Span,
    found: frozenset[str],
    source_text: str | None = None,
    answer: Span | None = None,
) -> Excerpt:
    merged: list[Span] = []
    for span in spans:
        if merged and source_text is not None and not source_text[merged[-1][1] : span[0]].strip():
            merged[-1] = (merged[-1][0], span[1])
        else:
            merged.append(span)
    return Excerpt(
        tuple(merged), merged[0][0] > passage[0], merged[-1][1] < passage[1], found, answer
    )


def _window(
    analyzer: Analyzer, source_text: str, span: Span, stems: frozenset[str], max_chars: int
) -> Span:
    """A part of an over-long sentence around its first matching word, cut at spaces."""
    start, end = span
    sentence = source_text[start:end]
    anchor = next((s for s, _, stem in analyzer.term_spans(sentence) if stem in stems), 0)
    lo = max(0, anchor - max_chars // 3)
    if lo > 0:
        space = sentence.find(" ", lo)
        lo = space + 1 if 0 <= space < anchor else lo
    hi = min(len(sentence), lo + max_chars)
    if hi < len(sentence):
        space = sentence.rfind(" ", lo, hi)
        hi = space if space > anchor else hi
    return (start + lo, start + hi)
