"""Measuring answers against a gold set of questions (JSON Lines)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from index import ELLIPSIS, Index, fold

from .answer import Answer, ask


class GoldSetError(Exception):
    """A gold set file cannot be read; the message names the line."""


@dataclass(frozen=True)
class GoldQuestion:
    """One question: the phrases a right answer quotes, or that none exists."""

    q: str
    expect_any: tuple[str, ...] = ()
    expect_none: bool = False
    date: str | None = None
    line: int = 0


@dataclass
class Report:
    """Measured quality over a gold set."""

    answerable: int = 0
    unanswerable: int = 0
    hit1: int = 0
    hit3: int = 0
    reciprocal_ranks: float = 0.0
    # "not found" answers: right ones (corpus cannot answer) and wrong ones.
    none_right: int = 0
    none_wrong: int = 0
    dated: int = 0
    dates_right: int = 0
    excerpts: int = 0
    verbatim: int = 0
    misses: list[str] = field(default_factory=list)
    # Per question: its answerability (None when another rule decided), expected none, and
    # whether the first excerpt holds the answer.
    decided: list[tuple[float | None, bool, bool]] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        """The figures, each between 0 and 1."""
        said_none = self.none_right + self.none_wrong
        return {
            "hit@1": _ratio(self.hit1, self.answerable),
            "hit@3": _ratio(self.hit3, self.answerable),
            "mrr": _ratio(self.reciprocal_ranks, self.answerable),
            "not_found_precision": _ratio(self.none_right, said_none),
            "not_found_recall": _ratio(self.none_right, self.unanswerable),
            "date_accuracy": _ratio(self.dates_right, self.dated),
            "verbatim": _ratio(self.verbatim, self.excerpts),
        }


def _ratio(a: float, b: int) -> float:
    return a / b if b else 1.0


def load(path: Path) -> list[GoldQuestion]:
    """Read a gold set: one JSON object per line, blank lines and # comments allowed."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise GoldSetError(f"{path}: cannot be read: {exc.strerror}") from None
    out: list[GoldQuestion] = []
    for n, raw in enumerate(lines, 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise GoldSetError(f"{path}:{n}: not JSON: {exc.msg}") from None
        if not isinstance(item, dict) or not isinstance(item.get("q"), str) or not item["q"]:
            raise GoldSetError(f'{path}:{n}: needs a "q" string')
        expect = item.get("expect_any", [])
        if not isinstance(expect, list) or not all(isinstance(e, str) and e for e in expect):
            raise GoldSetError(f'{path}:{n}: "expect_any" must be a list of phrases')
        none = item.get("expect_none") is True
        if bool(expect) == none:
            raise GoldSetError(f'{path}:{n}: give either "expect_any" or "expect_none": true')
        date = item.get("date")
        if date is not None and not (
            isinstance(date, str) and re.fullmatch(r"(\d{4}-\d{2}-\d{2})?", date)
        ):
            raise GoldSetError(f'{path}:{n}: "date" must be YYYY-MM-DD or ""')
        out.append(GoldQuestion(item["q"], tuple(expect), none, date, n))
    return out


def phrase_key(text: str, *, folding: bool = True) -> str:
    """Text as phrases are compared: case, accents and quote marks folded (index.fold) and
    white space collapsed; with folding=False, lower-cased only."""
    return " ".join((fold(text) if folding else text.lower()).split())


def contains_any(excerpt: str, phrases: Iterable[str], *, folding: bool = True) -> bool:
    """Whether the excerpt quotes one of the phrases (case, accents, quotes, spaces ignored);
    a blank phrase matches nothing."""
    text = phrase_key(excerpt, folding=folding)
    return any(phrase_key(p, folding=folding) in text for p in phrases if p.strip())


def evaluate(index: Index, questions: list[GoldQuestion], limit: int = 3) -> Report:
    """Ask every question and measure the answers."""
    report = Report()
    for item in questions:
        answer = ask(index, item.q, limit=limit)
        unfiltered = index.search(item.q, limit=1, min_answerability=0.0)
        first = unfiltered.hits[0].excerpt if unfiltered.hits else ""
        hit = bool(item.expect_any) and contains_any(first, item.expect_any)
        confidence = unfiltered.confidence if unfiltered.found else None
        report.decided.append((confidence, item.expect_none, hit))
        _check_verbatim(index, answer, report)
        if item.expect_none:
            _score_unanswerable(item, answer, report)
        else:
            _score_answerable(item, answer, report)
    return report


def _score_unanswerable(item: GoldQuestion, answer: Answer, report: Report) -> None:
    report.unanswerable += 1
    if not answer.found:
        report.none_right += 1
        return
    first = answer.citations[0].excerpt if answer.citations else ""
    report.misses.append(f"answered, expected none: {item.q!r} -> {first[:90]!r}")


def _score_answerable(item: GoldQuestion, answer: Answer, report: Report) -> None:
    """Where the first citation quoting an expected phrase ranks, and the date shown."""
    report.answerable += 1
    if not answer.found:
        report.none_wrong += 1
        report.misses.append(f"not found: {item.q!r}")
        return
    rank = next(
        (i for i, c in enumerate(answer.citations, 1) if contains_any(c.excerpt, item.expect_any)),
        None,
    )
    if rank == 1:
        report.hit1 += 1
    if rank is not None:
        report.hit3 += rank <= 3
        report.reciprocal_ranks += 1 / rank
    if rank != 1:
        first = answer.citations[0].excerpt
        where = f"found at {rank}" if rank else "not in the citations"
        report.misses.append(f"{where}: {item.q!r} -> [1] {first[:90]!r}")
    if item.date is not None:
        report.dated += 1
        # The date shown beside the answer: the citation that quotes it, else the first.
        shown = answer.citations[(rank or 1) - 1].date
        if (shown.isoformat() if shown else "") == item.date:
            report.dates_right += 1
        else:
            report.misses.append(f"date {shown} instead of {item.date or 'undated'}: {item.q!r}")


def _check_verbatim(index: Index, answer: Answer, report: Report) -> None:
    for c in answer.citations:
        passage = index.passage(c.passage_id)
        pieces = [p.strip() for p in c.excerpt.split(ELLIPSIS) if p.strip()]
        report.excerpts += 1
        if passage is not None and pieces and all(p in passage.text for p in pieces):
            report.verbatim += 1


def tradeoff_lines(report: Report) -> list[str]:
    """How min_answerability trades answered questions against honest "not found" answers."""
    if not report.decided:
        return []
    lines = ["min_answerability trade-off:", "  threshold  none-precision  none-recall  hit@1"]
    for threshold in (0.0, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7):
        none_right = none_wrong = hits = 0
        for confidence, expect_none, hit in report.decided:
            answered = confidence is not None and confidence >= threshold
            if not answered:
                none_right += expect_none
                none_wrong += not expect_none
            elif hit:
                hits += 1
        lines.append(
            f"  {threshold:9.2f}  {_ratio(none_right, none_right + none_wrong):14.3f}  "
            f"{_ratio(none_right, report.unanswerable):11.3f}  "
            f"{_ratio(hits, report.answerable):5.3f}"
        )
    return lines


def format_report(report: Report) -> str:
    """The figures and the misses, for people."""
    m = report.metrics()
    lines = [
        f"questions: {report.answerable} answerable, {report.unanswerable} unanswerable",
        f"hit@1 {m['hit@1']:.3f}  hit@3 {m['hit@3']:.3f}  MRR {m['mrr']:.3f}",
        f"not found: precision {m['not_found_precision']:.3f}  recall {m['not_found_recall']:.3f}",
        f"date accuracy {m['date_accuracy']:.3f} ({report.dated} dated questions)",
        f"verbatim excerpts {m['verbatim']:.3f} ({report.excerpts} excerpts)",
    ]
    lines.extend(tradeoff_lines(report))
    if report.misses:
        lines.append("misses:")
        lines.extend(f"  {miss}" for miss in report.misses)
    return "\n".join(lines)
