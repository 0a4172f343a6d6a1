"""One bad file or folder is skipped with its reason; the build goes on for the rest."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bot.answer import ask
from bot.views import report_lines
from index import Index, IndexSettings, build_index
from index.documents import MAX_DEPTH, Skipped, parse
from index.readers.metadata import MAX_FRONT_MATTER_BYTES, MAX_YAML_ALIASES
from tests.conftest import WriteCorpus
from tests.make_docs import text_pdf, word_document

GOOD = "The lighthouse keeper reported a storm from the west that lasted three days.\n"

# "Billion laughs": under 600 bytes, nine levels of nine aliases each.
ALIAS_BOMB = (
    "---\n"
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "title: *i\n---\nThe body of the bomb.\n"
)


def reasons(corpus: Path, tmp_path: Path) -> dict[str, str]:
    report = build_index(corpus, tmp_path / "i.sqlite", IndexSettings())
    index = Index.open(tmp_path / "i.sqlite")
    try:
        assert ask(index, "What did the lighthouse keeper report?").found
    finally:
        index.close()
    return {s.path: s.reason for s in report.skipped}


def test_a_symlink_loop_is_skipped(tmp_path: Path, write_corpus: WriteCorpus) -> None:
    corpus = write_corpus({"good.md": GOOD})
    (corpus / "loop.md").symlink_to("loop.md")
    (corpus / "a.md").symlink_to("b.md")
    (corpus / "b.md").symlink_to("a.md")
    found = reasons(corpus, tmp_path)
    assert found["loop.md"] == "symbolic link loop, not followed"
    assert found["a.md"] == found["b.md"] == "symbolic link loop, not followed"


def test_folders_nested_a_thousand_deep_are_skipped(
    tmp_path: Path, write_corpus: WriteCorpus
) -> None:
    corpus = write_corpus({"good.md": GOOD})
    deep = corpus
    for _ in range(1000):
        deep = deep / "d"
        deep.mkdir()
    (deep / "bottom.md").write_text("Too deep to read.")
    try:
        found = reasons(corpus, tmp_path)
    finally:
        # shutil.rmtree (pytest's clean-up) recurses once per level: remove it bottom up.
        (deep / "bottom.md").unlink()
        while deep != corpus:
            deep.rmdir()
            deep = deep.parent
    cut = "/".join(["d"] * MAX_DEPTH)
    assert found == {cut: f"folder nested deeper than {MAX_DEPTH} levels, not read"}


def test_a_yaml_alias_bomb_is_skipped_at_once(tmp_path: Path, write_corpus: WriteCorpus) -> None:
    assert len(ALIAS_BOMB.encode()) < 600
    corpus = write_corpus({"good.md": GOOD, "bomb.md": ALIAS_BOMB})
    started = time.process_time()
    found = reasons(corpus, tmp_path)
    assert found["bomb.md"] == f"front matter uses 73 YAML aliases (limit {MAX_YAML_ALIASES})"
    assert time.process_time() - started < 10  # expanded, it would take gigabytes and minutes


def test_a_few_aliases_are_fine() -> None:
    text = "---\nbase: &b Rain report\ntitle: *b\n---\nIt rained.\n"
    d = parse("ok.md", text.encode())
    assert not isinstance(d, Skipped)
    assert d.title == "Rain report"


def test_a_title_that_is_a_list_is_not_a_title() -> None:
    d = parse("x.md", b"---\ntitle: [a, b]\n---\nIt rained on the hills.\n")
    assert not isinstance(d, Skipped)
    assert d.title == "It rained on the hills."


@pytest.mark.parametrize(
    ("front", "reason"),
    [
        ("---\nnote: " + "x" * MAX_FRONT_MATTER_BYTES + "\n---\n", "front matter of 64 KB is over"),
        ("+++\nnote = '" + "x" * MAX_FRONT_MATTER_BYTES + "'\n+++\n", "front matter of 64 KB"),
        ("---\nx: " + "[" * 5000 + "]" * 5000 + "\n---\n", "front matter nested deeper than 32"),
        ("+++\nx = " + "[" * 5000 + "]" * 5000 + "\n+++\n", "front matter nested too deeply"),
    ],
)
def test_front_matter_limits(front: str, reason: str) -> None:
    result = parse("big.md", (front + "Body text.\n").encode())
    assert isinstance(result, Skipped)
    assert reason in result.reason


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("cut.pdf", text_pdf()[:400], "damaged PDF"),
        ("garbage.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40, "PDF"),
        ("cut.docx", word_document()[:500], "Word document"),
        ("renamed.docx", b"PK\x03\x04" + b"\x00" * 100, "not a Word document"),
        ("binary.html", b"\x7fELF\x02\x01\x01\x00" + bytes(200), "page"),
    ],
)
def test_damaged_documents_are_skipped_with_a_reason(name: str, data: bytes, reason: str) -> None:
    result = parse(name, data)
    assert isinstance(result, Skipped)
    assert reason in result.reason
    assert "\n" not in result.reason


def test_an_unreadable_folder_is_skipped(
    tmp_path: Path, write_corpus: WriteCorpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = write_corpus({"good.md": GOOD, "locked/secret.md": "Hidden text."})
    real = os.scandir

    def scandir(path: os.PathLike[str] | str) -> object:
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr("index.documents.os.scandir", scandir)
    assert reasons(corpus, tmp_path) == {"locked": "folder cannot be read: Permission denied"}


def test_names_with_line_breaks_and_direction_marks_stay_on_one_line(
    tmp_path: Path, write_corpus: WriteCorpus
) -> None:
    corpus = write_corpus({"good.md": GOOD, "bad\nname\u202e.md": ""})
    # The index keeps the real name; the report shows it escaped, on one line.
    assert reasons(corpus, tmp_path) == {"bad\nname\u202e.md": "empty file"}
    report = build_index(corpus, tmp_path / "i.sqlite", IndexSettings())
    assert "  skipped: bad\\x0aname\\u202e.md: empty file" in report_lines(report)
