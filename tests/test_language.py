"""Questions asked in another language than the corpus's (index/language.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.answer import ask
from index import Index, IndexSettings, SearchSettings, build_index
from index.language import question_language
from tests.conftest import BM25, WriteCorpus


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("¿Qué dijo Petro sobre Venezuela?", "spanish"),
        ("cuánto dinero prometió Chile", "spanish"),
        ("el ministro se reunió con quién en Lima", "spanish"),
        ("o que disse Lula sobre a Venezuela", "portuguese"),
        ("What did Peru commit to?", "english"),
        ("what about La Paz?", "english"),
        ("is china mentioned", "english"),
        ("how much money for schools", "english"),
        ("2026", "english"),
        ("", "english"),
    ],
)
def test_the_language_a_question_is_asked_in(question: str, language: str) -> None:
    words = question.lower().replace("¿", " ").replace("?", " ").split()
    assert question_language(words, "english") == language


def test_an_inverted_question_mark_says_spanish() -> None:
    # Names and cognates alone ("China", "Colombia", "con") do not tell English from
    # Spanish; Spanish's opening mark does.
    words = ["china", "comercia", "con", "colombia"]
    assert question_language(words, "english") == "english"
    assert question_language(words, "english", "¿China comercia con Colombia?") == "spanish"


def test_a_corpus_language_without_frequencies_is_kept() -> None:
    assert question_language(["qué", "dijo", "petro"], "turkish") == "turkish"


STATEMENT = (
    "---\ntitle: Statement on the summit\ndate: 2026-01-05\n---\n"
    "Gustavo Petro stated that the blockade of Venezuela must end and that Colombia would "
    "send doctors to the border.\n\n"
    "The delegation then travelled to Lima, where the harvest festival was held in March.\n"
)


@pytest.fixture
def english_index(tmp_path: Path, write_corpus: WriteCorpus) -> Index:
    corpus = write_corpus({"statement.md": STATEMENT})
    db = tmp_path / "index.sqlite"
    build_index(corpus, db, IndexSettings(), embedding_model="")
    return Index.open(db, search=BM25)


def test_a_spanish_question_over_english_sources_is_answered_by_what_both_share(
    english_index: Index,
) -> None:
    # Read as English, "Qué" is a capitalised word no source holds (a missing name) and
    # "sobre" a rare word: the question was refused.
    answer = ask(english_index, "¿Qué dijo Petro sobre Venezuela?")
    assert answer.found
    assert "blockade of Venezuela" in answer.citations[0].excerpt


def test_a_spanish_question_about_what_no_source_holds_is_still_refused(
    english_index: Index,
) -> None:
    assert not ask(english_index, "¿Qué dijo Petro sobre Japón?").found


def test_spanish_function_words_are_not_question_terms(english_index: Index) -> None:
    words = {
        t.word.lower() for t in english_index.analyze("¿Qué dijo Petro sobre la frontera?").terms
    }
    assert {"qué", "sobre", "la"}.isdisjoint(words)
    assert "petro" in words
    assert english_index.analyze("¿Qué dijo Petro?").language == "spanish"
    assert english_index.analyze("What did Petro say?").language == "english"


def test_an_english_only_model_leaves_a_spanish_question_to_bm25(seed_db: Path) -> None:
    index = Index.open(seed_db, IndexSettings(), SearchSettings())
    try:
        assert index.retrieval == "hybrid"
        spanish = index.search("¿Qué dijo Petro sobre Venezuela?")
        english = index.search("What did Petro say about Venezuela?")
    finally:
        index.close()
    assert spanish.found
    assert spanish.retrieval == "bm25"
    assert english.found
    assert english.retrieval == "hybrid"
    assert "Petro" in spanish.hits[0].excerpt
