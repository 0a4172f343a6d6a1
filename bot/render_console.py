"""The console renderer: answers, quote cards, source lists, reindex reports, /stats and the
gold set made from votes, as text for a terminal."""

from __future__ import annotations

import json
import textwrap

from .answer import Answer, Citation
from .feedback import COMPLAINT_LABELS, GoldExport, Stats
from .views import SourceList, date_label, page_label, printable


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


def source_lines(listing: SourceList) -> list[str]:
    """The indexed sources, then the skipped files, one tab-separated line each."""
    lines = [
        f"{printable(s.path)}\t{date_label(s.date)}\t{s.passages} passage(s)\t{printable(s.title)}"
        for s in listing.sources
    ]
    lines += [
        f"{printable(path)}\tskipped: {printable(reason)}" for path, reason in listing.skipped
    ]
    return lines


def stats_text(stats: Stats) -> str:
    """Questions, answers and votes of the last days, for a terminal."""
    first, last = stats.days[0].day, stats.days[-1].day
    lines = [
        f"Questions {first.isoformat()} to {last.isoformat()} (UTC): {stats.questions}, "
        f"answered {stats.answered} ({stats.answered_share:.0%})",
    ]
    lines.append(_votes_line(stats))
    lines.append("")
    lines.append("day         questions  answered")
    lines.extend(f"{d.day.isoformat()}  {d.questions:9d}  {d.answered:8d}" for d in stats.days)
    lines.append("")
    if stats.unanswered:
        lines.append(f"Most asked, not found ({len(stats.unanswered)}):")
        width = len(str(stats.unanswered[0].count))
        lines.extend(f"  {u.count:{width}d}× {printable(u.question)}" for u in stats.unanswered)
    else:
        lines.append("No unanswered questions.")
    return "\n".join(lines)


def _votes_line(stats: Stats) -> str:
    votes = stats.up + stats.down
    if not votes:
        return "Votes: none yet."
    line = (
        f"Votes: {votes} on {stats.rated} answer(s): 👍 {stats.up_share:.0%}, "
        f"👎 {stats.down_share:.0%}"
    )
    if stats.complaints:
        reasons = ", ".join(f"{COMPLAINT_LABELS[c]} {n}" for c, n in stats.complaints)
        line += f" ({reasons})"
    return line


def gold_lines(export: GoldExport) -> list[str]:
    """A gold set in the eval format; questions to complete follow as # comments."""
    lines = []
    for item in export.items:
        data: dict[str, object] = {"q": item.q}
        if item.expect_none:
            data["expect_none"] = True
        else:
            data["expect_any"] = list(item.expect_any)
            data["date"] = item.date or ""
        lines.append(json.dumps(data, ensure_ascii=False))
    if export.incomplete:
        lines += [
            "",
            "# To complete: people said these answers were wrong. Put the words a right",
            '# answer quotes in expect_any (and its date, "" when undated), or replace',
            '# expect_any with "expect_none": true, then remove the leading "# ".',
        ]
        for missing in export.incomplete:
            note = f"# {missing.why}"
            if missing.cited:
                note += f"; it cited: {printable(missing.cited)}"
            lines.append(note)
            template = {"q": missing.q, "expect_any": [], "date": ""}
            lines.append("# " + json.dumps(template, ensure_ascii=False))
    return lines
