"""The Telegram renderer: views as HTML messages within Telegram's limits.

Answers, quote cards, passages, source lists, reindex reports, help and /stats. Every piece
of source and user text is escaped here; nothing here reads an index object.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from html import escape
from urllib.parse import urlsplit

from index import ELLIPSIS

from .answer import Answer, Citation
from .feedback import COMPLAINT_LABELS, Stats
from .views import (
    Cited,
    QuoteCard,
    ReindexReport,
    ReindexStatus,
    SourceList,
    date_label,
    page_label,
)

MESSAGE_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
INLINE_RESULTS_LIMIT = 50
INLINE_TITLE_CHARS = 100
INLINE_DESCRIPTION_CHARS = 200
LINK_HREF_CHARS = 1024
SOURCES_PER_PAGE = 20
_SENTENCE_END_RE = re.compile(r"[.!?…][\"'”’»)\]]*\s")
# Something a reader takes for an address: a scheme, www., or a whole title like example.org.
_URL_IN_TEXT_RE = re.compile(r"[a-z][a-z0-9+.-]*://\S*|\bwww\.\S+", re.IGNORECASE)
_BARE_DOMAIN_RE = re.compile(r"(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/\S*)?", re.IGNORECASE)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it, in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def trim(text: str, limit: int) -> str:
    """Text cut to at most limit UTF-16 units, at a sentence end if one is near, else a space."""
    if utf16_len(text) <= limit:
        return text
    if limit < 3:
        return ELLIPSIS
    budget = limit - 2  # room for " …"
    cut = text[:budget]
    while utf16_len(cut) > budget:
        cut = cut[:-1]
    ends = [m.end() for m in _SENTENCE_END_RE.finditer(cut)]
    if ends and ends[-1] > budget // 2:
        cut = cut[: ends[-1]]
    elif " " in cut[budget // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip() + " " + ELLIPSIS


def html_text(text: str) -> str:
    """Plain text escaped for Telegram HTML."""
    return escape(text, quote=False)


def citation_block(c: Citation) -> str:
    """One citation as a quote block with its numbered source line."""
    cited = Cited(c.title, c.date, c.url, c.source, c.page)
    return _excerpt_block(c.excerpt, cited, c.n, c.answer_span)


def quote_block(card: QuoteCard, n: int | None = None) -> str:
    """A verbatim quote with its citation, numbered when n is given."""
    return _excerpt_block(card.text, card.cited, n)


def _excerpt_block(
    text: str, cited: Cited, n: int | None, span: tuple[int, int] | None = None
) -> str:
    """An excerpt as a quote block (its answering sentence in bold) over its source line."""
    number = f"<b>[{n}]</b> " if n is not None else ""
    page = f" · {page_label(cited.page)}" if cited.page is not None else ""
    link = _source_link(cited.title, cited.url)
    footer = f"\n{number}{link}{page} · <i>{date_label(cited.date)}</i>"
    room = MESSAGE_LIMIT - utf16_len(footer) - len("<blockquote></blockquote>")
    excerpt = _marked(text, span, room) or _escaped_within(text, room)
    return f"<blockquote>{excerpt}</blockquote>{footer}"


def _marked(text: str, span: tuple[int, int] | None, limit: int) -> str | None:
    """The excerpt with its answering sentence in bold, or None when it has none or is
    too long to show whole."""
    if span is None or not 0 <= span[0] < span[1] <= len(text):
        return None
    start, end = span
    html = f"{html_text(text[:start])}<b>{html_text(text[start:end])}</b>{html_text(text[end:])}"
    return html if utf16_len(html) <= limit else None


def _source_link(title: str, url: str | None) -> str:
    shown = html_text(trim(title, 200))
    href = _safe_href(url, title)
    return f'<a href="{href}">{shown}</a>' if href else shown


def _safe_href(url: str | None, title: str) -> str | None:
    """The escaped link target, or None when the URL should not be linked.

    Only http(s) URLs with a host, of reasonable length, and never under a title that is
    itself an address of another host (a title "https://telegram.org/login" must not lead
    elsewhere).
    """
    if not url or not url.startswith(("http://", "https://")):
        return None
    href = escape(url, quote=True)
    if len(href) > LINK_HREF_CHARS or any(ch.isspace() for ch in url):
        return None
    try:
        host = _host(url)
    except ValueError:
        return None
    if not host:
        return None
    title = title.strip()
    shown = [m.group() for m in _URL_IN_TEXT_RE.finditer(title)]
    if _BARE_DOMAIN_RE.fullmatch(title):
        shown.append(title)
    for address in shown:
        try:
            other = _host(address if "://" in address else "http://" + address)
        except ValueError:
            return None
        if other != host:
            return None
    return href


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").casefold().rstrip(".")
    return host.removeprefix("www.")


def _escaped_within(text: str, limit: int) -> str:
    """Escape text, trimming the plain text first so that the escaped form fits."""
    budget = limit
    while True:
        escaped = html_text(trim(text, budget))
        over = utf16_len(escaped) - limit
        if over <= 0 or budget <= 3:
            return escaped
        budget -= max(over, 16)


def pack(blocks: Iterable[str], limit: int = MESSAGE_LIMIT, separator: str = "\n\n") -> list[str]:
    """Join blocks into as few messages as fit the limit, never splitting a block."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        candidate = f"{current}{separator}{block}" if current else block
        if utf16_len(candidate) <= limit:
            current = candidate
            continue
        if current:
            messages.append(current)
        current = block
    if current:
        messages.append(current)
    return messages


def answer_messages(answer: Answer) -> list[str]:
    """An answer as one or more HTML messages."""
    if not answer.found:
        return [html_text(trim(answer.text, MESSAGE_LIMIT // 2))]
    blocks = [citation_block(c) for c in answer.citations]
    if answer.has_more:
        shown = answer.offset + len(answer.citations)
        blocks.append(f"<i>{answer.total - shown} more passage(s) match.</i>")
    return pack(blocks)


def quote_messages(cards: Sequence[QuoteCard]) -> list[str]:
    """Quote cards, numbered, as one or more HTML messages."""
    return pack(quote_block(card, i) for i, card in enumerate(cards, 1))


def passage_messages(card: QuoteCard) -> list[str]:
    """A whole passage with its citation."""
    return [quote_block(card)]


def sources_pages(listing: SourceList, per_page: int = SOURCES_PER_PAGE) -> list[str]:
    """The indexed sources (title, date, passage count) as pages of one message each."""
    sources = listing.sources
    lines = [
        f"• {_source_link(s.title, s.url)} · <i>{date_label(s.date)}</i> · {s.passages} passage(s)"
        for s in sources
    ]
    skipped = len(listing.skipped)
    footer = f"\n<i>{skipped} file(s) were skipped when indexing.</i>" if skipped else ""
    room = MESSAGE_LIMIT - 100 - utf16_len(footer)
    bodies: list[list[str]] = [[]]
    size = 0
    for line in lines:
        length = utf16_len(line) + 1
        if bodies[-1] and (len(bodies[-1]) >= per_page or size + length > room):
            bodies.append([])
            size = 0
        bodies[-1].append(line)
        size += length
    pages = []
    for n, body in enumerate(bodies, 1):
        header = f"<b>{len(sources)} indexed source(s)</b>"
        if len(bodies) > 1:
            header += f" · page {n} of {len(bodies)}"
        pages.append("\n".join([header, *body]) + (footer if n == len(bodies) else ""))
    return pages


def help_message(bot_username: str, sources: int, example: str | None) -> str:
    """What the bot does and how to use it."""
    mention = html_text(f"@{bot_username}")
    lines = [
        f"I answer questions from {sources} indexed source(s) with verbatim excerpts, "
        "each cited with its source title and date (or <i>undated</i>).",
        "",
    ]
    if example:
        lines += [f"Try: <code>{html_text(example)}</code>", ""]
    lines += [
        "/ask <i>question</i> — answer a question (in private chats, just write it)",
        '/quote <i>words</i> — verbatim quotes; /quote <i>"exact phrase"</i> for a phrase',
        "/sources — the indexed sources",
        "/help — this message",
        "",
        f"In groups, use /ask, mention {mention}, or reply to one of my messages. "
        f"In any chat, type {mention} <i>words</i> for quote cards.",
    ]
    return "\n".join(lines)


def reindex_message(report: ReindexReport) -> str:
    """How a reindex ended, escaped, within one message; it always ends the status."""
    body = html_text(trim("\n".join(report.lines), MESSAGE_LIMIT - 200))
    return f"<b>Reindex done.</b>\n{body}" if report.status is ReindexStatus.DONE else body


def inline_title(card: QuoteCard) -> str:
    """A quote card's title line, starting near the matching words of a long quote."""
    text = card.text
    if card.focus > INLINE_TITLE_CHARS // 3:
        start = text.rfind(" ", 0, card.focus - INLINE_TITLE_CHARS // 4) + 1
        text = ELLIPSIS + " " + text[start:]
    return trim(" ".join(text.split()), INLINE_TITLE_CHARS)


def inline_description(card: QuoteCard) -> str:
    """A quote card's description: source and date."""
    return trim(f"{card.cited.title} · {date_label(card.cited.date)}", INLINE_DESCRIPTION_CHARS)


def stats_message(stats: Stats) -> str:
    """/stats: questions per day, the answered share, votes and the most asked gaps."""
    first, last = stats.days[0].day, stats.days[-1].day
    lines = [
        f"<b>Last {len(stats.days)} days</b> ({first.isoformat()} to {last.isoformat()}, UTC)",
        f"Questions: {stats.questions}, answered: {stats.answered} ({stats.answered_share:.0%})",
    ]
    votes = stats.up + stats.down
    if votes:
        lines.append(
            f"Votes: {votes} on {stats.rated} answer(s): 👍 {stats.up_share:.0%} · "
            f"👎 {stats.down_share:.0%}"
        )
        lines.extend(f"  👎 {html_text(COMPLAINT_LABELS[c])}: {n}" for c, n in stats.complaints)
    else:
        lines.append("Votes: none yet.")
    lines += ["", "<b>Per day</b> (questions / answered)"]
    lines += [
        f"<code>{d.day.strftime('%m-%d')}</code> {d.questions} / {d.answered}" for d in stats.days
    ]
    lines += ["", "<b>Most asked, not found</b>"]
    if stats.unanswered:
        lines += [f"{u.count}× {html_text(trim(u.question, 200))}" for u in stats.unanswered]
    else:
        lines.append("None.")
    return "\n".join(lines)
