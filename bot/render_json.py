"""The JSON renderer: answers and /stats as JSON-ready data (`ask --json`, `stats --json`)."""

from __future__ import annotations

import json

from .answer import Answer
from .feedback import Stats


def to_dict(answer: Answer) -> dict[str, object]:
    """The answer as JSON-ready data."""
    return {
        "question": answer.question,
        "found": answer.found,
        "answerability": round(answer.answerability, 3),
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


def stats_dict(stats: Stats) -> dict[str, object]:
    """Questions, answers and votes of the last days as JSON-ready data."""
    return {
        "since": stats.days[0].day.isoformat(),
        "until": stats.days[-1].day.isoformat(),
        "questions": stats.questions,
        "answered": stats.answered,
        "answered_share": round(stats.answered_share, 4),
        "rated": stats.rated,
        "up": stats.up,
        "down": stats.down,
        "up_share": round(stats.up_share, 4),
        "down_share": round(stats.down_share, 4),
        "complaints": {str(c): n for c, n in stats.complaints},
        "per_day": [
            {"day": d.day.isoformat(), "questions": d.questions, "answered": d.answered}
            for d in stats.days
        ],
        "unanswered": [{"question": u.question, "count": u.count} for u in stats.unanswered],
    }
