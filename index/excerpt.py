"""Choosing the sentences of a passage that answer a question, verbatim."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import text as textmod
from .analyzer import Analyzer
from .text import Span

ELLIPSIS = "…"
_QUOTE_MARKS = frozenset('\u201c\u201d\u00ab\u00bb"')


@dataclass(frozen=True)
class Excerpt:
    """Verbatim slices of a source, in source order, with where the passage was cut."""

    spans: tuple[Span, ...]
    cut_before: bool
    cut_after: bool
    # Every index term of the passage the excerpt was chosen from.
    passage_terms: frozenset[str] = frozenset()

    def render(self, source_text: str) -> str:
        """The slices joined by ellipses where text was left out."""
        parts = [source_text[s:e] for s, e in self.spans]
        out = ELLIPSIS + " " if self.cut_before else ""
        out += f" {ELLIPSIS} ".join(parts)
        return out + (" " + ELLIPSIS if self.cut_after else "")


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
) -> Excerpt:
    """The best-matching sentences of a passage within max_chars, kept in source order.

    terms holds each query term's stems (with equivalents such as Peru/Peruvian) and its
    weight; a sentence scores the weights of the distinct terms it contains.
    """
    sentences = score_sentences(analyzer, source_text, passage, terms)
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
        return _excerpt([span], passage, found)
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
    return _excerpt([sentences[i].span for i in sorted(chosen)], passage, found, source_text)


def _length(span: Span) -> int:
    return span[1] - span[0]


def score_sentences(
    analyzer: Analyzer,
    source_text: str,
    passage: Span,
    terms: Sequence[tuple[frozenset[str], float]],
) -> list[ScoredSentence]:
    out: list[ScoredSentence] = []
    for para in textmod.paragraphs(source_text, *passage):
        for span in textmod.sentences(source_text, *para):
            sentence = source_text[span[0] : span[1]]
            stems = analyzer.term_set(sentence)
            score = sum(w for group, w in terms if not group.isdisjoint(stems))
            quoted = not _QUOTE_MARKS.isdisjoint(sentence)
            out.append(ScoredSentence(span, score, quoted, sentence.startswith("#"), stems))
    return out


def _excerpt(
    spans: list[Span], passage: Span, found: frozenset[str], source_text: str | None = None
) -> Excerpt:
    merged: list[Span] = []
    for span in spans:
        if merged and source_text is not None and not source_text[merged[-1][1] : span[0]].strip():
            merged[-1] = (merged[-1][0], span[1])
        else:
            merged.append(span)
    return Excerpt(tuple(merged), merged[0][0] > passage[0], merged[-1][1] < passage[1], found)


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
