"""The answering pipeline's mechanisms, each on a small literal corpus: word weights for
words the corpus lacks, numbers that must match, document context, word forms, ranking by
what a passage holds, answer-type aware excerpts, and dates no source has."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import render_json
from bot.answer import ask
from index import AnswerType, Index, IndexSettings, Reason, SearchSettings, build_index
from index.question import answer_type
from tests.conftest import WriteCorpus

FILLER = (
    "The harbour master reported calm seas for the week. Fishing boats left at dawn and "
    "returned before noon with a modest catch. The ferry timetable stays as it was. "
)


def _index(write_corpus: WriteCorpus, tmp_path: Path, files: dict[str, str | bytes]) -> Index:
    """The mechanisms here are the lexical ones: BM25 retrieval, no embeddings."""
    corpus = write_corpus(files)
    build_index(corpus, tmp_path / "index.sqlite", IndexSettings(), embedding_model="")
    return Index.open(tmp_path / "index.sqlite", search=SearchSettings(embedding_model=""))


@pytest.fixture
def town(write_corpus: WriteCorpus, tmp_path: Path) -> Iterator[Index]:
    index = _index(
        write_corpus,
        tmp_path,
        {
            "budget.md": "---\ntitle: Westfield adopts its budget\ndate: 2025-03-14\n---\n"
            "The council adopted the plan on Thursday.\n\n"
            "The budget puts 40 million into schools and 12 million into roads.\n\n" + FILLER,
            "tram.md": "---\ntitle: Lakeside tram scheme approved\ndate: 2025-06-02\n---\n"
            "The Lakeside tram scheme was approved by the regional assembly on Monday. "
            "Lines will run from the station to the university.\n\n"
            + FILLER
            + "\n\nThe scheme will be paid for by a bond issue over twenty years.\n\n"
            "Construction starts in the spring, with the first trams due in 2028.",
            "software.md": "---\ntitle: Office computers\ndate: 2025-01-10\n---\n"
            "The office still runs Python 2.7 on two machines, which the staff were paid "
            "to replace by the end of the year.\n\n" + FILLER,
            "visit.md": "---\ntitle: Minister's visit\ndate: 2025-09-20\n---\n"
            "The minister arrived in Lima on Monday morning for a two-day visit. "
            "She met the dockworkers' union and the mayor, Rosa Quispe, at the town hall. "
            "The talks were described as friendly.\n\n" + FILLER,
            "notes.txt": "The harbour notes. " + FILLER * 3,
        },
    )
    yield index
    index.close()


def test_a_common_word_the_corpus_lacks_does_not_veto_the_answer(town: Index) -> None:
    # "money" appears nowhere; it is a common word, not a rare name.
    result = town.search("How much money does the budget put into schools?")
    assert [t.word for t in result.terms if t.df == 0] == ["money"]
    assert result.found, result.evidence
    assert "40 million into schools" in result.hits[0].excerpt


def test_a_version_no_source_holds_is_not_found(town: Index) -> None:
    result = town.search("What's new in Python 3.12?")
    assert not result.found
    assert (result.reason, result.missing) == (Reason.MISSING_NAME, ("3.12",))
    assert town.search("Which machines still run Python 2.7?").found


def test_a_passage_is_read_with_its_documents_title_and_lead(town: Index) -> None:
    # "Lakeside" and "tram" are only in the title and the first paragraph; "paid" is also in
    # another source, which names neither.
    answer = ask(town, "How will the Lakeside tram scheme be paid for?")
    assert answer.found
    assert "bond issue" in answer.citations[0].excerpt
    assert answer.citations[0].title == "Lakeside tram scheme approved"


def test_irregular_word_forms_find_each_other(town: Index) -> None:
    # met/meet, and the excerpt leads with whom she met, not with her arrival.
    answer = ask(town, "Who did the minister meet in Lima?")
    assert answer.found
    first = answer.citations[0]
    start, end = first.answer_span or (0, 0)
    assert first.excerpt[start:end].startswith("She met the dockworkers")


def test_the_answering_sentence_is_marked_in_json(town: Index) -> None:
    answer = ask(town, "When do the first trams arrive?")
    data = render_json.to_dict(answer)
    citation = data["citations"][0]  # type: ignore[index]
    start, end = citation["answer_span"]
    assert "2028" in citation["excerpt"][start:end]


def test_a_passage_holding_every_word_outranks_a_shorter_one_holding_fewer(
    write_corpus: WriteCorpus, tmp_path: Path
) -> None:
    index = _index(
        write_corpus,
        tmp_path,
        {
            "short.txt": "Glacier retreat.\n\n" + FILLER,
            "long.txt": "A long report. "
            + FILLER
            + "Glacier retreat in the Andes has cut the water supply of farming towns. "
            + FILLER,
            "other.txt": "Water supply notes. " + FILLER * 2,
        },
    )
    try:
        result = index.search("How has glacier retreat in the Andes affected water supply?")
        assert result.found
        assert result.hits[0].source.path == "long.txt"
    finally:
        index.close()


def test_a_year_no_source_is_dated_in_is_not_found(town: Index) -> None:
    result = town.search("news from 2019")
    assert not result.found
    assert result.reason == Reason.NO_DATE_MATCH
    assert town.search("news from 2025").found


def test_a_date_asked_alone_is_searched_in_the_text_when_no_source_is_dated_so(
    town: Index,
) -> None:
    # No source is dated 2028, but one tells of it: the date is an event, not a filter.
    result = town.search("what happens in 2028?")
    assert result.found
    passage = town.passage(result.hits[0].passage_id)
    assert passage is not None
    assert "first trams due in 2028" in passage.text


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who did the minister meet?", AnswerType.PERSON),
        ("When do the trams arrive?", AnswerType.DATE),
        ("what year did it open", AnswerType.DATE),
        ("Where did she go?", AnswerType.PLACE),
        ("How much money goes to schools?", AnswerType.QUANTITY),
        ("how many trams", AnswerType.QUANTITY),
        ("Why was the scheme approved?", AnswerType.REASON),
        ("¿Cuántos tranvías hay?", AnswerType.QUANTITY),
        ("¿Quién es la alcaldesa?", AnswerType.PERSON),
        ("What did Peru commit to?", AnswerType.OTHER),
    ],
)
def test_the_question_word_says_what_kind_of_answer_is_asked(
    question: str, kind: AnswerType
) -> None:
    assert answer_type(question) == kind


def test_answerability_grows_with_what_the_best_passage_holds(town: Index) -> None:
    held = town.search("How will the Lakeside tram scheme be paid for?").confidence
    partly = town.search("How will the Lakeside ferry be repaired?").confidence
    absent = town.search("What did the Norwegian prime minister say about whaling?").confidence
    assert held > partly > absent
    assert not town.search("What did the Norwegian prime minister say about whaling?").found
