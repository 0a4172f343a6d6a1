"""Verbatim quotes: the sentences that best match some words, or an exact phrase."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import text as textmod
from .analyzer import fold_map
from .excerpt import QUOTE_MARKS, score_sentences
from .search import NO_MATCH, NO_TERMS, Index, SearchResult
from .store import Source

# Opening and closing marks that make a /quote argument an exact phrase.
_PHRASE_RE = re.compile(r"""^\s*["“”«»„'‘’](.+?)["“”«»„'‘’]\s*$""", re.S)
_CANDIDATES = 50


@dataclass(frozen=True)
class Quote:
    """One verbatim sentence (or run of sentences) from a source."""

    passage_id: int
    source: Source
    text: str
    quoted_speech: bool
    # Offset in text of the first word that matched, to show a long quote from there.
    focus: int = 0
    # The page the quote starts on, for sources with pages (PDF).
    page: int | None = None


@dataclass(frozen=True)
class QuoteResult:
    """The quotes found for a request, or why there are none."""

    query: str
    exact: bool
    quotes: tuple[Quote, ...]
    reason: str | None


def exact_phrase(query: str) -> str | None:
    """The phrase inside quotation marks, when the whole query is quoted."""
    match = _PHRASE_RE.match(query)
    return " ".join(match.group(1).split()) if match and match.group(1).strip() else None


def find_quotes(index: Index, query: str, limit: int = 5) -> QuoteResult:
    """Quotes for words (quoted speech preferred) or for an exact "phrase"."""
    phrase = exact_phrase(query)
    if phrase is not None:
        return _phrase_quotes(index, query, phrase, limit)
    result = index.search(query, limit=_CANDIDATES)
    if not result.found:
        return QuoteResult(query, False, (), result.reason)
    terms = [(t.stems, t.weight) for t in result.terms if t.df > 0]
    ranked: list[tuple[tuple[float, ...], Quote]] = []
    for rank, hit in enumerate(result.hits):
        passage = index.passage(hit.passage_id)
        if passage is None:
            continue
        sentences = score_sentences(index.analyzer, passage.text, (0, len(passage.text)), terms)
        best = max(
            (s for s in sentences if s.score > 0),
            key=lambda s: (s.quoted, s.score),
            default=None,
        )
        if best is None:
            continue
        sentence = passage.text[best.span[0] : best.span[1]]
        stems = frozenset().union(*(group for group, _ in terms))
        focus = next((s for s, _, stem in index.analyzer.term_spans(sentence) if stem in stems), 0)
        page = hit.source.page_at(hit.start + best.span[0])
        quote = Quote(hit.passage_id, hit.source, sentence, best.quoted, focus, page)
        ranked.append(((-float(best.quoted), -best.score, float(rank)), quote))
    ranked.sort(key=lambda item: item[0])
    quotes = tuple(q for _, q in ranked[:limit])
    return QuoteResult(query, False, quotes, None if quotes else NO_MATCH)


def _phrase_quotes(index: Index, query: str, phrase: str, limit: int) -> QuoteResult:
    # The literal match below is the test here: a phrase is not a question, so the
    # answerability threshold, fitted on questions, does not apply.
    result: SearchResult = index.search(phrase, limit=_CANDIDATES, min_answerability=0.0)
    if not result.found:
        return QuoteResult(query, True, (), result.reason or NO_MATCH)
    folded_phrase, _ = fold_map(phrase)
    words = folded_phrase.split()
    if not words:
        return QuoteResult(query, True, (), NO_TERMS)
    pattern = re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)")
    quotes: list[Quote] = []
    for hit in result.hits:
        passage = index.passage(hit.passage_id)
        if passage is None:
            continue
        folded, offsets = fold_map(passage.text)
        match = pattern.search(folded)
        if match is None:
            continue
        start, end = offsets[match.start()], offsets[match.end()]
        span = _covering_sentences(passage.text, start, end)
        sentence = passage.text[span[0] : span[1]]
        quoted = any(c in QUOTE_MARKS for c in sentence)
        page = hit.source.page_at(hit.start + span[0])
        quotes.append(Quote(hit.passage_id, hit.source, sentence, quoted, start - span[0], page))
        if len(quotes) >= limit:
            break
    return QuoteResult(query, True, tuple(quotes), None if quotes else NO_MATCH)


def _covering_sentences(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of the sentences that hold text[start:end]."""
    lo, hi = start, end
    for para in textmod.paragraphs(text):
        for s, e in textmod.sentences(text, *para):
            if s <= start < e or s < end <= e:
                lo, hi = min(lo, s), max(hi, e)
    return lo, hi


def notable_quotes(index: Index, limit: int = 5) -> tuple[Quote, ...]:
    """Quoted speech from the newest sources first, one per passage."""
    sources = sorted(
        index.sources(), key=lambda s: (s.date is None, -(s.date.toordinal() if s.date else 0))
    )
    quotes: list[Quote] = []
    for source in sources:
        for passage_id in index.source_passages(source.id):
            passage = index.passage(passage_id)
            if passage is None:
                continue
            for para in textmod.paragraphs(passage.text):
                sentence = next(
                    (
                        passage.text[s:e]
                        for s, e in textmod.sentences(passage.text, *para)
                        if any(c in QUOTE_MARKS for c in passage.text[s:e])
                    ),
                    None,
                )
                if sentence is not None:
                    quotes.append(Quote(passage_id, source, sentence, True))
                    break
            if len(quotes) >= limit:
                return tuple(quotes)
    return tuple(quotes)
