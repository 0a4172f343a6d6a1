"""Answers over the seeds and small literal corpora."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.answer import ask
from index import (
    ELLIPSIS,
    MISSING_NAME,
    NO_TERMS,
    Index,
    IndexSettings,
    SearchSettings,
    build_index,
)
from tests.conftest import DATED_SEED, UNDATED_SEED, WriteCorpus


def test_peru_question_leads_with_the_peruvian_commitments(seed_index: Index) -> None:
    answer = ask(seed_index, "What did Peru commit to?")
    assert answer.found
    first = answer.citations[0]
    assert first.source == UNDATED_SEED
    assert first.date is None
    assert "solidarity efforts for Venezuela" in first.excerpt
    assert "defense brigade initiatives" in first.excerpt
    assert "Mexico City" not in first.excerpt


def test_hits_name_the_question_words_their_passage_contains(seed_index: Index) -> None:
    result = seed_index.search("Peru commit brigade solidarity film", limit=5)
    assert result.hits
    for hit in result.hits:
        passage = seed_index.passage(hit.passage_id)
        assert passage is not None
        terms = seed_index.analyzer.term_set(passage.text)
        expected = {t.word for t in result.terms if t.df and not t.stems.isdisjoint(terms)}
        assert set(hit.matched) == expected


def test_question_about_the_dated_seed_shows_its_date(seed_index: Index) -> None:
    answer = ask(seed_index, "What did Trump say about Petro?")
    first = answer.citations[0]
    assert first.source == DATED_SEED
    assert first.date == dt.date(2026, 1, 7)
    assert "watch his ass" in first.excerpt


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of Australia?",
        "What did Brazil commit to?",
        "what did brazil commit to",
        "How do I bake sourdough bread?",
    ],
)
def test_unrelated_questions_are_not_found(seed_index: Index, question: str) -> None:
    answer = ask(seed_index, question)
    assert not answer.found
    assert answer.citations == ()
    assert answer.text.startswith("The sources do not answer this question.")


def test_missing_name_is_named_in_the_reply(seed_index: Index) -> None:
    result = seed_index.search("What did Brazil commit to?")
    assert (result.reason, result.missing) == (MISSING_NAME, ("Brazil",))
    assert "“Brazil”" in ask(seed_index, "What did Brazil commit to?").text


@pytest.mark.parametrize("question", ["", "   ", "what is it?", "?!", "the of and"])
def test_questions_without_content_words_ask_for_words(seed_index: Index, question: str) -> None:
    result = seed_index.search(question)
    assert (result.found, result.reason) == (False, NO_TERMS)


@pytest.mark.parametrize("spelling", ["Nicolas", "nicolás", "NICOLÁS"])
def test_accent_folding_finds_the_accented_name(seed_index: Index, spelling: str) -> None:
    answer = ask(seed_index, f"the film {spelling}")
    assert answer.found
    assert "Nicolás" in answer.citations[0].excerpt


def test_every_excerpt_is_a_verbatim_slice_of_its_source(seed_index: Index) -> None:
    for question in ["What did Peru commit to?", "jaguar", "defense brigade Venezuela", "UN"]:
        result = seed_index.search(question, limit=10)
        for hit in result.hits:
            content = seed_index.passage(hit.passage_id)
            assert content is not None
            for start, end in hit.excerpt_spans:
                assert hit.start <= start < end <= hit.end
            pieces = [p.strip() for p in hit.excerpt.split(ELLIPSIS) if p.strip()]
            assert pieces
            assert all(p in content.text for p in pieces)


def test_excerpts_are_cut_at_sentences_with_an_ellipsis(seed_index: Index) -> None:
    answer = ask(seed_index, "What did Peru commit to?")
    first = answer.citations[0].excerpt
    assert ELLIPSIS in first
    assert len(first) <= seed_index.search_settings.excerpt_chars + 10
    for piece in first.split(ELLIPSIS):
        piece = piece.strip()
        assert piece[:1].isupper()
        assert piece[-1] in ".”"


def test_paging_gives_the_next_citations(seed_index: Index) -> None:
    first = ask(seed_index, "Venezuela defense brigade", limit=2)
    second = ask(seed_index, "Venezuela defense brigade", limit=2, offset=2)
    assert first.has_more
    assert first.total > 2
    assert [c.n for c in second.citations] == [3, 4]
    assert {c.passage_id for c in first.citations}.isdisjoint(
        c.passage_id for c in second.citations
    )


def test_term_in_half_the_passages_is_still_found(
    tmp_path: Path, write_corpus: WriteCorpus
) -> None:
    # BM25Okapi scored a term found in exactly half of the passages 0; Lucene's idf, the
    # index's, is positive for every term a passage holds.
    corpus = write_corpus(
        {"a.txt": "The harbour froze in winter.", "b.txt": "Farmers planted rice."}
    )
    build_index(corpus, tmp_path / "i.sqlite", IndexSettings())
    index = Index.open(tmp_path / "i.sqlite", search=SearchSettings(retrieval="bm25"))
    result = index.search("Which harbour froze?")
    assert result.found
    assert result.hits[0].source.path == "a.txt"
    assert result.hits[0].score > 0.0
    assert len(result.hits) == 1
    index.close()


def test_demonym_finds_the_country_and_back(tmp_path: Path, write_corpus: WriteCorpus) -> None:
    corpus = write_corpus(
        {
            "a.txt": "The Norwegian fleet sailed north in spring.",
            "b.txt": "Norway and Sweden signed a treaty.",
            "c.txt": "Elsewhere, farmers planted rice.",
        }
    )
    build_index(corpus, tmp_path / "i.sqlite", IndexSettings())
    index = Index.open(tmp_path / "i.sqlite")
    assert {h.source.path for h in index.search("What did Norway do?").hits} == {"a.txt", "b.txt"}
    assert {h.source.path for h in index.search("norwegian").hits} == {"a.txt", "b.txt"}
    index.close()


def test_sources_list_titles_dates_and_passage_counts(seed_index: Index) -> None:
    sources = {s.path: s for s in seed_index.sources()}
    assert sources[DATED_SEED].date == dt.date(2026, 1, 7)
    assert sources[UNDATED_SEED].date is None
    assert sum(s.passages for s in sources.values()) == seed_index.passage_count


def test_unknown_passage_id_is_none(seed_index: Index) -> None:
    assert seed_index.passage(10**9) is None


def test_question_about_a_month_answers_from_sources_dated_then(seed_index: Index) -> None:
    answer = ask(seed_index, "What was said in January 2026?")
    assert answer.found
    assert {c.date for c in answer.citations} == {dt.date(2026, 1, 7)}


def test_date_with_no_source_is_not_found_and_never_uses_undated(seed_index: Index) -> None:
    answer = ask(seed_index, "What happened before December?")
    assert not answer.found
    assert answer.text.startswith("No source is dated before December 2025")


def test_latest_puts_the_newest_dated_source_first(seed_index: Index) -> None:
    answer = ask(seed_index, "the latest on Colombia", limit=5)
    dates = [c.date for c in answer.citations]
    assert dates[0] == dt.date(2026, 1, 7)
    assert dates == sorted(dates, key=lambda d: (d is None, -(d.toordinal() if d else 0)))


def test_a_date_in_the_text_is_still_found(seed_index: Index) -> None:
    answer = ask(seed_index, "What did Petro say on 4 January?")
    assert "unleash the popular jaguar" in answer.citations[0].excerpt


def test_passages_after_a_country_is_named_are_about_it(seed_index: Index) -> None:
    # "Far-right groups … attacking the Venezuelan Embassy" follows "… visited Argentina".
    answer = ask(seed_index, "What happened to the embassy in Argentina?", limit=2)
    assert any("Venezuelan Embassy in Buenos Aires" in c.excerpt for c in answer.citations)


def test_long_question_is_not_vetoed_by_one_unknown_code(seed_index: Index) -> None:
    short = seed_index.search("What did XQ7 commit to?")
    assert (short.found, short.reason) == (False, MISSING_NAME)
    long = seed_index.search(
        "Which Peruvian union declared it was ready to join the solidarity efforts XQ7?"
    )
    assert long.found
    assert "solidarity efforts for Venezuela" in long.hits[0].excerpt
