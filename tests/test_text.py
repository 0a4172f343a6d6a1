"""Paragraphs, sentences and passages are offsets that slice the source verbatim."""

from __future__ import annotations

import itertools

import pytest

from index import IndexSettings, text
from tests.conftest import SEEDS

QUOTED = (
    "The leader stated, “we are ready. We agree with the plan.” Then the meeting ended. "
    "Mr. Smith left at 5 p.m. and J. Doe stayed."
)


def test_sentences_keep_quotations_whole_and_skip_abbreviations() -> None:
    spans = text.sentences(QUOTED)
    assert [QUOTED[s:e] for s, e in spans] == [
        "The leader stated, “we are ready. We agree with the plan.”",
        "Then the meeting ended.",
        "Mr. Smith left at 5 p.m. and J. Doe stayed.",
    ]


def test_only_a_short_word_before_a_full_stop_can_be_an_abbreviation() -> None:
    sample = "The firm is Acme Inc. It grew. They called it the supercalifragilisticco. It won."
    spans = text.sentences(sample)
    assert [sample[s:e] for s, e in spans] == [
        "The firm is Acme Inc. It grew.",
        "They called it the supercalifragilisticco.",
        "It won.",
    ]


def test_paragraphs_split_at_blank_lines_or_else_at_line_breaks() -> None:
    blank = "One line\nwrapped here.\n\nSecond paragraph."
    assert [blank[s:e] for s, e in text.paragraphs(blank)] == [
        "One line\nwrapped here.",
        "Second paragraph.",
    ]
    lines = "First paragraph.\nSecond paragraph.\n"
    assert [lines[s:e] for s, e in text.paragraphs(lines)] == [
        "First paragraph.",
        "Second paragraph.",
    ]


def test_markdown_heading_is_its_own_paragraph() -> None:
    md = "# Title\nBody text follows here."
    assert [md[s:e] for s, e in text.paragraphs(md)] == ["# Title", "Body text follows here."]


def test_long_paragraph_is_split_at_sentence_boundaries() -> None:
    para = " ".join(
        f"Sentence number {i} says something useful about topic {i}." for i in range(60)
    )
    spans = text.passages(para, 0, max_chars=400, min_chars=50)
    assert len(spans) > 1
    for s, e in spans:
        assert e - s <= 400
        assert para[s:e].startswith("Sentence number")
        assert para[s:e].endswith(".")
    assert " ".join(para[s:e] for s, e in spans) == para


def test_sentence_longer_than_a_passage_is_cut_at_spaces() -> None:
    para = "word " * 500
    spans = text.passages(para, 0, max_chars=300, min_chars=50)
    assert all(e - s <= 300 for s, e in spans)
    assert all(not para[s:e].startswith(" ") and not para[s:e].endswith(" ") for s, e in spans)


def test_short_pieces_join_a_neighbour() -> None:
    doc = "HANDS OFF\n\nDOWN WITH IT\n\n" + "A long closing paragraph. " * 6
    spans = text.passages(doc, 0, max_chars=1200, min_chars=100)
    assert len(spans) == 1
    assert doc[spans[0][0] : spans[0][1]] == doc.strip()


@pytest.mark.parametrize("name", sorted(p.name for p in SEEDS.iterdir()))
def test_seed_passages_are_verbatim_and_ordered(name: str) -> None:
    source = (SEEDS / name).read_text(encoding="utf-8")
    settings = IndexSettings()
    spans = text.passages(source, 0, settings.passage_chars, settings.min_passage_chars)
    assert spans == sorted(spans)
    for (_s1, e1), (s2, _) in itertools.pairwise(spans):
        assert e1 <= s2
        assert not source[e1:s2].strip()
    for s, e in spans:
        assert source[s:e] == source[s:e].strip()
        for a, b in text.sentences(source, s, e):
            assert s <= a < b <= e
