"""The command line and configuration, run as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot import config as configmod
from bot.cli import main
from tests.conftest import SEEDS, UNDATED_SEED, WriteCorpus


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_builds_the_index_first_and_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bm25_config: Path
) -> None:
    db = tmp_path / "fresh.sqlite"
    flags = ("--config", str(bm25_config), "--corpus", str(SEEDS), "--db", str(db))
    code, out, err = run(capsys, "ask", *flags, "What did Peru commit to?")
    assert code == 0, err
    assert db.exists()
    assert out.startswith("What did Peru commit to?\n\n[1] ")
    assert "solidarity efforts for Venezuela" in out
    assert "· undated ·" in out


def test_ask_json_is_exactly_one_object(seed_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = seed_db  # built with passage vectors: the answer says hybrid
    code, out, _ = run(capsys, "ask", "--json", "--corpus", str(SEEDS), "--db", str(db), "jaguar")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {
        "question",
        "found",
        "answerability",
        "answer",
        "retrieval",
        "citations",
    }
    assert data["retrieval"] == "hybrid"
    assert data["found"] is True
    assert 0 < data["answerability"] <= 1
    first = data["citations"][0]
    assert set(first) >= {"n", "title", "date", "source", "excerpt", "answer_span", "score"}
    start, end = first["answer_span"]
    assert 0 <= start < end <= len(first["excerpt"])
    assert first["n"] == 1
    assert first["date"] == "2026-01-07"
    assert "jaguar" in first["excerpt"]
    code, out, _ = run(
        capsys, "ask", "--json", "--corpus", str(SEEDS), "--db", str(db), "capital of Australia"
    )
    data = json.loads(out)
    assert (data["found"], data["citations"]) == (False, [])
    assert data["answer"].startswith("The sources do not answer")
    _, out, _ = run(capsys, "ask", "--json", "--corpus", str(SEEDS), "--db", str(db), "Peru")
    assert json.loads(out)["citations"][0]["date"] is None


def test_index_prints_a_report(
    tmp_path: Path, write_corpus: WriteCorpus, capsys: pytest.CaptureFixture[str], bm25_config: Path
) -> None:
    corpus = write_corpus({"a.txt": "Tides rose over the pier.", "bad.txt": b"\xff\xfe\xfa"})
    flags = (
        "--config",
        str(bm25_config),
        "--corpus",
        str(corpus),
        "--db",
        str(tmp_path / "i.sqlite"),
    )
    code, out, _ = run(capsys, "index", *flags)
    assert code == 0
    assert "Indexed 1 source(s), 1 passage(s)" in out
    assert "skipped: bad.txt: not valid UTF-8" in out
    assert " s: " in out  # seconds


def test_empty_corpus_is_one_line_and_exit_2(
    tmp_path: Path, write_corpus: WriteCorpus, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = write_corpus({})
    code, out, err = run(
        capsys, "ask", "--corpus", str(corpus), "--db", str(tmp_path / "i.sqlite"), "hello"
    )
    assert code == 2
    assert out == ""
    assert err.startswith("error: no indexable sources")
    assert err.count("\n") == 1


def test_sources_lists_titles_and_dates(seed_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sources", "--corpus", str(SEEDS), "--db", str(seed_db))
    assert code == 0
    assert f"{UNDATED_SEED}\tundated\t" in out
    assert "\t2026-01-07\t" in out


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[telegram]\ntokn = 'x'\n", "telegram.tokn"),
        ("[telegram]\nadmin_ids = ['me']\n", "telegram.admin_ids"),
        ("[retrieval]\nk1 = 'high'\n", "retrieval.k1"),
        ("[retrieval]\nepsilon = 0.25\n", "retrieval.epsilon: no longer used"),
        ("[retrieval]\nlanguage = 'klingon'\n", "retrieval.language"),
        ("[retrieval]\nmin_answerability = 3\n", "retrieval.min_answerability"),
        ("[index]\npath = 5\n", "index.path"),
        ("[nonsense]\n", "nonsense"),
        ("[corpus\n", "not valid TOML"),
    ],
)
def test_bad_config_names_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, key: str
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml, encoding="utf-8")
    code, _, err = run(capsys, "ask", "--config", str(cfg), "Peru")
    assert code == 2
    assert key in err
    assert err.count("\n") == 1


def test_config_paths_env_token_and_flags(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[telegram]\ntoken = "from-file"\nadmin_ids = [42]\n'
        '[corpus]\npath = "docs"\n[index]\npath = "out/i.sqlite"\n',
        encoding="utf-8",
    )
    config = configmod.load(cfg, environ={})
    assert config.corpus == tmp_path / "docs"
    assert config.index_path == tmp_path / "out" / "i.sqlite"
    assert config.telegram.token == "from-file"
    assert config.telegram.admin_ids == frozenset({42})
    config = configmod.load(cfg, environ={"TELEGRAM_BOT_TOKEN": "from-env"}, db=Path("x.sqlite"))
    assert config.telegram.token == "from-env"
    assert config.index_path == Path("x.sqlite")
    assert "from-env" not in repr(config)


def test_module_entry_point_runs(tmp_path: Path, seed_db: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "ask",
            "--db",
            str(seed_db),
            "--corpus",
            str(SEEDS),
            "jaguar",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "popular jaguar" in proc.stdout


def test_run_without_token_says_how_to_set_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "run")
    assert code == 2
    assert "TELEGRAM_BOT_TOKEN" in err
    assert "works without one" in err
    assert err.count("\n") == 1


def test_file_names_with_line_breaks_and_direction_marks_stay_on_their_line(
    tmp_path: Path, write_corpus: WriteCorpus, capsys: pytest.CaptureFixture[str], bm25_config: Path
) -> None:
    corpus = write_corpus(
        {
            "two\nlines.txt": "Tides rose over the pier at dawn.",
            "evil\u202etxt.md": "The harbour cranes were counted twice.",
            "bad\r\n.txt": b"\xff\xfe\xfa",
        }
    )
    db = str(tmp_path / "i.sqlite")
    code, out, _ = run(
        capsys, "index", "--config", str(bm25_config), "--corpus", str(corpus), "--db", db
    )
    assert code == 0
    assert any(line.startswith("  skipped: bad\\x0d\\x0a.txt: ") for line in out.splitlines())
    assert "  added: two\\x0alines.txt" in out.splitlines()
    assert "  added: evil\\u202etxt.md" in out.splitlines()
    code, out, _ = run(
        capsys, "sources", "--config", str(bm25_config), "--corpus", str(corpus), "--db", db
    )
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("evil\\u202etxt.md\tundated\t1 passage(s)\t")
    assert lines[1].startswith("two\\x0alines.txt\tundated\t")
    assert lines[2].startswith("bad\\x0d\\x0a.txt\tskipped: ")


def test_ask_without_words_or_with_a_bad_limit_is_one_line(
    seed_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ("--corpus", str(SEEDS), "--db", str(seed_db))
    code, out, err = run(capsys, "ask", *flags, "   ")
    assert (code, out) == (2, "")
    assert err.startswith("error: ask: give a question, for example: python -m bot ask")
    assert err.count("\n") == 1
    for bad in ("0", "51", "many"):
        with pytest.raises(SystemExit) as exit_info:
            main(["ask", *flags, "--limit", bad, "jaguar"])
        assert exit_info.value.code == 2
        assert "--limit" in capsys.readouterr().err


def test_ask_as_text_says_when_the_sources_do_not_answer(
    seed_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ("--corpus", str(SEEDS), "--db", str(seed_db))
    code, out, _ = run(capsys, "ask", *flags, "capital of Australia")
    assert code == 0
    assert out == (
        "capital of Australia\n\n"
        "The sources do not answer this question. None of the sources mentions “Australia”.\n"
    )


def test_eval_exits_1_below_a_threshold(
    seed_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gold = tmp_path / "g.jsonl"
    gold.write_text(
        '{"q": "popular jaguar", "expect_any": ["popular jaguar"], "date": "2026-01-07"}\n'
        '{"q": "capital of Australia", "expect_none": true}\n',
        encoding="utf-8",
    )
    flags = ("--corpus", str(SEEDS), "--db", str(seed_db))
    code, out, err = run(capsys, "eval", str(gold), *flags, "--min-hit1", "1.0")
    assert code == 0, err
    assert "hit@1 1.000" in out
    code, _, err = run(capsys, "eval", str(gold), *flags, "--min-none-recall", "1.01")
    assert code == 1
    assert err == "below threshold: not_found_recall 1.000 < 1.01\n"
