"""What feedback means, with no storage and no Telegram: votes and complaints, and what they
add up to: the /stats view and a gold set for `python -m bot eval`.

The store is bot/feedback_store.py; the Telegram handlers are in bot/feedback_chat.py.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from index import ELLIPSIS, NO_TERMS

from .answer import Answer

DEFAULT_DAYS = 14
TOP_UNANSWERED = 10


class FeedbackError(Exception):
    """The feedback store cannot be used; the message says the fix."""


class Vote(StrEnum):
    """A thumb up or down."""

    UP = "up"
    DOWN = "down"


class Complaint(StrEnum):
    """What was wrong with an answer voted down."""

    WRONG_SOURCE = "wrong_source"
    CUT_OFF = "cut_off"
    SHOULD_SAY_NOT_FOUND = "should_say_not_found"
    IT_IS_THERE = "it_is_there"


COMPLAINT_LABELS = {
    Complaint.WRONG_SOURCE: "wrong source",
    Complaint.CUT_OFF: "answer cut off",
    Complaint.SHOULD_SAY_NOT_FOUND: "should have said not found",
    Complaint.IT_IS_THERE: "not found but it is there",
}


@dataclass(frozen=True)
class Asker:
    """Where a question came from, with the ids as Telegram gives them."""

    chat_type: str
    chat_id: int
    user_id: int


@dataclass(frozen=True)
class Recorded:
    """A vote taken, on an answer that found something or did not."""

    answer_id: int
    found: bool
    vote: Vote
    complaint: Complaint | None


@dataclass(frozen=True)
class StoredVote:
    """One person's current vote on an answer, as stored."""

    answer_id: int
    voter: str
    vote: Vote
    complaint: Complaint | None
    voted_at: str


@dataclass(frozen=True)
class DayCount:
    """Questions asked on one day (UTC), and how many of them were answered."""

    day: dt.date
    questions: int
    answered: int


@dataclass(frozen=True)
class Unanswered:
    """A question the sources could not answer, and how often it was asked."""

    question: str
    count: int


@dataclass(frozen=True)
class Stats:
    """What people asked over the last days, what was answered, and how they voted."""

    days: tuple[DayCount, ...]
    questions: int
    answered: int
    rated: int
    up: int
    down: int
    complaints: tuple[tuple[Complaint, int], ...]
    unanswered: tuple[Unanswered, ...]

    @property
    def answered_share(self) -> float:
        """Share of the questions the sources answered."""
        return self.answered / self.questions if self.questions else 0.0

    @property
    def up_share(self) -> float:
        """Share of the votes that were 👍."""
        votes = self.up + self.down
        return self.up / votes if votes else 0.0

    @property
    def down_share(self) -> float:
        """Share of the votes that were 👎."""
        votes = self.up + self.down
        return self.down / votes if votes else 0.0


@dataclass(frozen=True)
class GoldItem:
    """One line of a gold set, as `python -m bot eval` reads it."""

    q: str
    expect_any: tuple[str, ...] = ()
    expect_none: bool = False
    date: str | None = None


@dataclass(frozen=True)
class Incomplete:
    """A question people said was answered badly, for a person to complete by hand."""

    q: str
    why: str
    cited: str | None = None


@dataclass(frozen=True)
class GoldExport:
    """Gold lines from the votes, and the questions a person still has to complete."""

    items: tuple[GoldItem, ...]
    incomplete: tuple[Incomplete, ...]


def worth_recording(answer: Answer) -> bool:
    """Whether an answer is one to record and rate (not "please ask with a few words")."""
    return answer.found or answer.reason != NO_TERMS


def question_key(question: str) -> str:
    """The question with case, punctuation and spacing ignored, for grouping."""
    text = unicodedata.normalize("NFKC", question).casefold()
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    return " ".join(text.split())


def top_questions(questions: list[str], limit: int = TOP_UNANSWERED) -> tuple[Unanswered, ...]:
    """The most frequent questions, grouped when they differ only in case and punctuation.

    Each group is shown in its most frequent spelling (the first asked among equals);
    groups asked equally often are ordered by when they were last asked, newest first.
    """
    groups: dict[str, list[str]] = {}
    last: dict[str, int] = {}
    for i, question in enumerate(questions):
        key = question_key(question)
        if not key:
            continue
        groups.setdefault(key, []).append(question)
        last[key] = i
    ranked = sorted(groups, key=lambda k: (-len(groups[k]), -last[k]))
    out = []
    for key in ranked[:limit]:
        spellings = groups[key]
        counts = Counter(spellings)  # in first-asked order: max keeps the first of equals
        shown = max(counts, key=counts.__getitem__)
        out.append(Unanswered(shown, len(spellings)))
    return tuple(out)


def daily_stats(
    first: dt.date,
    days: int,
    per_day: dict[str, tuple[int, int]],
    votes: list[tuple[int, str, str | None]],
    missed: list[str],
) -> Stats:
    """The Stats view of days from first on: questions and answered ones per day (by ISO
    date), the votes on their answers (answer id, vote, complaint), unanswered questions."""
    counts = []
    for n in range(days):
        day = first + dt.timedelta(days=n)
        asked, answered = per_day.get(day.isoformat(), (0, 0))
        counts.append(DayCount(day, asked, answered))
    complaints = Counter(Complaint(c) for _, vote, c in votes if vote == Vote.DOWN and c)
    return Stats(
        days=tuple(counts),
        questions=sum(c.questions for c in counts),
        answered=sum(c.answered for c in counts),
        rated=len({answer_id for answer_id, _, _ in votes}),
        up=sum(vote == Vote.UP for _, vote, _ in votes),
        down=sum(vote == Vote.DOWN for _, vote, _ in votes),
        complaints=tuple((c, complaints[c]) for c in Complaint if complaints[c]),
        unanswered=top_questions(missed),
    )


def gold_export(
    answers: dict[int, tuple[str, bool, str | None]],
    votes: list[tuple[int, str, str | None]],
) -> GoldExport:
    """Gold lines from the voted answers (id: question, found, citations as JSON) and the
    votes (answer id, vote, complaint): the newest verdict on each question decides."""
    by_answer: dict[int, list[tuple[Vote, Complaint | None]]] = {}
    for answer_id, vote, complaint in votes:
        by_answer.setdefault(answer_id, []).append(
            (Vote(vote), Complaint(complaint) if complaint else None)
        )
    verdicts: dict[str, GoldItem | Incomplete] = {}
    for answer_id in sorted(answers):
        question, found, citations_json = answers[answer_id]
        citations = json.loads(citations_json or "[]")
        verdict = _verdict(question, found, citations, by_answer.get(answer_id, []))
        if verdict is not None:
            key = question_key(question)
            verdicts.pop(key, None)  # the newest verdict goes last
            verdicts[key] = verdict
    items = tuple(v for v in verdicts.values() if isinstance(v, GoldItem))
    incomplete = tuple(v for v in verdicts.values() if isinstance(v, Incomplete))
    return GoldExport(items, incomplete)


def cited_sentence(citation: dict[str, Any]) -> str | None:
    """The answering sentence of a stored citation, verbatim, without any cut mark."""
    excerpt = citation.get("excerpt") or ""
    span = citation.get("answer_span")
    text = excerpt
    if isinstance(span, list) and len(span) == 2 and 0 <= span[0] < span[1] <= len(excerpt):
        text = excerpt[span[0] : span[1]]
    pieces = [p.strip() for p in text.split(ELLIPSIS) if p.strip()]
    return max(pieces, key=len) if pieces else None


def _verdict(
    question: str,
    found: bool,
    citations: list[dict[str, Any]],
    votes: list[tuple[Vote, Complaint | None]],
) -> GoldItem | Incomplete | None:
    ups = sum(vote is Vote.UP for vote, _ in votes)
    complaints = {c for vote, c in votes if vote is Vote.DOWN}
    lead = citations[0] if citations else None
    cited = cited_sentence(lead) if lead is not None else None
    if ups and complaints:
        return Incomplete(question, "votes disagree", cited)
    if ups:
        if not found:
            return GoldItem(question, expect_none=True)
        if cited is None or lead is None:
            return None
        return GoldItem(question, (cited,), date=lead.get("date") or "")
    if not found and complaints:
        return Incomplete(question, COMPLAINT_LABELS[Complaint.IT_IS_THERE])
    if complaints == {Complaint.SHOULD_SAY_NOT_FOUND}:
        return GoldItem(question, expect_none=True)
    if Complaint.WRONG_SOURCE in complaints:
        return Incomplete(question, COMPLAINT_LABELS[Complaint.WRONG_SOURCE], cited)
    return None
