"""Configuration: a TOML file, the TELEGRAM_BOT_TOKEN variable, then command-line flags."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path, PurePosixPath
from typing import Any

from index import BUNDLED_EMBEDDING_MODEL, AnalyzerSettings, IndexSettings, SearchSettings
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
    "index": {"path": str, "max_drop_share": (int, float)},
    "sources": {
        "inbox": str,
        "trash": str,
        "max_upload_mb": (int, float),
        "fetch_timeout": (int, float),
        "fetch_max_mb": (int, float),
        "allowed_networks": list,
    },
    "access": {"allowed_user_ids": list, "allowed_chat_ids": list},
    "limits": {
        "window_seconds": (int, float),
        "user_questions": int,
        "chat_questions": int,
    },
    "delivery": {
        "per_chat_per_second": (int, float),
        "per_group_per_minute": int,
        "overall_per_second": int,
        "max_wait_seconds": (int, float),
    },
    "feedback": {"enabled": bool, "path": str, "store_ids": bool},
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
        "embedding_model": str,
        "mode": str,
        "dense_weight": (int, float),
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

    admin_ids = _ids(tg, "telegram.admin_ids", "user")
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
        raise ConfigError("telegram.webhook_secret: use 16-256 of A-Z a-z 0-9 _ -")
    if secret and len(secret) < MIN_WEBHOOK_SECRET:
        raise ConfigError(
            f"telegram.webhook_secret: too short to be a secret, use at least "
            f"{MIN_WEBHOOK_SECRET} characters (or leave it empty: a strong one is then made at "
            "each start)"
        )
    api_base_url = tg.get("api_base_url", "")
    if api_base_url and not api_base_url.startswith(("http://", "https://")):
        raise ConfigError("telegram.api_base_url: must start with http:// or https://")
    token = environ.get(TOKEN_ENV) or tg.get("token", "")
    telegram = TelegramConfig(
        token=token.strip(),
        api_base_url=api_base_url,
        admin_ids=admin_ids,
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
            embedding_model=_embedding_model(base, rt.get("embedding_model")),
            retrieval=rt.get("mode", SearchSettings.retrieval),
            dense_weight=float(rt.get("dense_weight", SearchSettings.dense_weight)),
        )
    except _IndexConfigurationError as exc:
        raise ConfigError(str(exc)) from None
    max_drop = ix.get("max_drop_share", 0.5)
    if not 0 <= max_drop <= 1:
        raise ConfigError("index.max_drop_share: must be between 0 and 1 (1 never refuses)")
    ac = data.get("access", {})
    access = AccessConfig(
        allowed_user_ids=_ids(ac, "access.allowed_user_ids", "user"),
        allowed_chat_ids=_ids(ac, "access.allowed_chat_ids", "chat"),
    )
    config = Config(
        corpus=_path(base, cp.get("path", "seeds")),
        index_path=_path(base, ix.get("path", "data/index.sqlite")),
        telegram=telegram,
        index=index_settings,
        search=search,
        max_citations=max_citations,
        source=source,
        sources=sources,
        max_drop_share=float(max_drop),
        access=access,
        limits=_limits(data.get("limits", {})),
        delivery=_delivery(data.get("delivery", {})),
        feedback=_feedback(base, data.get("feedback", {})),
    )
    if corpus is not None:
        config = replace(config, corpus=corpus)
    if db is not None:
        config = replace(config, index_path=db)
    if config.feedback_path.resolve() == config.index_path.resolve():
        raise ConfigError(
            "feedback.path: must not be the index file (a reindex replaces that file); "
            "leave it empty for feedback.sqlite beside the index"
        )
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


def _ids(section: dict[str, Any], key: str, kind: str) -> frozenset[int]:
    ids = section.get(key.rpartition(".")[2], [])
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ConfigError(f"{key}: must be a list of numeric Telegram {kind} ids")
    return frozenset(ids)


def _limits(lm: dict[str, Any]) -> LimitsConfig:
    window = lm.get("window_seconds", 60)
    if not 1 <= window <= 86400:
        raise ConfigError("limits.window_seconds: must be between 1 and 86400")
    for key in ("user_questions", "chat_questions"):
        if lm.get(key, 0) < 0:
            raise ConfigError(f"limits.{key}: must be 0 (no limit) or more")
    return LimitsConfig(
        window_seconds=float(window),
        user_questions=lm.get("user_questions", 10),
        chat_questions=lm.get("chat_questions", 10),
    )


def _delivery(dl: dict[str, Any]) -> DeliveryConfig:
    for key in ("per_chat_per_second", "per_group_per_minute", "overall_per_second"):
        if key in dl and dl[key] <= 0:
            raise ConfigError(f"delivery.{key}: must be positive")
    wait = dl.get("max_wait_seconds", 600)
    if not 1 <= wait <= 86400:
        raise ConfigError("delivery.max_wait_seconds: must be between 1 and 86400")
    return DeliveryConfig(
        per_chat_per_second=float(dl.get("per_chat_per_second", 1.0)),
        per_group_per_minute=dl.get("per_group_per_minute", 20),
        overall_per_second=dl.get("overall_per_second", 30),
        max_wait_seconds=float(wait),
    )


def _feedback(base: Path, fb: dict[str, Any]) -> FeedbackConfig:
    path = fb.get("path", "")
    if path.endswith(("/", "\\")):
        raise ConfigError("feedback.path: must name a file, such as 'data/feedback.sqlite'")
    return FeedbackConfig(
        enabled=fb.get("enabled", True),
        path=_path(base, path) if path else None,
        store_ids=fb.get("store_ids", False),
    )


def _embedding_model(base: Path, value: str | None) -> str:
    """The bundled model by default; a relative folder is read from the config's folder."""
    if value is None:
        return BUNDLED_EMBEDDING_MODEL
    if not value or value == BUNDLED_EMBEDDING_MODEL:
        return value
    folder = _path(base, value)
    return str(folder) if folder.exists() or value.startswith((".", "/", "~")) else value


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
