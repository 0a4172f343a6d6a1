"""The answer as plain data: composed from a search, rendered elsewhere."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from index import MISSING_NAME, NO_DATE_MATCH, NO_TERMS, Hit, Index, Reason, SearchResult

NOT_FOUND = "The sources do not answer this question."
NO_WORDS = "Please ask with a few words that could appear in the sources."


@dataclass(frozen=True)
class Citation:
    """One numbered source excerpt backing an answer."""

    n: int
    title: str
    date: dt.date | None
    source: str
    url: str | None
    excerpt: str
    score: float
    passage_id: int
    # Where the answering sentence is in excerpt, as [start, end) offsets.
    answer_span: tuple[int, int] | None = None
    # The page the excerpt starts on, for sources with pages (PDF); None otherwise.
    page: int | None = None
    # Where the passage and the excerpt's pieces are in the source's text, as [start, end)
    # offsets: they outlive the passage id, which a reindex may change.
    passage_span: tuple[int, int] | None = None
    excerpt_spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Answer:
    """A question, whether the sources answer it, and the citations that do."""

    question: str
    found: bool
    text: str
    citations: tuple[Citation, ...]
    total: int = 0
    offset: int = 0
    # The answerability model's probability that the sources answer the question.
    answerability: float = 0.0
    # Why the sources do not answer it, when they do not.
    reason: Reason | None = None
    # Which retrieval answered: "hybrid", "dense" or "bm25".
    retrieval: str = "bm25"

    @property
    def has_more(self) -> bool:
        """Whether more citations follow this page."""
        return self.offset + len(self.citations) < self.total


def compose(result: SearchResult) -> Answer:
    """Turn a search result into an answer with numbered citations."""
    if not result.found:
        return Answer(
            result.question,
            False,
            _not_found_text(result),
            (),
            answerability=result.confidence,
            reason=result.reason,
            retrieval=result.retrieval,
        )
    if not result.hits:  # a page past the last citation
        return Answer(
            result.question,
            True,
            "",
            (),
            result.total,
            result.offset,
            answerability=result.confidence,
            retrieval=result.retrieval,
        )
    citations = tuple(_citation(result.offset + i + 1, hit) for i, hit in enumerate(result.hits))
    lead = citations[0]
    text = f"{lead.excerpt} [{lead.n}]"
    return Answer(
        result.question,
        True,
        text,
        citations,
        result.total,
        result.offset,
        answerability=result.confidence,
        retrieval=result.retrieval,
    )


def _citation(n: int, hit: Hit) -> Citation:
    """Citation n of an answer, from the search hit it shows."""
    return Citation(
        n=n,
        title=hit.source.title,
        date=hit.source.date,
        source=hit.source.path,
        url=hit.source.url,
        excerpt=hit.excerpt,
        score=hit.score,
        passage_id=hit.passage_id,
        answer_span=hit.answer_span,
        page=hit.source.page_at(hit.excerpt_spans[0][0] if hit.excerpt_spans else hit.start),
        passage_span=(hit.start, hit.end),
        excerpt_spans=hit.excerpt_spans,
    )


def ask(index: Index, question: str, limit: int = 3, offset: int = 0) -> Answer:
    """Search the index and compose the answer."""
    return compose(index.search(question, limit=limit, offset=offset))


def _not_found_text(result: SearchResult) -> str:
    if result.reason == NO_TERMS:
        return NO_WORDS
    if result.reason == NO_DATE_MATCH and result.dates is not None:
        return (
            f"No source is dated {result.dates.label or 'so'}; undated sources never match a date."
        )
    if result.reason == MISSING_NAME and result.missing:
        names = ", ".join(f"“{m}”" for m in result.missing)
        return f"{NOT_FOUND} None of the sources mentions {names}."
    return NOT_FOUND
