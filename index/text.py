"""Paragraph, sentence and passage boundaries as character offsets into the source text."""

from __future__ import annotations

import re

Span = tuple[int, int]

# Words that end with a full stop without ending a sentence.
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt gen gov sen rep col lt sgt capt cmdr adm rev hon pres vs
    etc e.g i.e cf al inc ltd co corp dept univ no nos vol vols fig figs ed eds approx jan
    feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.u a.m p.m
    """.split()
)
# Double quotes only: a right single quote is also the apostrophe.
_OPENING_QUOTES = "\u201c\u00ab"
_CLOSING_QUOTES = "\u201d\u00bb"
_QUOTE_MARK_RE = re.compile(f"[{_OPENING_QUOTES}{_CLOSING_QUOTES}]")

# A sentence may end after terminal punctuation and closing quotes or brackets,
# when white space and then a capital, digit, opening quote or bracket follow.
_BOUNDARY_RE = re.compile(
    r"""(?<=[.!?\u2026])["'\u201d\u2019\u00bb)\]]*(?=\s+["'\u201c\u2018\u00ab(\[]?[^\W_a-z])"""
)
_WORD_BEFORE_RE = re.compile(r"([^\s(\[\"'\u201c\u2018]+)\.$")
_WORD_CHAR_RE = re.compile(r"[^\s(\[\"'\u201c\u2018]")
_ABBREVIATION_WINDOW = 16
_PARAGRAPH_BREAK_RE = re.compile(r"\n[ \t]*\n\s*")
_LINE_BREAK_RE = re.compile(r"\n\s*")
_HEADING_LINE_RE = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+\S.*$", re.M)
# Sentences inside an open quotation stay together unless they grow longer than this.
MAX_QUOTED_SENTENCE_CHARS = 600


def _trimmed(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def paragraphs(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Split at blank lines; a text without blank lines is split at line breaks."""
    end = len(text) if end is None else end
    body = text[start:end]
    breaker = _PARAGRAPH_BREAK_RE if _PARAGRAPH_BREAK_RE.search(body) else _LINE_BREAK_RE
    spans: list[Span] = []
    pos = start
    for match in breaker.finditer(text, start, end):
        span = _trimmed(text, pos, match.start())
        if span:
            spans.extend(_split_headings(text, *span))
        pos = match.end()
    span = _trimmed(text, pos, end)
    if span:
        spans.extend(_split_headings(text, *span))
    return spans


def _split_headings(text: str, start: int, end: int) -> list[Span]:
    """A Markdown heading line is its own paragraph."""
    spans: list[Span] = []
    pos = start
    for match in _HEADING_LINE_RE.finditer(text, start, end):
        before = _trimmed(text, pos, match.start())
        if before:
            spans.append(before)
        heading = _trimmed(text, match.start(), match.end())
        if heading:
            spans.append(heading)
        pos = match.end()
    rest = _trimmed(text, pos, end)
    if rest:
        spans.append(rest)
    return spans


def sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Split a paragraph into sentences, keeping quotations whole where reasonable."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    pos = scanned = start
    depth = 0
    for match in _BOUNDARY_RE.finditer(text, start, end):
        cut = match.end()
        depth = _quote_depth(text, scanned, cut, depth)
        scanned = cut
        if _is_abbreviation(text, pos, match.start()):
            continue
        if depth > 0 and cut - pos < MAX_QUOTED_SENTENCE_CHARS:
            continue
        span = _trimmed(text, pos, cut)
        if span:
            spans.append(span)
        pos = cut
    span = _trimmed(text, pos, end)
    if span:
        spans.append(span)
    return spans


def first_sentence_end(text: str, start: int) -> int:
    """Offset where the first sentence after start ends."""
    line_end = text.find("\n\n", start)
    end = len(text) if line_end == -1 else line_end
    found = sentences(text, start, min(end, start + 2000))
    return found[0][1] if found else end


def _quote_depth(text: str, start: int, end: int, depth: int) -> int:
    for match in _QUOTE_MARK_RE.finditer(text, start, end):
        ch = match.group()
        if ch in _OPENING_QUOTES:
            depth += 1
        elif ch in _CLOSING_QUOTES and depth > 0:
            depth -= 1
    return depth


def _is_abbreviation(text: str, sentence_start: int, period_end: int) -> bool:
    if text[period_end - 1] != ".":
        return False
    # Abbreviations are short: only the last few characters need a look.
    window = max(sentence_start, period_end - _ABBREVIATION_WINDOW)
    match = _WORD_BEFORE_RE.search(text, window, period_end)
    if not match:
        return False
    if match.start() == window > sentence_start and _WORD_CHAR_RE.match(text, window - 1):
        return False  # the word goes on before the window: too long for an abbreviation
    word = match.group(1).lower()
    if len(word) == 1 and word.isalpha():
        return True  # an initial, as in "J. Smith"
    return word in _ABBREVIATIONS or word.rstrip(".") in _ABBREVIATIONS


def passages(text: str, start: int, max_chars: int, min_chars: int) -> list[Span]:
    """Passages along paragraph boundaries; long paragraphs split at sentence boundaries."""
    pieces: list[Span] = []
    for para in paragraphs(text, start):
        if para[1] - para[0] <= max_chars:
            pieces.append(para)
            continue
        pieces.extend(_group(text, sentences(text, *para), max_chars))
    return _merge_short(pieces, max_chars, min_chars)


def _group(text: str, spans: list[Span], max_chars: int) -> list[Span]:
    groups: list[Span] = []
    for s_start, s_end in spans:
        for piece in _hard_split(text, s_start, s_end, max_chars):
            if groups and piece[1] - groups[-1][0] <= max_chars:
                groups[-1] = (groups[-1][0], piece[1])
            else:
                groups.append(piece)
    return groups


def _hard_split(text: str, start: int, end: int, max_chars: int) -> list[Span]:
    """Split a sentence longer than max_chars at white space."""
    out: list[Span] = []
    while end - start > max_chars:
        cut = text.rfind(" ", start + max_chars // 2, start + max_chars)
        if cut == -1:
            cut = start + max_chars
        span = _trimmed(text, start, cut)
        if span:
            out.append(span)
        start = cut
    span = _trimmed(text, start, end)
    if span:
        out.append(span)
    return out


def _merge_short(pieces: list[Span], max_chars: int, min_chars: int) -> list[Span]:
    """Join very short pieces (headings, slogans) to their neighbour."""
    merged: list[Span] = []
    carry: Span | None = None
    for piece in pieces:
        if carry is not None:
            if piece[1] - carry[0] <= max_chars:
                piece = (carry[0], piece[1])
            else:
                merged.append(carry)
            carry = None
        if piece[1] - piece[0] < min_chars:
            carry = piece
        else:
            merged.append(piece)
    if carry is not None:
        if (
            merged
            and carry[1] - merged[-1][0] <= max_chars
            and merged[-1][1] - merged[-1][0] < min_chars
        ):
            merged[-1] = (merged[-1][0], carry[1])
        else:
            merged.append(carry)
    return merged
