"""Reading sources: metadata styles, titles, dates and skip reasons."""

from __future__ import annotations

import datetime as dt

import pytest

from index.documents import Document, Skipped, parse
from tests.conftest import DATED_SEED, SEEDS, UNDATED_SEED


def doc(text: str | bytes, path: str = "a.txt") -> Document:
    data = text.encode("utf-8") if isinstance(text, str) else text
    result = parse(path, data)
    assert isinstance(result, Document), result
    return result


def body(d: Document) -> str:
    return d.text[d.body_start :]


def test_dated_seed_marker_is_metadata_not_text() -> None:
    d = doc((SEEDS / DATED_SEED).read_bytes(), DATED_SEED)
    assert d.date == dt.date(2026, 1, 7)
    assert body(d).startswith("The kidnapping of Nicolás Maduro")
    assert "date 2026" not in body(d)
    assert d.title.startswith("The kidnapping of Nicolás Maduro")
    assert len(d.title) <= 80
    assert d.title.endswith("…")


def test_undated_seed_stays_undated() -> None:
    d = doc((SEEDS / UNDATED_SEED).read_bytes(), UNDATED_SEED)
    assert d.date is None
    assert d.title.startswith("The World Anti-Imperialist Platform")


@pytest.mark.parametrize(
    "text",
    [
        "date 2025-03-04 First sentence here. More.",
        "   \n date 2025-03-04\nFirst sentence here. More.",
        "Date: 2025-03-04\n\nFirst sentence here. More.",
    ],
)
def test_date_marker_variants(text: str) -> None:
    d = doc(text)
    assert d.date == dt.date(2025, 3, 4)
    assert body(d).startswith("First sentence here.")


def test_front_matter_gives_title_date_and_source() -> None:
    d = doc(
        "---\ntitle: Rain report\ndate: 2024-05-06\nsource: https://example.org/rain\n---\n"
        "# Heading that is not the title\n\nIt rained a lot.\n",
        "r.md",
    )
    assert (d.title, d.date, d.url) == (
        "Rain report",
        dt.date(2024, 5, 6),
        "https://example.org/rain",
    )
    assert body(d).startswith("# Heading")
    assert "title:" not in body(d)


def test_front_matter_url_key_and_quoted_date() -> None:
    d = doc('---\nurl: "https://x.example/a"\ndate: "2023-01-02"\n---\nText body here.')
    assert d.url == "https://x.example/a"
    assert d.date == dt.date(2023, 1, 2)


def test_title_falls_back_to_markdown_heading() -> None:
    d = doc("Intro line without a heading.\n\n## The real heading ##\n\nBody.", "h.md")
    assert d.title == "The real heading"


def test_title_from_first_sentence_is_shortened_at_a_word() -> None:
    sentence = "Alpha beta gamma " * 10 + "end."
    d = doc(sentence)
    assert d.title.endswith("…")
    assert len(d.title) <= 80
    assert sentence.startswith(d.title[:-1])


@pytest.mark.parametrize("value", ["2024-13-40", "yesterday", "2024-05"])
def test_invalid_dates_are_never_guessed(value: str) -> None:
    assert doc(f"---\ndate: {value}\n---\nSome text.").date is None
    assert doc(f"date {value} Some text.").date is None


def test_a_date_in_the_text_is_not_a_publication_date() -> None:
    assert doc("On 2024-05-06 something happened.").date is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \n\t\n", "empty"),
        (b"\xff\xfe\x00b\x00a\x00d", "binary"),
        (b"caf\xe9 au lait", "UTF-8"),
        (b"---\ntitle: Only metadata\n---\n", "empty"),
        (b"date 2024-01-01   ", "empty"),
    ],
)
def test_unusable_files_are_skipped_with_a_reason(data: bytes, reason: str) -> None:
    result = parse("bad.txt", data)
    assert isinstance(result, Skipped)
    assert reason in result.reason


def test_byte_order_mark_is_not_text() -> None:
    d = doc("\ufeffdate 2020-02-02 Hello there.".encode())
    assert d.date == dt.date(2020, 2, 2)
    assert body(d) == "Hello there."
