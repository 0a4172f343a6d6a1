"""Three renderings of one Answer: console text, JSON and Telegram HTML."""

from __future__ import annotations

import json
import textwrap

from .answer import Answer, Citation, date_label, page_label
from .messages import answer_messages


def to_text(answer: Answer, width: int = 88) -> str:
    """The answer for a terminal."""
    lines = [answer.question.strip(), ""]
    if not answer.found:
        lines.append(answer.text)
        return "\n".join(lines)
    for c in answer.citations:
        lines.extend(
            textwrap.wrap(
                c.excerpt,
                width=width,
                initial_indent=f"[{c.n}] ",
                subsequent_indent=" " * (len(str(c.n)) + 3),
            )
        )
        lines.append(f"{' ' * (len(str(c.n)) + 3)}— {citation_line(c)}")
        lines.append("")
    if answer.has_more:
        shown = answer.offset + len(answer.citations)
        lines.append(f"({answer.total - shown} more passage(s) match.)")
    return "\n".join(lines).rstrip()


def citation_line(c: Citation) -> str:
    """Title, page, date and file of a citation, on one line."""
    parts = (c.title, page_label(c.page), date_label(c.date), c.source)
    return " · ".join(p for p in parts if p)


def to_dict(answer: Answer) -> dict[str, object]:
    """The answer as JSON-ready data."""
    return {
        "question": answer.question,
        "found": answer.found,
        "answer": answer.text,
        "retrieval": answer.retrieval,
        "citations": [
            {
                "n": c.n,
                "title": c.title,
                "date": c.date.isoformat() if c.date else None,
                "source": c.source,
                "url": c.url,
                "page": c.page,
                "excerpt": c.excerpt,
                "answer_span": list(c.answer_span) if c.answer_span else None,
                "score": round(c.score, 4),
            }
            for c in answer.citations
        ],
    }


def to_json(answer: Answer) -> str:
    """The answer as one JSON object."""
    return json.dumps(to_dict(answer), ensure_ascii=False)


def to_html(answer: Answer) -> list[str]:
    """The answer as Telegram HTML messages, each within Telegram's length limit."""
    return answer_messages(answer)
