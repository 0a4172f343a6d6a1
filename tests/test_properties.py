"""Properties over any Unicode text: the analyzer, the chunker and excerpts never fail."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index import Index, IndexSettings, build_index, text
from index.analyzer import Analyzer, fold_map
from index.documents import Document, parse

ANALYZER = Analyzer()
WORDS = st.sampled_from(
    ["Peru", "brigade", "Nicolás", "“quoted”", "don't", "2026", "ﬁne", "Straße", "x", "«a»"]
)
TEXTS = st.one_of(
    st.text(max_size=2000),
    st.lists(
        st.one_of(WORDS, st.sampled_from([" ", ". ", "\n", "\n\n", "? ", "… "])), max_size=300
    ).map("".join),
)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_analyzer_takes_any_text(value: str) -> None:
    terms = ANALYZER.terms(value)
    assert all(t and " " not in t for t in terms)
    assert ANALYZER.term_set(value) == set(terms)
    for start, end, _ in ANALYZER.term_spans(value):
        assert 0 <= start < end <= len(value)
    folded, offsets = fold_map(value)
    assert len(offsets) == len(folded) + 1


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.integers(min_value=200, max_value=2000))
def test_chunker_spans_are_ordered_trimmed_slices(value: str, max_chars: int) -> None:
    spans = text.passages(value, 0, max_chars=max_chars, min_chars=50)
    previous = 0
    for start, end in spans:
        assert previous <= start < end <= len(value)
        assert value[start:end] == value[start:end].strip()
        previous = end
    covered = "".join(value[s:e] for s, e in spans)
    assert "".join(covered.split()) == "".join(value.split())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_parse_or_skip_with_a_reason(data: bytes) -> None:
    result = parse("f.txt", data)
    if isinstance(result, Document):
        assert result.title
        assert 0 <= result.body_start < len(result.text)
    else:
        assert result.reason


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(TEXTS, min_size=1, max_size=4), st.lists(st.text(max_size=60), max_size=6))
def test_excerpts_are_verbatim_slices_for_any_corpus_and_question(
    docs: list[str], questions: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "corpus"
        corpus.mkdir()
        for i, body in enumerate(docs):
            # NUL bytes make a file binary, skipped by design.
            clean = body.replace("\x00", "")
            (corpus / f"d{i}.txt").write_text(clean + " anchorword", encoding="utf-8")
        db = Path(folder) / "i.sqlite"
        build_index(corpus, db, IndexSettings())
        index = Index.open(db)
        try:
            for question in [*questions, "anchorword", "Peru brigade"]:
                result = index.search(question, limit=5)
                for hit in result.hits:
                    passage = index.passage(hit.passage_id)
                    assert passage is not None
                    spans = hit.excerpt_spans
                    slices = [passage.text[s - hit.start : e - hit.start] for s, e in spans]
                    expected = ("… " if spans[0][0] > hit.start else "") + " … ".join(slices)
                    expected += " …" if spans[-1][1] < hit.end else ""
                    assert hit.excerpt == expected
                    assert all(hit.start <= s < e <= hit.end for s, e in spans)
        finally:
            index.close()
