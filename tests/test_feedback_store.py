"""The feedback store on its own: stats over days, grouping, the gold export, the CLI."""

from __future__ import annotations

import datetime as dt
import json
import struct
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot import cli, render_console
from bot import config as configmod
from bot.answer import Answer, ask
from bot.config import ConfigError
from bot.feedback import (
    Asker,
    Complaint,
    FeedbackError,
    GoldItem,
    Incomplete,
    Vote,
    question_key,
    top_questions,
)
from bot.feedback_store import FeedbackStore, key_path, open_store
from index import Index

NOW = dt.datetime(2025, 3, 14, 12, 0, tzinfo=dt.UTC)
PRIVATE = Asker("private", 111, 111)
FOUND = "What did Peru commit to?"
NOT_FOUND = "how do I bake sourdough bread?"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FeedbackStore]:
    store = FeedbackStore.open(tmp_path / "feedback.sqlite")
    yield store
    store.close()


@pytest.fixture
def answers(seed_index: Index) -> dict[str, Answer]:
    return {q: ask(seed_index, q) for q in (FOUND, NOT_FOUND, "What did Trump say about Petro?")}


def days_ago(n: int, hour: int = 9) -> dt.datetime:
    return (NOW - dt.timedelta(days=n)).replace(hour=hour)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("What is X?", "what is x", True),
        ("What's the plan?!", "whats the plan", True),
        ("  what   is\tX ", "What is X?", True),
        ("«Who» said it…", "who said it", True),
        ("What is X?", "What is Y?", False),
        ("Is it 2024?", "Is it 2025?", False),
    ],
)
def test_questions_group_when_they_differ_only_in_case_and_punctuation(
    a: str, b: str, same: bool
) -> None:
    assert (question_key(a) == question_key(b)) is same


def test_top_questions_counts_groups_and_keeps_the_usual_spelling() -> None:
    asked = [
        "where is the report?",
        "Who signed?",
        "WHERE IS THE REPORT",
        "where is the report?",
        "Who signed",
        "What now?",
        "?!",
    ]
    top = top_questions(asked, limit=2)
    assert [(u.question, u.count) for u in top] == [
        ("where is the report?", 3),
        ("Who signed?", 2),
    ]
    assert len(top_questions(asked)) == 3  # "?!" is no question at all


def test_stats_count_the_last_days_only(store: FeedbackStore, answers: dict[str, Answer]) -> None:
    found, missing = answers[FOUND], answers[NOT_FOUND]
    store.record_answer(found, "g1", PRIVATE, days_ago(20))  # before the window
    first = store.record_answer(found, "g1", PRIVATE, days_ago(13))
    store.record_answer(missing, "g1", PRIVATE, days_ago(13, hour=23))
    store.record_answer(missing, "g2", PRIVATE, days_ago(0))
    last = store.record_answer(found, "g2", Asker("supergroup", -100, 5), days_ago(0))
    store.record_vote(first, 111, Vote.UP, now=NOW)
    store.record_vote(last, 5, Vote.DOWN, Complaint.CUT_OFF, now=NOW)
    store.record_vote(last, 6, Vote.DOWN, Complaint.CUT_OFF, now=NOW)
    stats = store.stats(14, now=NOW)
    assert len(stats.days) == 14
    assert stats.days[0].day == dt.date(2025, 3, 1)
    assert stats.days[-1].day == dt.date(2025, 3, 14)
    assert [(d.questions, d.answered) for d in stats.days if d.questions] == [(2, 1), (2, 1)]
    assert (stats.questions, stats.answered, stats.answered_share) == (4, 2, 0.5)
    assert (stats.rated, stats.up, stats.down) == (2, 1, 2)
    assert stats.up_share == pytest.approx(1 / 3)
    assert stats.complaints == ((Complaint.CUT_OFF, 2),)
    assert [(u.question, u.count) for u in stats.unanswered] == [(NOT_FOUND, 2)]
    assert store.stats(1, now=NOW).questions == 2


def test_a_vote_is_one_per_person_and_fits_its_answer(
    store: FeedbackStore, answers: dict[str, Answer]
) -> None:
    found = store.record_answer(answers[FOUND], "g", PRIVATE, NOW)
    missing = store.record_answer(answers[NOT_FOUND], "g", PRIVATE, NOW)
    store.record_vote(found, 111, Vote.DOWN, Complaint.WRONG_SOURCE, now=days_ago(2))
    store.record_vote(found, 111, Vote.UP, Complaint.CUT_OFF, now=days_ago(1))  # no complaint
    store.record_vote(missing, 111, Vote.DOWN, Complaint.CUT_OFF, now=NOW)  # can't be cut
    recorded = store.record_vote(found, 222, Vote.DOWN, Complaint.IT_IS_THERE, now=NOW)
    assert recorded is not None
    assert recorded.complaint is None  # "it is there" is for a "not found" only
    assert [(v.answer_id, v.vote, v.complaint) for v in store.votes()] == [
        (found, Vote.UP, None),
        (missing, Vote.DOWN, Complaint.IT_IS_THERE),
        (found, Vote.DOWN, None),
    ]
    assert store.record_vote(missing + 1, 111, Vote.UP) is None


def test_export_takes_the_newest_verdict_on_each_question(
    store: FeedbackStore, answers: dict[str, Answer]
) -> None:
    dated = answers["What did Trump say about Petro?"]
    # Asked twice: first liked, later said to need no answer (the corpus changed).
    liked = store.record_answer(answers[FOUND], "g1", PRIVATE, days_ago(3))
    store.record_vote(liked, 1, Vote.UP)
    later = store.record_answer(answers[FOUND], "g2", PRIVATE, days_ago(1))
    store.record_vote(later, 1, Vote.DOWN, Complaint.SHOULD_SAY_NOT_FOUND)
    disputed = store.record_answer(dated, "g2", PRIVATE, days_ago(1))
    store.record_vote(disputed, 1, Vote.UP)
    store.record_vote(disputed, 2, Vote.DOWN, Complaint.WRONG_SOURCE)
    cut = store.record_answer(dated, "g2", PRIVATE, days_ago(0))  # newest: says nothing
    store.record_vote(cut, 3, Vote.DOWN, Complaint.CUT_OFF)
    store.record_answer(answers[NOT_FOUND], "g2", PRIVATE, days_ago(0))  # never voted on
    export = store.export()
    assert export.items == (GoldItem(FOUND, expect_none=True),)
    [incomplete] = export.incomplete
    assert incomplete.q == dated.question
    assert incomplete.why == "votes disagree"
    assert incomplete.cited is not None
    assert "watch his ass" in incomplete.cited


def test_export_uses_the_answering_sentence_and_the_date(
    store: FeedbackStore, answers: dict[str, Answer]
) -> None:
    dated = answers["What did Trump say about Petro?"]
    lead = dated.citations[0]
    assert lead.answer_span is not None
    answer_id = store.record_answer(dated, "g", PRIVATE, NOW)
    store.record_vote(answer_id, 1, Vote.UP)
    [item] = store.export().items
    start, end = lead.answer_span
    assert item.expect_any == (lead.excerpt[start:end].strip(),)
    assert item.date == "2026-01-07"
    assert store.export().incomplete == ()


def test_a_not_found_voted_down_is_listed_to_complete(
    store: FeedbackStore, answers: dict[str, Answer]
) -> None:
    answer_id = store.record_answer(answers[NOT_FOUND], "g", PRIVATE, NOW)
    store.record_vote(answer_id, 1, Vote.DOWN)
    assert store.export().incomplete == (Incomplete(NOT_FOUND, "not found but it is there"),)
    assert store.export().items == ()


def test_the_key_stays_beside_the_store_and_a_broken_one_is_named(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite"
    first = FeedbackStore.open(path)
    token = first.vote_token(7, 111)
    first.close()
    again = FeedbackStore.open(path)
    assert again.token_matches(7, 111, token)
    assert not again.token_matches(7, 112, token)
    again.close()
    key_path(path).write_text("not a key\n", encoding="ascii")
    with pytest.raises(FeedbackError, match="is not a feedback key; delete it"):
        FeedbackStore.open(path)


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(FeedbackError, match="is not a feedback store"):
        FeedbackStore.open(path)


def _store_with_questions(tmp_path: Path, answers: dict[str, Answer]) -> None:
    """Four questions, one a day back from today: two found, the same "not found" twice."""
    store = FeedbackStore.open(tmp_path / "feedback.sqlite")
    now = dt.datetime.now(dt.UTC)
    shouted = replace(answers[NOT_FOUND], question=NOT_FOUND.upper())
    try:
        for days, answer in enumerate(
            (answers[FOUND], answers[NOT_FOUND], shouted, answers[FOUND])
        ):
            store.record_answer(answer, "g", PRIVATE, now - dt.timedelta(days=days))
    finally:
        store.close()


def test_cli_stats_prints_text_and_json(
    tmp_path: Path, answers: dict[str, Answer], capsys: pytest.CaptureFixture[str]
) -> None:
    _store_with_questions(tmp_path, answers)
    db = ["--db", str(tmp_path / "index.sqlite")]
    assert cli.main(["stats", *db]) == 0
    text = capsys.readouterr().out
    assert ": 4, answered 2 (50%)" in text
    assert "Votes: none yet." in text
    assert f"2× {NOT_FOUND}" in text
    assert cli.main(["stats", "--json", "--days", "2", *db]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["questions"], data["answered"], data["answered_share"]) == (2, 1, 0.5)
    assert [d["questions"] for d in data["per_day"]] == [1, 1]
    assert data["unanswered"] == [{"question": NOT_FOUND, "count": 1}]


def test_cli_stats_plot_draws_a_png(
    tmp_path: Path, answers: dict[str, Answer], capsys: pytest.CaptureFixture[str]
) -> None:
    _store_with_questions(tmp_path, answers)
    picture = tmp_path / "stats.png"
    assert cli.main(["stats", "--db", str(tmp_path / "index.sqlite"), "--plot", str(picture)]) == 0
    data = picture.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (900, 450)
    assert f"Plot: {picture}" in capsys.readouterr().out


def test_cli_stats_without_a_store_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["stats", "--db", str(tmp_path / "index.sqlite")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no feedback yet:")
    assert not (tmp_path / "feedback.sqlite").exists()
    with pytest.raises(FeedbackError):
        open_store(tmp_path / "feedback.sqlite")


def test_feedback_settings_are_read_and_checked(tmp_path: Path) -> None:
    config_file = tmp_path / "bot.toml"
    config_file.write_text(
        '[index]\npath = "data/index.sqlite"\n'
        '[feedback]\nenabled = false\nstore_ids = true\npath = "private/fb.sqlite"\n',
        encoding="utf-8",
    )
    config = configmod.load(config_file, environ={})
    assert not config.feedback.enabled
    assert config.feedback.store_ids
    assert config.feedback_path == tmp_path / "private" / "fb.sqlite"
    assert configmod.load(None, environ={}).feedback.enabled

    for body, message in (
        ("[feedback]\nenabled = 1\n", "feedback.enabled: must be true or false"),
        ("[feedback]\nstore_id = true\n", "feedback.store_id: unknown key"),
        ('[feedback]\npath = "data/index.sqlite"\n', "feedback.path: must not be the index"),
    ):
        config_file.write_text(body, encoding="utf-8")
        with pytest.raises(ConfigError, match=message):
            configmod.load(config_file, environ={})


def test_stats_text_shows_votes_and_their_reasons(
    store: FeedbackStore, answers: dict[str, Answer]
) -> None:
    found = store.record_answer(answers[FOUND], "g", PRIVATE, days_ago(1))
    store.record_vote(found, 1, Vote.UP, now=days_ago(1))
    store.record_vote(found, 2, Vote.DOWN, Complaint.WRONG_SOURCE, now=days_ago(1))
    text = render_console.stats_text(store.stats(now=NOW))
    assert "answered 1 (100%)" in text
    assert "Votes: 2 on 1 answer(s): 👍 50%, 👎 50% (wrong source 1)" in text.splitlines()
    assert text.endswith("No unanswered questions.")
