"""Documents as people have them: blog front matter of every style, web pages, PDF, Word."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from bot import render_console, render_json, render_telegram, views
from bot.answer import ask
from bot.views import report_lines
from index import Index, IndexSettings, build_index, find_quotes
from index.documents import Document, Skipped, parse
from tests.make_docs import scanned_pdf, text_pdf, word_document

FORMATS = Path(__file__).parent / "corpus_formats"
D = dt.date

# (path, the title a person reads, the publication date, the update date, where it was read)
EXPECTED = [
    (
        "jekyll/_posts/2019-05-02-jekyll-4-0-0-pre-alpha1-released.markdown",
        "Jekyll 4.0.0.pre.alpha1 Released",
        D(2019, 5, 2),
        None,
        "front matter",
    ),
    (
        "jekyll/_posts/2016-06-03-gsoc-admin.md",
        "Jekyll's Google Summer of Code Project: The CMS You Always Wanted",
        D(2016, 6, 3),  # "23:21:02 -0700" is still the 3rd where it was written
        None,
        "front matter",
    ),
    (
        "jekyll/_posts/2024-02-13-file-name-date.md",
        "Quarterly harvest statement",
        D(2024, 2, 13),
        None,
        "file name",
    ),
    (
        "hugo/content/posts/rain-report.md",
        "Rain report for the valley",
        D(2021, 6, 10),
        D(2021, 7, 1),
        "front matter",
    ),
    (
        "hugo/content/posts/late-night-vote.md",
        "Late night vote in the council",
        D(2023, 3, 5),
        None,
        "front matter",
    ),
    (
        "hugo/content/posts/toml-front-matter.md",
        "Announcing the orchard census",
        D(2019, 5, 2),
        None,
        "front matter",
    ),
    (
        "hugo/content/posts/2025/02/20/ceasefire-statement.md",
        "Statement on the ceasefire",
        D(2025, 2, 20),
        None,
        "folder path",
    ),
    (
        "zola/content/blog/2021-06-10-bundle/index.md",
        "Moving the blog to a static site generator",
        D(2021, 6, 10),
        D(2022, 1, 15),
        "file name",
    ),
    (
        "zola/content/blog/rust-style-path.md",
        "Announcing Rust 1.41.0",
        D(2020, 1, 30),
        None,
        "front matter path",
    ),
    (
        "zola/content/blog/offset-z.md",
        "Zulu time release notes",
        D(2021, 6, 10),
        None,
        "front matter",
    ),
    (
        "astro/first-post.md",
        "First post on the new site",
        D(2022, 7, 8),
        D(2022, 7, 10),
        "front matter",
    ),
    ("notes/published-key.md", "Solidarity statement", D(2022, 11, 28), None, "front matter"),
    ("notes/undated-memo.txt", "Memo on the well repairs", None, None, "none"),
    ("notes/unreadable-date.md", "Minutes of the assembly", None, None, "none"),
    (
        "pages/council-budget.html",
        "Council approves the school budget",
        D(2024, 5, 6),  # published 22:30 at -05:00: still the 6th, as the page says
        D(2024, 5, 8),
        "page metadata",
    ),
    (
        "pages/harbour-strike.htm",
        "Harbour workers end their strike",
        D(2023, 11, 2),
        D(2023, 11, 3),
        "page metadata",
    ),
    ("pages/undated-page.html", "About the water committee", None, None, "none"),
]


def read(path: str) -> Document:
    result = parse(path, (FORMATS / path).read_bytes())
    assert isinstance(result, Document), result
    return result


@pytest.mark.parametrize(("path", "title", "date", "updated", "origin"), EXPECTED)
def test_title_and_dates_a_person_would_read(
    path: str, title: str, date: D | None, updated: D | None, origin: str
) -> None:
    d = read(path)
    assert (d.title, d.date, d.updated, str(d.date_origin)) == (title, date, updated, origin)


def test_every_file_of_the_formats_corpus_is_in_the_table() -> None:
    files = {p.relative_to(FORMATS).as_posix() for p in FORMATS.rglob("*") if p.is_file()}
    assert files == {row[0] for row in EXPECTED}


@pytest.mark.parametrize("path", [row[0] for row in EXPECTED if row[0].endswith("md")])
def test_front_matter_is_never_text(path: str) -> None:
    body = read(path).text[read(path).body_start :]
    for marker in ("+++", "---", "title =", "title:", "aliases", "date =", "date:"):
        assert marker not in body


def test_source_url_keys_take_only_web_addresses() -> None:
    assert read("hugo/content/posts/late-night-vote.md").url == (
        "https://example.org/council/late-night-vote"
    )
    assert read("hugo/content/posts/rain-report.md").url is None  # "url: /posts/…" is a path
    assert read("pages/council-budget.html").url == (
        "https://valleynews.example/2024/council-approves-school-budget/"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-06-10T00:00:00+00:00", D(2021, 6, 10)),
        ("2021-06-10T23:59:59Z", D(2021, 6, 10)),
        ("2021-06-10T23:30:00-07:00", D(2021, 6, 10)),
        ("2021-06-10T00:30:00+14:00", D(2021, 6, 10)),
        ("2019-05-02 10:00:00 +0000", D(2019, 5, 2)),
        ("2019-05-02 10:00", D(2019, 5, 2)),
        ("'2019-05-02'", D(2019, 5, 2)),
        ("2019/05/02", D(2019, 5, 2)),
        ("Jul 08 2022", D(2022, 7, 8)),
        ("July 8, 2022", D(2022, 7, 8)),
        ("8 July 2022", D(2022, 7, 8)),
        ("Thu, 02 May 2019 23:00:00 -0700", D(2019, 5, 2)),
        ("2024-13-40", None),
        ("2024-05", None),
        ("2024", None),
        ("yesterday", None),
        ("0001-01-01T00:00:00Z", None),  # Hugo's zero date states nothing
        ("", None),
    ],
)
def test_stated_dates_keep_the_day_written(value: str, expected: D | None) -> None:
    d = parse("x.md", f"---\ndate: {value}\n---\nSome text here.".encode())
    assert isinstance(d, Document)
    assert d.date == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("2024-02-13-title.md", D(2024, 2, 13)),
        ("2024-02-13_title.md", D(2024, 2, 13)),
        ("2024-02-13.md", D(2024, 2, 13)),
        ("posts/2025/02/20/title.md", D(2025, 2, 20)),
        ("2025/02/20.md", D(2025, 2, 20)),
        ("blog/2021-06-10-bundle/index.md", D(2021, 6, 10)),
        ("blog/2021-06-10-bundle/_index.md", D(2021, 6, 10)),
        ("blog/2021-06-10-bundle/notes.md", None),  # only a bundle's own index takes it
        ("v2024-02-13.md", None),
        ("20240213.md", None),
        ("2024-02-30-title.md", None),
        ("reports/2025/02/summary.md", None),
    ],
)
def test_dates_from_file_names_and_folders(path: str, expected: D | None) -> None:
    d = parse(path, b"Some text here.")
    assert isinstance(d, Document)
    assert d.date == expected


def test_stated_date_wins_over_the_file_name() -> None:
    d = parse("2024-02-13-x.md", b"---\ndate: 2020-01-01\n---\nText.")
    assert isinstance(d, Document)
    assert (d.date, str(d.date_origin)) == (D(2020, 1, 1), "front matter")


def test_toml_front_matter_with_a_syntax_error_is_skipped_not_shown() -> None:
    result = parse("x.md", b'+++\ntitle = "unterminated\n+++\nBody text.')
    assert isinstance(result, Skipped)
    assert "TOML front matter is not valid TOML" in result.reason


def test_html_menus_and_footers_never_become_text() -> None:
    d = read("pages/council-budget.html")
    for word in ("Zorblax", "Quibbleflux", "Wobblegrit", "Flibbertine", "Grommulent"):
        assert word not in d.text
    for word in ("Snorkwallop", "Frobnitzal", "Plimsquat", "Skip to content"):
        assert word not in d.text
    assert "“We listened to the families, and this budget is the result,”" in d.text
    assert "Gribbleton" not in read("pages/harbour-strike.htm").text
    assert "Blorptastic" not in read("pages/harbour-strike.htm").text
    assert "Kwazzle" not in read("pages/undated-page.html").text


@pytest.fixture
def formats_corpus(tmp_path: Path) -> Path:
    """The formats corpus, with a multi-page PDF, a scanned PDF and a Word document."""
    corpus = tmp_path / "corpus"
    shutil.copytree(FORMATS, corpus)
    (corpus / "pdf").mkdir()
    (corpus / "pdf" / "annual-report.pdf").write_bytes(text_pdf())
    (corpus / "pdf" / "scan.pdf").write_bytes(scanned_pdf())
    (corpus / "pdf" / "minutes.docx").write_bytes(word_document())
    return corpus


def test_formats_corpus_indexes_with_dates_and_an_undated_count(
    formats_corpus: Path, tmp_path: Path
) -> None:
    report = build_index(formats_corpus, tmp_path / "i.sqlite", IndexSettings())
    assert report.sources == len(EXPECTED) + 2
    assert report.undated == 3
    assert report.undated_notes == (("notes/unreadable-date.md", "date: 'last Tuesday'"),)
    assert dict(report.dated_by) == {
        "front matter": 8,
        "file name": 2,
        "folder path": 1,
        "front matter path": 1,
        "page metadata": 2,
        "PDF metadata": 1,
        "document properties": 1,
    }
    lines = report_lines(report)
    assert lines[2].startswith("Dates: 16 of 19 source(s) dated (front matter 8, ")
    assert "3 of 19 source(s) have no date; dates are read from front matter" in lines[2]
    assert "  undated: notes/unreadable-date.md: date: 'last Tuesday' is not a date" in lines
    [scan] = [s for s in report.skipped if s.path == "pdf/scan.pdf"]
    assert scan.reason.startswith("scanned PDF without a text layer (2 page(s) of images)")
    index = Index.open(tmp_path / "i.sqlite")
    try:
        sources = {s.path: s for s in index.sources()}
        assert sources["pdf/annual-report.pdf"].title == "Annual report of the river cooperative"
        assert sources["pdf/annual-report.pdf"].date == D(2024, 3, 14)
        assert sources["pdf/minutes.docx"].title == "Minutes of the harbour assembly"
        assert sources["pdf/minutes.docx"].date == D(2023, 9, 1)
        # Menu and footer words are nowhere in the index.
        assert not ask(index, "Quibbleflux horoscopes Wobblegrit newsletter").found
        answer = ask(index, "What did the town council approve on Monday night?")
        assert answer.citations[0].source == "pages/council-budget.html"
        assert answer.citations[0].date == D(2024, 5, 6)
    finally:
        index.close()


def test_pdf_page_numbers_reach_every_rendering(formats_corpus: Path, tmp_path: Path) -> None:
    build_index(formats_corpus, tmp_path / "i.sqlite", IndexSettings())
    index = Index.open(tmp_path / "i.sqlite")
    try:
        answer = ask(index, "What did the cooperative spend its surplus on?")
        lead = answer.citations[0]
        assert (lead.source, lead.page) == ("pdf/annual-report.pdf", 3)
        assert "threshing machine" in lead.excerpt
        assert ask(index, "Who was elected president of the cooperative?").citations[0].page == 4
        assert ask(index, "How many tonnes of rice were harvested?").citations[0].page == 2
        text = render_console.to_text(answer)
        assert "— Annual report of the river cooperative · p. 3 · 2024-03-14 · pdf/" in text
        assert json.loads(render_json.to_json(answer))["citations"][0]["page"] == 3
        html = render_telegram.answer_messages(answer)[0]
        assert "Annual report of the river cooperative · p. 3 · <i>2024-03-14</i>" in html
        [quote] = find_quotes(index, '"a second threshing machine"').quotes
        assert quote.page == 3
        card = views.quote_card(quote)
        assert "river cooperative · p. 3 · <i>2024-03-14</i>" in render_telegram.quote_block(card)
        assert find_quotes(index, "Rosa Quispe president").quotes[0].page == 4
        other = ask(index, "What did the council approve for the school?").citations[0]
        assert other.page is None
        assert " p. " not in render_console.citation_line(other)
    finally:
        index.close()


def test_excerpts_are_verbatim_slices_of_the_stored_extracted_text(
    formats_corpus: Path, tmp_path: Path
) -> None:
    build_index(formats_corpus, tmp_path / "i.sqlite", IndexSettings())
    index = Index.open(tmp_path / "i.sqlite")
    try:
        for question in (
            "What did Ana Ruiz say about the budget?",
            "What did the harbour workers get?",
            "Why did the cooperative have a surplus?",
            "What did the harbour assembly agree?",
        ):
            result = index.search(question)
            assert result.found, question
            for hit in result.hits:
                content = index.passage(hit.passage_id)
                assert content is not None
                for start, end in hit.excerpt_spans:
                    assert hit.start <= start < end <= hit.end
                    piece = content.text[start - hit.start : end - hit.start]
                    assert piece in hit.excerpt
    finally:
        index.close()
