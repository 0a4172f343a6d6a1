"""Configuration: a TOML file, the TELEGRAM_BOT_TOKEN variable, then command-line flags."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path, PurePosixPath
from typing import Any

from index import (
    BUNDLED_EMBEDDING_MODEL,
    AnalyzerSettings,
    ConfigurationError,
    IndexSettings,
    SearchSettings,
)

from .settings import BY_KEY, REMOVED, SECTIONS, SETTINGS

DEFAULT_CONFIG = Path("config.toml")
TOKEN_ENV = "TELEGRAM_BOT_TOKEN"


# The configuration cannot be used; the message names the key. One class for the bot's
# settings and the index's: the index checks its own.
ConfigError = ConfigurationError


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


MIN_WEBHOOK_SECRET = 16


@dataclass(frozen=True)
class AccessConfig:
    """Who may use the bot: both lists empty means everyone."""

    allowed_user_ids: frozenset[int] = frozenset()
    allowed_chat_ids: frozenset[int] = frozenset()

    @property
    def open(self) -> bool:
        """Whether the bot answers everyone."""
        return not self.allowed_user_ids and not self.allowed_chat_ids


@dataclass(frozen=True)
class LimitsConfig:
    """How many questions a person and a chat may ask per window; 0 means no limit."""

    window_seconds: float = 60.0
    user_questions: int = 10
    chat_questions: int = 10


@dataclass(frozen=True)
class DeliveryConfig:
    """Telegram's sending limits, and how long a reply may wait out flood control."""

    per_chat_per_second: float = 1.0
    per_group_per_minute: int = 20
    overall_per_second: int = 30
    max_wait_seconds: float = 600.0


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
class FeedbackConfig:
    """Feedback buttons under answers, and the record of questions /stats reports on."""

    enabled: bool = True
    # The feedback store; None means feedback.sqlite beside the index.
    path: Path | None = None
    # Store Telegram user and chat ids as they are, instead of only a keyed hash of them.
    store_ids: bool = False


FEEDBACK_FILE = "feedback.sqlite"


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
    max_drop_share: float = 0.5
    access: AccessConfig = field(default_factory=AccessConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)

    @property
    def feedback_path(self) -> Path:
        """The feedback store: its own SQLite file, beside the index unless configured."""
        return self.feedback.path or self.index_path.with_name(FEEDBACK_FILE)


Values = dict[tuple[str, str], Any]


def load(
    path: Path | None = None,
    *,
    corpus: Path | None = None,
    db: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Config:
    """Read the config file (or the defaults), then apply the environment and flags."""
    environ = dict(os.environ) if environ is None else environ
    source, base, data = _read(path)
    values = _values(data)
    index_settings, search = _index_settings(values, base)
    config = Config(
        corpus=corpus or _path(base, values["corpus", "path"]),
        index_path=db or _path(base, values["index", "path"]),
        telegram=_telegram(values, environ),
        index=index_settings,
        search=search,
        max_citations=values["retrieval", "max_citations"],
        source=source,
        sources=_sources(values),
        max_drop_share=float(values["index", "max_drop_share"]),
        access=AccessConfig(
            allowed_user_ids=_ids(values, "access", "allowed_user_ids", "user"),
            allowed_chat_ids=_ids(values, "access", "allowed_chat_ids", "chat"),
        ),
        limits=LimitsConfig(
            window_seconds=float(values["limits", "window_seconds"]),
            user_questions=values["limits", "user_questions"],
            chat_questions=values["limits", "chat_questions"],
        ),
        delivery=DeliveryConfig(
            per_chat_per_second=float(values["delivery", "per_chat_per_second"]),
            per_group_per_minute=values["delivery", "per_group_per_minute"],
            overall_per_second=values["delivery", "overall_per_second"],
            max_wait_seconds=float(values["delivery", "max_wait_seconds"]),
        ),
        feedback=_feedback(base, values),
    )
    if config.feedback_path.resolve() == config.index_path.resolve():
        raise ConfigError(
            "feedback.path: must not be the index file (a reindex replaces that file); "
            "leave it empty for feedback.sqlite beside the index"
        )
    return config


def _read(path: Path | None) -> tuple[Path | None, Path, dict[str, Any]]:
    """The file read (if any), the folder relative paths start from, and its tables."""
    if path is None and DEFAULT_CONFIG.is_file():
        path = DEFAULT_CONFIG
    if path is None:
        return None, Path.cwd(), {}
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} not found") from None
    except OSError as exc:
        raise ConfigError(f"config file {str(path)!r} cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    return path, path.resolve().parent, data


def _values(data: dict[str, Any]) -> Values:
    """Every setting's value, the file's or the default, checked against the settings
    table (bot/settings.py): known section and key, TOML type, range."""
    for section, table in data.items():
        if section not in SECTIONS:
            known = ", ".join(f"[{s}]" for s in SECTIONS)
            raise ConfigError(f"{section}: unknown section; known sections are {known}")
        if not isinstance(table, dict):
            raise ConfigError(f"{section}: must be a table ([{section}])")
        for key in table:
            if (section, key) in REMOVED:
                raise ConfigError(f"{section}.{key}: {REMOVED[section, key]}")
            if (section, key) not in BY_KEY:
                raise ConfigError(f"{section}.{key}: unknown key")
    values: Values = {}
    for setting in SETTINGS:
        value = data.get(setting.section, {}).get(setting.key, setting.default)
        error = setting.type_error(value) or setting.range_error(value)
        if error is not None:
            raise ConfigError(error)
        values[setting.section, setting.key] = value
    return values


def _telegram(values: Values, environ: dict[str, str]) -> TelegramConfig:
    """The [telegram] table, its URLs and secret checked; the token from the environment
    when TELEGRAM_BOT_TOKEN is set."""
    webhook_url = values["telegram", "webhook_url"]
    if webhook_url and not webhook_url.startswith("https://"):
        raise ConfigError("telegram.webhook_url: Telegram only calls https:// webhook URLs")
    secret = values["telegram", "webhook_secret"]
    if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise ConfigError("telegram.webhook_secret: use 16-256 of A-Z a-z 0-9 _ -")
    if secret and len(secret) < MIN_WEBHOOK_SECRET:
        raise ConfigError(
            f"telegram.webhook_secret: too short to be a secret, use at least "
            f"{MIN_WEBHOOK_SECRET} characters (or leave it empty: a strong one is then made at "
            "each start)"
        )
    api_base_url = values["telegram", "api_base_url"]
    if api_base_url and not api_base_url.startswith(("http://", "https://")):
        raise ConfigError("telegram.api_base_url: must start with http:// or https://")
    token = environ.get(TOKEN_ENV) or values["telegram", "token"]
    return TelegramConfig(
        token=token.strip(),
        api_base_url=api_base_url,
        admin_ids=_ids(values, "telegram", "admin_ids", "user"),
        webhook_url=webhook_url,
        webhook_listen=values["telegram", "webhook_listen"],
        webhook_port=values["telegram", "webhook_port"],
        webhook_secret=secret,
        request_timeout=float(values["telegram", "request_timeout"]),
    )


def _index_settings(values: Values, base: Path) -> tuple[IndexSettings, SearchSettings]:
    """The index's settings; the index's classes check their own values."""

    def retrieval(key: str) -> Any:
        return values["retrieval", key]

    index_settings = IndexSettings(
        analyzer=AnalyzerSettings(language=retrieval("language"), stopwords=retrieval("stopwords")),
        passage_chars=retrieval("passage_chars"),
        max_file_bytes=int(values["corpus", "max_file_mb"] * 1024 * 1024),
    )
    search = SearchSettings(
        k1=float(retrieval("k1")),
        b=float(retrieval("b")),
        excerpt_chars=retrieval("excerpt_chars"),
        min_answerability=float(retrieval("min_answerability")),
        min_hit_ratio=float(retrieval("min_hit_ratio")),
        engine=retrieval("engine"),
        context_weight=float(retrieval("context_weight")),
        coverage_weight=float(retrieval("coverage_weight")),
        embedding_model=_embedding_model(base, retrieval("embedding_model")),
        retrieval=retrieval("mode"),
        dense_weight=float(retrieval("dense_weight")),
    )
    return index_settings, search


def _sources(values: Values) -> SourcesConfig:
    folders: dict[str, str] = {}
    for key in ("inbox", "trash"):
        value = values["sources", key]
        parts = PurePosixPath(value).parts
        if not parts or PurePosixPath(value).is_absolute() or ".." in parts or "\\" in value:
            default = BY_KEY["sources", key].default
            raise ConfigError(
                f"sources.{key}: must be a folder inside the corpus, such as {default!r}"
            )
        folders[key] = PurePosixPath(value).as_posix()
    if folders["inbox"].startswith("."):
        raise ConfigError("sources.inbox: a folder starting with '.' is never indexed")
    if not folders["trash"].startswith("."):
        raise ConfigError("sources.trash: must start with '.' so that it is never indexed")
    networks = []
    for value in values["sources", "allowed_networks"]:
        try:
            networks.append(ip_network(value, strict=False))
        except (TypeError, ValueError):
            raise ConfigError(
                f"sources.allowed_networks: {value!r} is not a network such as '127.0.0.0/8'"
            ) from None
    return SourcesConfig(
        inbox=folders["inbox"],
        trash=folders["trash"],
        max_upload_bytes=int(values["sources", "max_upload_mb"] * 1024 * 1024),
        fetch_max_bytes=int(values["sources", "fetch_max_mb"] * 1024 * 1024),
        fetch_timeout=float(values["sources", "fetch_timeout"]),
        allowed_networks=tuple(networks),
    )


def _ids(values: Values, section: str, key: str, kind: str) -> frozenset[int]:
    ids = values[section, key]
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ConfigError(f"{section}.{key}: must be a list of numeric Telegram {kind} ids")
    return frozenset(ids)


def _feedback(base: Path, values: Values) -> FeedbackConfig:
    path = values["feedback", "path"]
    if path.endswith(("/", "\\")):
        raise ConfigError("feedback.path: must name a file, such as 'data/feedback.sqlite'")
    return FeedbackConfig(
        enabled=values["feedback", "enabled"],
        path=_path(base, path) if path else None,
        store_ids=values["feedback", "store_ids"],
    )


def _embedding_model(base: Path, value: str) -> str:
    """The bundled model by name; a relative folder is read from the config's folder."""
    if not value or value == BUNDLED_EMBEDDING_MODEL:
        return value
    folder = _path(base, value)
    return str(folder) if folder.exists() or value.startswith((".", "/", "~")) else value


def _path(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p
