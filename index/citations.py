"""Citing a passage: its source and place, the question words it holds, and the excerpt
stage's verbatim sentences and answer span (excerpt.py), as one Hit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import excerpt
from .analyzer import Analyzer
from .passages import Passages
from .question import AnswerType, QueryTerm
from .store import Source


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


class Citations:
    """Hits made from passage rows, with excerpts of at most excerpt_chars."""

    def __init__(self, analyzer: Analyzer, passages: Passages, excerpt_chars: int) -> None:
        self._analyzer = analyzer
        self._passages = passages
        self._excerpt_chars = excerpt_chars

    def hit(
        self,
        row: int,
        score: float,
        matched: Sequence[QueryTerm] = (),
        kind: AnswerType = AnswerType.OTHER,
    ) -> Hit:
        """The row's passage cited for the question terms it matched (none: its opening)."""
        source = self._passages.source(row)
        start, end = self._passages.span(row)
        content = self._passages.content(source.id)
        groups = [(t.stems, t.weight) for t in matched]
        chosen = excerpt.select(
            self._analyzer, content, (start, end), groups, self._excerpt_chars, kind
        )
        words = tuple(t.word for t in matched if not t.stems.isdisjoint(chosen.passage_terms))
        text, answer = chosen.render_marked(content)
        return Hit(
            passage_id=int(self._passages.ids[row]),
            source=source,
            ordinal=int(self._passages.ordinals[row]),
            start=start,
            end=end,
            score=score,
            matched=words,
            excerpt=text,
            excerpt_spans=chosen.spans,
            answer_span=answer,
        )
