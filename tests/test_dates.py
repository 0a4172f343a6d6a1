"""Date expressions in questions."""

from __future__ import annotations

import datetime as dt

import pytest

from index import Index, dates
from tests.conftest import DATED_SEED

NEWEST = dt.date(2026, 1, 7)
D = dt.date


@pytest.mark.parametrize(
    ("question", "start", "end", "order"),
    [
        ("what was said in January 2026?", D(2026, 1, 1), D(2026, 2, 1), None),
        ("news from jan. 2026", D(2026, 1, 1), D(2026, 2, 1), None),
        ("news from 2025", D(2025, 1, 1), D(2026, 1, 1), None),
        ("what happened before December?", None, D(2025, 12, 1), None),
        ("anything after 2025-11-30", D(2025, 12, 1), None, None),
        ("the latest on Colombia", None, None, "latest"),
        ("most recent news about Peru", None, None, "latest"),
        ("reports in 2025", D(2025, 1, 1), D(2026, 1, 1), None),
        ("what did Petro say on 4 January?", D(2026, 1, 4), D(2026, 1, 5), None),
        ("what did Petro say on January 4, 2026?", D(2026, 1, 4), D(2026, 1, 5), None),
        ("between March 2025 and May 2025", D(2025, 3, 1), D(2025, 6, 1), None),
        ("since 2024", D(2024, 1, 1), None, None),
        ("until September 2025", None, D(2025, 10, 1), None),
        ("Colombia 2026-01-07", D(2026, 1, 7), D(2026, 1, 8), None),
        ("the oldest report on the ferry", None, None, "earliest"),
    ],
)
def test_date_expressions(
    question: str, start: dt.date | None, end: dt.date | None, order: str | None
) -> None:
    parsed = dates.parse(question, NEWEST)
    assert parsed is not None
    assert (parsed.start, parsed.end, parsed.order) == (start, end, order)
    remaining = dates.remove(question, parsed.spans)
    assert len(remaining) == len(question)
    for word in ("January", "December", "2025-11-30", "latest", "recent", "oldest"):
        assert word not in remaining


@pytest.mark.parametrize(
    "question",
    [
        "Who won the 2022 World Cup?",
        "What may happen next?",
        "the first project of the brigades",
        "What did Peru commit to?",
        "March of the workers",
    ],
)
def test_no_date_where_there_is_none(question: str) -> None:
    parsed = dates.parse(question, NEWEST)
    assert parsed is None or not parsed.has_range


def test_undated_sources_never_match_a_date_range(seed_index: Index) -> None:
    result = seed_index.search("What was said in January 2026?", limit=10)
    assert result.found
    assert {h.source.path for h in result.hits} == {DATED_SEED}
    # The undated source tells of December, but it is not dated then.
    assert not seed_index.search("What did the delegation do in December 2025?").found
