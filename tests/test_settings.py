"""The one table of settings (bot/settings.py) and what follows from it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot import config as configmod
from bot.config import ConfigError
from bot.settings import SETTINGS
from bot.settings_docs import example, readme_table
from index import ConfigurationError

ROOT = Path(__file__).resolve().parent.parent


def test_config_example_is_the_table() -> None:
    committed = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    assert committed == example(), "run: python -m bot.settings_docs example > config.example.toml"


def test_the_readme_shows_the_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_table() in readme, "paste `python -m bot.settings_docs readme` into README.md"


def test_the_example_loads_to_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    from_example = configmod.load(ROOT / "config.example.toml", environ={})
    assert from_example.source == ROOT / "config.example.toml"
    assert replace(from_example, source=None) == configmod.load(None, environ={})
    assert from_example.corpus == ROOT / "seeds"


def test_every_setting_is_described_and_its_default_passes_its_own_checks() -> None:
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    for setting in SETTINGS:
        assert setting.summary, setting.name
        assert setting.type_error(setting.default) is None, setting.name
        assert setting.range_error(setting.default) is None, setting.name


@pytest.mark.parametrize(
    ("toml", "error"),
    [
        ("[telegram]\nwebhook_port = 0\n", "telegram.webhook_port: must be between 1 and 65535"),
        (
            "[telegram]\nrequest_timeout = 0.5\n",
            "telegram.request_timeout: must be between 1 and 300 seconds",
        ),
        ("[retrieval]\nmax_citations = 11\n", "retrieval.max_citations: must be between 1 and 10"),
        ("[limits]\nuser_questions = -1\n", "limits.user_questions: must be at least 0"),
        ("[delivery]\nper_chat_per_second = 0\n", "delivery.per_chat_per_second: must be above 0"),
        (
            "[sources]\nfetch_max_mb = 201\n",
            "sources.fetch_max_mb: must be above 0 and at most 200",
        ),
        ("[retrieval]\nk1 = true\n", "retrieval.k1: must be a number, not a boolean"),
        ("[retrieval]\nepsilon = 0.25\n", "retrieval.epsilon: no longer used"),
        ("[retrieval]\nshout = 1\n", "retrieval.shout: unknown key"),
        ("[nowhere]\nx = 1\n", "nowhere: unknown section"),
        # Checks that are not ranges.
        (
            '[telegram]\nwebhook_url = "http://plain.example/hook"\n',
            "telegram.webhook_url: Telegram only calls https://",
        ),
        ('[telegram]\nwebhook_secret = "has spaces"\n', "telegram.webhook_secret: use 16-256"),
        ('[telegram]\napi_base_url = "ftp://x"\n', "telegram.api_base_url: must start with"),
        # Checked by the index's own settings classes, the same error class.
        ("[retrieval]\nb = 2\n", "retrieval.b: must be between 0 and 1"),
        ('[retrieval]\nlanguage = "klingon"\n', "retrieval.language: unknown language"),
        ("[retrieval]\npassage_chars = 100\n", "retrieval.passage_chars: must be at least 200"),
    ],
)
def test_a_bad_value_is_one_line_naming_its_key(tmp_path: Path, toml: str, error: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        configmod.load(path, environ={})
    assert str(raised.value).startswith(error)
    assert "\n" not in str(raised.value)
    assert ConfigError is ConfigurationError
