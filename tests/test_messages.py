"""Telegram HTML renderings: always parseable, always within Telegram's limits."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import render_telegram as messages
from bot.answer import Answer, Citation
from bot.views import Cited, QuoteCard, SourceItem, SourceList
from tests.telegram_html import check

TEXT = st.text(min_size=1, max_size=6000)
SOURCE = Cited("A <title> & more", dt.date(2024, 1, 2), 'https://x.example/?a=1&b="2"', "a.txt")


def citation(n: int, excerpt: str, title: str = "T", url: str | None = None) -> Citation:
    return Citation(n, title, None, "a.txt", url, excerpt, 1.0, n)


@settings(max_examples=150, deadline=None)
@given(excerpts=st.lists(TEXT, min_size=1, max_size=10), title=TEXT, url=st.none() | TEXT)
def test_answer_messages_are_valid_and_within_limits(
    excerpts: list[str], title: str, url: str | None
) -> None:
    cites = tuple(citation(i + 1, e, title, url) for i, e in enumerate(excerpts))
    answer = Answer("q", True, "x", cites, total=len(cites) + 5)
    out = messages.answer_messages(answer)
    assert out
    for text in out:
        assert messages.utf16_len(text) <= messages.MESSAGE_LIMIT
        check(text)
    shown = "\n".join(check(t) for t in out)
    for c in cites:
        assert f"[{c.n}]" in shown


@settings(max_examples=100, deadline=None)
@given(text=TEXT)
def test_not_found_and_quotes_and_passages_are_valid(text: str) -> None:
    check(messages.answer_messages(Answer(text, False, "None mentions " + text, ()))[0])
    quote = QuoteCard(1, text, SOURCE)
    for rendered in messages.quote_messages([quote, quote]):
        check(rendered)
    check(messages.passage_messages(QuoteCard(1, text, SOURCE))[0])
    assert len(messages.inline_title(QuoteCard(1, text, SOURCE, len(text) // 2))) <= 100
    assert len(messages.inline_description(quote)) <= 200


def test_link_and_escapes() -> None:
    html = messages.citation_block(
        citation(1, "a < b & c > d", "T & <b>", "https://x.example/?a=1&b=2")
    )
    assert html.startswith("<blockquote>a &lt; b &amp; c &gt; d</blockquote>")
    assert '<a href="https://x.example/?a=1&amp;b=2">T &amp; &lt;b&gt;</a>' in html
    assert "javascript" not in messages.citation_block(citation(1, "x", "T", "javascript:alert(1)"))


def test_trim_cuts_at_a_sentence_end() -> None:
    text = "First sentence here. Second one is here. " + "word " * 2000
    cut = messages.trim(text, 70)
    assert cut == "First sentence here. Second one is here. …"
    assert messages.trim("short", 100) == "short"


def test_long_answers_split_between_citations() -> None:
    cites = tuple(citation(i, "Sentence. " * 300) for i in range(1, 6))
    out = messages.answer_messages(Answer("q", True, "x", cites, total=5))
    assert len(out) >= 2
    assert all(t.count("<blockquote>") == t.count("</blockquote>") for t in out)


def test_sources_are_pages_of_one_message_each() -> None:
    sources = [SourceItem(f"{i}.txt", "Title " * 10, None, None, 2) for i in range(500)]
    skipped = (("a.bin", "binary"), ("b.bin", "binary"), ("c.bin", "binary"))
    pages = messages.sources_pages(SourceList(tuple(sources), skipped))
    assert len(pages) == 25  # 20 sources a page
    for n, page in enumerate(pages, 1):
        assert messages.utf16_len(page) <= messages.MESSAGE_LIMIT
        shown = check(page)
        assert shown.startswith(f"500 indexed source(s) · page {n} of 25\n")
        assert shown.count("\n• ") == 20
    assert "3 file(s) were skipped" in check(pages[-1])
    assert all("skipped" not in check(p) for p in pages[:-1])
    [single] = messages.sources_pages(SourceList(tuple(sources[:3])))
    assert check(single).startswith("3 indexed source(s)\n")
    long_titles = [SourceItem(f"{i}.txt", "Title " * 60, None, None, 2) for i in range(100)]
    pages = messages.sources_pages(SourceList(tuple(long_titles)))
    assert all(messages.utf16_len(p) <= messages.MESSAGE_LIMIT for p in pages)
    assert sum(check(p).count("\n• ") for p in pages) == 100


def test_long_links_make_pages_shorter_not_longer() -> None:
    url = "https://x.example/?" + "&" * 1000  # escaped, 5,000 characters
    sources = tuple(SourceItem(f"{i}.txt", "T", None, url[: 20 + i], 1) for i in range(60))
    pages = messages.sources_pages(SourceList(sources))
    assert all(messages.utf16_len(p) <= messages.MESSAGE_LIMIT for p in pages)
    assert sum(check(p).count("• ") for p in pages) == 60


def test_a_url_of_2000_ampersands_leaves_the_excerpt_whole() -> None:
    url = "https://x.example/?" + "&" * 2000
    html = messages.citation_block(citation(1, "The tide rose over the pier.", "Tides", url))
    assert html.startswith("<blockquote>The tide rose over the pier.</blockquote>")
    assert "<a " not in html
    check(html)


@pytest.mark.parametrize(
    ("title", "url", "linked"),
    [
        ("Rain report", "https://news.example/rain", True),
        ("https://telegram.org/login", "https://evil.example/login", False),
        ("Read it at www.telegram.org today", "https://evil.example/", False),
        ("telegram.org", "https://evil.example/", False),
        ("https://telegram.org/login", "https://telegram.org/login?from=bot", True),
        ("www.news.example", "https://news.example/a", True),
        ("U.S. election results", "https://news.example/us", True),
        ("Rain report", "https:///no-host", False),
        ("Rain report", "http://", False),
        ("Rain report", "https://news.example/a b", False),
        ("Rain report", "ftp://news.example/rain", False),
        ("Rain report", "https://[::1/", False),
    ],
)
def test_links_are_only_drawn_when_they_lead_where_they_say(
    title: str, url: str, linked: bool
) -> None:
    html = messages.citation_block(citation(1, "x", title, url))
    assert ("<a href=" in html) is linked
    check(html)


def test_trim_counts_as_telegram_does() -> None:
    """Telegram counts UTF-16 units: 3,000 emoji are 6,000 of them, cut to fit 4,096."""
    cut = messages.trim("😀 " * 3000, messages.MESSAGE_LIMIT)
    assert messages.utf16_len(cut) <= messages.MESSAGE_LIMIT
    assert cut.endswith(" …")
    assert len(cut) > 1000
