"""One analyzer for passages and questions."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import index
from index import AnalyzerSettings, ConfigurationError, fold
from index.analyzer import TOKEN_RE, Analyzer, fold_map, soft_fold


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


def test_accents_case_and_quotes_fold_alike(analyzer: Analyzer) -> None:
    assert analyzer.terms("Nicolás") == analyzer.terms("NICOLAS") == analyzer.terms("nicolas")
    assert analyzer.terms("Workers’ Union") == analyzer.terms("Workers' Union")
    assert analyzer.terms("“Nicolás”") == analyzer.terms('"Nicolas"')


def test_question_words_are_stop_words(analyzer: Analyzer) -> None:
    assert analyzer.terms("What did Peru commit to?") == ["peru", "commit"]
    assert analyzer.terms("Who, when, where, how, why?") == []


def test_words_of_time_place_and_quantity_carry_meaning(analyzer: Analyzer) -> None:
    assert analyzer.terms("Who voted against the plan before the vote?") == [
        "vote",
        "against",
        "plan",
        "befor",
        "vote",
    ]
    assert analyzer.terms("more than a few") == ["more", "few"]


def test_stemming_joins_word_forms(analyzer: Analyzer) -> None:
    assert analyzer.terms("commitment")[0] == analyzer.terms("commit")[0]
    assert analyzer.terms("brigades") == analyzer.terms("brigade")


def test_numbers_are_tokens(analyzer: Analyzer) -> None:
    assert analyzer.terms("On 4 January 2026, the 9th") == ["4", "januari", "2026", "9th"]


def test_term_spans_point_into_the_original_text(analyzer: Analyzer) -> None:
    text = "Él dijo: «Nicolás» ﬁne"
    for start, end, stem in analyzer.term_spans(text):
        assert analyzer.terms(text[start:end]) == [stem]


@pytest.mark.parametrize(
    "text", ["Nicolás", "Straße", "“Quote”", "ﬁne", "İstanbul", "e\u0301t\u00e9"]
)
def test_fold_maps_back_to_source_offsets(text: str) -> None:
    folded, offsets = fold_map(text)
    assert folded == fold(text)
    assert len(offsets) == len(folded) + 1
    assert offsets == sorted(offsets)
    assert offsets[-1] == len(text)
    assert fold("NICOLÁS") == "nicolas"


def test_language_is_configurable() -> None:
    german = Analyzer(AnalyzerSettings(language="german"))
    assert german.terms("Die Häuser und die Hauses") == german.terms("Häuser Hauses")
    with pytest.raises(ConfigurationError, match=r"retrieval\.language"):
        AnalyzerSettings(language="klingon")


def test_stop_words_can_be_kept() -> None:
    keep = Analyzer(AnalyzerSettings(stopwords=False))
    assert "what" in keep.terms("what did Peru commit to")


def test_possessive_s_is_not_a_word(analyzer: Analyzer) -> None:
    assert analyzer.terms("the V&A's collection") == analyzer.terms("the V&A collection")
    assert analyzer.terms("Maduro's film") == ["maduro", "film"]
    spans = analyzer.term_spans("Maduro's film")
    assert spans[0][:2] == (0, 6)


@settings(max_examples=400, deadline=None)
@given(
    text=st.text(
        alphabet=st.sampled_from([*"aZ9_0 '’.,-\n\t\"!?;:()x1é", "Ö", "٣", "ﬁ"]), max_size=40
    )
)
@example(text="3.12, don't 'quoted' e.g. 40,000. x_y 7.")
def test_tokens_are_the_token_pattern_over_the_folded_text(text: str) -> None:
    assert Analyzer().tokens(text) == TOKEN_RE.findall(soft_fold(text))


KEPT_EN = """above after again against before below between down during off out over through
under until up once further few more most all any both each some other same only very too own
nor"""


def test_every_shipped_stop_word_list_is_used() -> None:
    """Each file in index/stopwords/ is a language the analyzer accepts, and its words drop."""
    folder = Path(index.__file__).parent / "stopwords"
    lists = sorted(p.stem for p in folder.glob("*.txt"))
    assert "english" in lists
    assert len(lists) == 12
    for language in lists:
        analyzer = Analyzer(AnalyzerSettings(language=language))
        words = (folder / f"{language}.txt").read_text(encoding="utf-8").split()
        assert analyzer.stopwords, language
        left = set(analyzer.terms(" ".join(words)))
        # English keeps its words of place, time and quantity as content words.
        assert left <= (set(analyzer.terms(KEPT_EN)) if language == "english" else set()), language
