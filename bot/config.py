"""Configuration: a TOML file, the TELEGRAM_BOT_TOKEN variable, then command-line flags."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path, PurePosixPath
from typing import Any

from index import AnalyzerSettings, IndexSettings, SearchSettings
from index import ConfigurationError as _IndexConfigurationError

DEFAULT_CONFIG = Path("config.toml")
TOKEN_ENV = "TELEGRAM_BOT_TOKEN"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


@dataclass(frozen=True)
class TelegramConfig:
    """How the bot reaches Telegram."""

    token: str = field(default="", repr=False)
    api_base_url: str = ""
    admin_ids: frozenset[int] = frozenset()
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: str = field(default="", repr=False)
    request_timeout: float = 20.0


@dataclass(frozen=True)
class SourcesConfig:
    """Adding sources from the chat or the command line, and taking them out."""

    # Folders under the corpus: where added sources are saved, where removed ones go.
    inbox: str = "inbox"
    trash: str = ".trash"
    max_upload_bytes: int = 20 * 1024 * 1024
    fetch_timeout: float = 20.0
    fetch_max_bytes: int = 5 * 1024 * 1024
    # Networks a link may lead to although they are private or loopback ("127.0.0.0/8").
    allowed_networks: tuple[IPv4Network | IPv6Network, ...] = ()


@dataclass(frozen=True)
class Config:
    """Everything the program needs, resolved and checked."""

    corpus: Path = Path("seeds")
    index_path: Path = Path("data/index.sqlite")
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    index: IndexSettings = field(default_factory=IndexSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    max_citations: int = 3
    source: Path | None = None
    sources: SourcesConfig = field(default_factory=SourcesConfig)


# Every key the file may hold, with the TOML type it must have.
# Keys of earlier versions, and what to do about them.
_REMOVED = {
    ("retrieval", "epsilon"): "no longer used: BM25 weighs terms by Lucene's idf, which needs "
    "no floor; remove the key",
}
_KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "telegram": {
        "token": str,
        "api_base_url": str,
        "admin_ids": list,
        "webhook_url": str,
        "webhook_listen": str,
        "webhook_port": int,
        "webhook_secret": str,
        "request_timeout": (int, float),
    },
    "corpus": {"path": str, "max_file_mb": (int, float)},
    "index": {"path": str},
    "sources": {
        "inbox": str,
        "trash": str,
        "max_upload_mb": (int, float),
        "fetch_timeout": (int, float),
        "fetch_max_mb": (int, float),
        "allowed_networks": list,
    },
    "retrieval": {
        "language": str,
        "stopwords": bool,
        "k1": (int, float),
        "b": (int, float),
        "passage_chars": int,
        "excerpt_chars": int,
        "max_citations": int,
        "min_answerability": (int, float),
        "min_hit_ratio": (int, float),
        "engine": str,
    },
}


def load(
    path: Path | None = None,
    *,
    corpus: Path | None = None,
    db: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Config:
    """Read the config file (or the defaults), then apply the environment and flags."""
    environ = dict(os.environ) if environ is None else environ
    data: dict[str, Any] = {}
    base = Path.cwd()
    source: Path | None = None
    if path is None and DEFAULT_CONFIG.is_file():
        path = DEFAULT_CONFIG
    if path is not None:
        source = path
        base = path.resolve().parent
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"config file {str(path)!r} not found") from None
        except OSError as exc:
            raise ConfigError(f"config file {str(path)!r} cannot be read: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    _check_keys(data)
    tg = data.get("telegram", {})
    cp = data.get("corpus", {})
    ix = data.get("index", {})
    rt = data.get("retrieval", {})
    sources = _sources(data.get("sources", {}))

    admin_ids = tg.get("admin_ids", [])
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in admin_ids):
        raise ConfigError("telegram.admin_ids: must be a list of numeric Telegram user ids")
    port = tg.get("webhook_port", 8443)
    if not 0 < port < 65536:
        raise ConfigError("telegram.webhook_port: must be between 1 and 65535")
    timeout = tg.get("request_timeout", 20.0)
    if not 1 <= timeout <= 300:
        raise ConfigError("telegram.request_timeout: must be between 1 and 300 seconds")
    webhook_url = tg.get("webhook_url", "")
    if webhook_url and not webhook_url.startswith("https://"):
        raise ConfigError("telegram.webhook_url: Telegram only calls https:// webhook URLs")
    secret = tg.get("webhook_secret", "")
    if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise ConfigError("telegram.webhook_secret: use 1-256 of A-Z a-z 0-9 _ -")
    api_base_url = tg.get("api_base_url", "")
    if api_base_url and not api_base_url.startswith(("http://", "https://")):
        raise ConfigError("telegram.api_base_url: must start with http:// or https://")
    token = environ.get(TOKEN_ENV) or tg.get("token", "")
    telegram = TelegramConfig(
        token=token.strip(),
        api_base_url=api_base_url,
        admin_ids=frozenset(admin_ids),
        webhook_url=webhook_url,
        webhook_listen=tg.get("webhook_listen", "127.0.0.1"),
        webhook_port=port,
        webhook_secret=secret,
        request_timeout=float(timeout),
    )

    max_mb = cp.get("max_file_mb", 20)
    if max_mb <= 0:
        raise ConfigError("corpus.max_file_mb: must be positive")
    passage_chars = rt.get("passage_chars", 1200)
    if passage_chars < 200:
        raise ConfigError("retrieval.passage_chars: must be at least 200")
    max_citations = rt.get("max_citations", 3)
    if not 1 <= max_citations <= 10:
        raise ConfigError("retrieval.max_citations: must be between 1 and 10")
    try:
        index_settings = IndexSettings(
            analyzer=AnalyzerSettings(
                language=rt.get("language", "english"), stopwords=rt.get("stopwords", True)
            ),
            passage_chars=passage_chars,
            max_file_bytes=int(max_mb * 1024 * 1024),
        )
        search = SearchSettings(
            k1=float(rt.get("k1", 1.2)),
            b=float(rt.get("b", 0.75)),
            excerpt_chars=rt.get("excerpt_chars", 400),
            min_answerability=float(rt.get("min_answerability", SearchSettings.min_answerability)),
            min_hit_ratio=float(rt.get("min_hit_ratio", 0.5)),
            engine=rt.get("engine", "auto"),
        )
    except _IndexConfigurationError as exc:
        raise ConfigError(str(exc)) from None
    config = Config(
        corpus=_path(base, cp.get("path", "seeds")),
        index_path=_path(base, ix.get("path", "data/index.sqlite")),
        telegram=telegram,
        index=index_settings,
        search=search,
        max_citations=max_citations,
        source=source,
        sources=sources,
    )
    if corpus is not None:
        config = replace(config, corpus=corpus)
    if db is not None:
        config = replace(config, index_path=db)
    return config


def _sources(sc: dict[str, Any]) -> SourcesConfig:
    folders: dict[str, str] = {}
    for key, default in (("inbox", "inbox"), ("trash", ".trash")):
        value = sc.get(key, default)
        parts = PurePosixPath(value).parts
        if not parts or PurePosixPath(value).is_absolute() or ".." in parts or "\\" in value:
            raise ConfigError(
                f"sources.{key}: must be a folder inside the corpus, such as {default!r}"
            )
        folders[key] = PurePosixPath(value).as_posix()
    if folders["inbox"].startswith("."):
        raise ConfigError("sources.inbox: a folder starting with '.' is never indexed")
    if not folders["trash"].startswith("."):
        raise ConfigError("sources.trash: must start with '.' so that it is never indexed")
    limits: dict[str, float] = {}
    for name, fallback, top in (
        ("max_upload_mb", 20, 2000),
        ("fetch_max_mb", 5, 200),
        ("fetch_timeout", 20, 600),
    ):
        number = sc.get(name, fallback)
        if not 0 < number <= top:
            raise ConfigError(f"sources.{name}: must be above 0 and at most {top}")
        limits[name] = number
    networks = []
    for value in sc.get("allowed_networks", []):
        try:
            networks.append(ip_network(value, strict=False))
        except (TypeError, ValueError):
            raise ConfigError(
                f"sources.allowed_networks: {value!r} is not a network such as '127.0.0.0/8'"
            ) from None
    return SourcesConfig(
        inbox=folders["inbox"],
        trash=folders["trash"],
        max_upload_bytes=int(limits["max_upload_mb"] * 1024 * 1024),
        fetch_max_bytes=int(limits["fetch_max_mb"] * 1024 * 1024),
        fetch_timeout=float(limits["fetch_timeout"]),
        allowed_networks=tuple(networks),
    )


def _path(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _check_keys(data: dict[str, Any]) -> None:
    for section, values in data.items():
        if section not in _KEYS:
            known = ", ".join(f"[{s}]" for s in _KEYS)
            raise ConfigError(f"{section}: unknown section; known sections are {known}")
        if not isinstance(values, dict):
            raise ConfigError(f"{section}: must be a table ([{section}])")
        for key, value in values.items():
            expected = _KEYS[section].get(key)
            if expected is None and (section, key) in _REMOVED:
                raise ConfigError(f"{section}.{key}: {_REMOVED[section, key]}")
            if expected is None:
                raise ConfigError(f"{section}.{key}: unknown key")
            if isinstance(value, bool) and expected is not bool:
                raise ConfigError(f"{section}.{key}: must be {_type_name(expected)}, not a boolean")
            if not isinstance(value, expected):
                raise ConfigError(
                    f"{section}.{key}: must be {_type_name(expected)}, not {type(value).__name__}"
                )


def _type_name(expected: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "a list",
    }
    if isinstance(expected, tuple):
        return "a number"
    return names.get(expected, expected.__name__)
