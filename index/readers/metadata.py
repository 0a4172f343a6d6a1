"""What a file states about itself: front matter, dates and links, read without guessing."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import yaml

# Front matter larger than this, or using more YAML aliases, is refused: a few hundred
# bytes of nested aliases can expand to gigabytes once read.
MAX_FRONT_MATTER_BYTES = 64 * 1024
MAX_YAML_ALIASES = 20
MAX_NESTING = 32

# Keys that state when a source was published, and when it was last updated, in order.
PUBLISHED_KEYS = (
    "date",
    "published",
    "pubdate",
    "publishdate",
    "published_at",
    "publish_date",
    "date_published",
    "datepublished",
    "created",
    "created_at",
)
UPDATED_KEYS = (
    "updated",
    "lastmod",
    "last_modified",
    "last_modified_at",
    "modified",
    "date_modified",
    "datemodified",
    "updated_at",
    "updateddate",
)
URL_KEYS = ("source", "url", "link", "canonical_url", "canonical")
# Keys holding the path a page is published under ("2020/01/30/Rust-1.41.0").
PATH_KEYS = ("path", "permalink", "url", "slug")


class DateOrigin(StrEnum):
    """Where a source's publication date was read from."""

    FRONT_MATTER = "front matter"
    MARKER = "date line"
    PAGE_PATH = "front matter path"
    FILE_NAME = "file name"
    FOLDER_PATH = "folder path"
    HTML = "page metadata"
    PDF = "PDF metadata"
    DOCX = "document properties"
    NONE = "none"


class FrontMatterError(ValueError):
    """Front matter that cannot be read safely; the message is the skip reason."""


@dataclass(frozen=True)
class FrontMatter:
    """A front-matter block: its keys (lower case) and where the body starts."""

    meta: Mapping[str, object]
    end: int
    # A date-like value under a date key that is not a date ("yesterday", "2024-13-40").
    unreadable_date: str | None = None


_YAML_RE = re.compile(r"---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_TOML_RE = re.compile(r"\+\+\+[ \t]*\r?\n(.*?)\r?\n\+\+\+[ \t]*(?:\r?\n|\Z)", re.S)
_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        1,
    )
    for m in names
}
# ISO 8601 and its common relatives: the date part is the date the source states, in the
# offset it states; a time or offset after it never moves it to another day.
_ISO_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
    r"(?:\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?))?)?",
    re.I,
)
_SLASH_RE = re.compile(r"(\d{4})/(\d{2})/(\d{2})")
_MONTH_NAME = r"([A-Za-z]{3,9})\.?"
_DAY_MONTH_YEAR_RE = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH_NAME + r",?\s+(\d{4})")
_MONTH_DAY_YEAR_RE = re.compile(_MONTH_NAME + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})")
_WEEKDAY_RE = re.compile(r"[A-Za-z]{3,9},?\s+")
# A date at the start of a file or folder name: 2024-02-13-title.md, 2024-02-13_title/.
_NAME_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?=$|[-_. ])")
# Year, month and day folders: 2025/02/20/title.md, posts/2025/02/20-title.md.
_PATH_DATE_RE = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})(?=$|/|[-_. ])")
MIN_YEAR = 1000


def front_matter(text: str, start: int) -> FrontMatter | None:
    """The YAML (---) or TOML (+++) block at start, or None when there is none.

    Raises FrontMatterError when a block is there but too large or unsafe to read.
    """
    toml = _TOML_RE.match(text, start)
    if toml is not None:
        raw = _checked_size(toml.group(1))
        try:
            data: object = tomllib.loads(raw)
        except tomllib.TOMLDecodeError as exc:
            raise FrontMatterError(f"TOML front matter is not valid TOML ({exc})") from None
        except RecursionError:
            raise FrontMatterError("front matter nested too deeply") from None
        return _front(data, toml.end())
    yml = _YAML_RE.match(text, start)
    if yml is None:
        return None
    raw = _checked_size(yml.group(1))
    try:
        _check_events(raw)
        # BaseLoader keeps every value a string: dates are read here, never coerced.
        data = yaml.load(raw, Loader=yaml.BaseLoader)
    except yaml.YAMLError:
        return None  # "---" lines that are not front matter: the text stays text
    except RecursionError:
        raise FrontMatterError("front matter nested too deeply") from None
    if not isinstance(data, dict):
        return None
    return _front(data, yml.end())


def _check_events(raw: str) -> None:
    """Refuse YAML with many aliases or deep nesting before building anything from it."""
    aliases = depth = 0
    for event in yaml.parse(raw, yaml.BaseLoader):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
        elif isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_NESTING:
                raise FrontMatterError(f"front matter nested deeper than {MAX_NESTING} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    if aliases > MAX_YAML_ALIASES:
        raise FrontMatterError(
            f"front matter uses {aliases} YAML aliases (limit {MAX_YAML_ALIASES})"
        )


def _checked_size(raw: str) -> str:
    size = len(raw.encode("utf-8"))
    if size > MAX_FRONT_MATTER_BYTES:
        raise FrontMatterError(
            f"front matter of {size // 1024} KB is over the {MAX_FRONT_MATTER_BYTES // 1024} KB"
            " limit"
        )
    return raw


def _front(data: object, end: int) -> FrontMatter:
    meta = {str(k).lower(): v for k, v in data.items()} if isinstance(data, dict) else {}
    unreadable = None
    for key in (*PUBLISHED_KEYS, *UPDATED_KEYS):
        value = meta.get(key)
        if value is not None and stated_date(value) is None:
            shown = value if isinstance(value, str) else type(value).__name__
            unreadable = f"{key}: {str(shown)[:40]!r}"
            break
    return FrontMatter(meta, end, unreadable)


def first_date(meta: Mapping[str, object], keys: tuple[str, ...]) -> dt.date | None:
    """The first readable date under any of keys."""
    for key in keys:
        date = stated_date(meta.get(key))
        if date is not None:
            return date
    return None


def first_string(meta: Mapping[str, object], keys: tuple[str, ...]) -> str | None:
    """The first non-empty string under any of keys (lists and tables are not strings)."""
    for key in keys:
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return None


def first_url(meta: Mapping[str, object]) -> str | None:
    """The source's web address: the first http(s) URL under a link key."""
    for key in URL_KEYS:
        value = meta.get(key)
        if isinstance(value, str) and value.strip().lower().startswith(("http://", "https://")):
            return value.strip()
    return None


def stated_date(value: object) -> dt.date | None:
    """The calendar date a metadata value states, or None; never a guess.

    Date-times keep the day they state, whatever their offset: "2019-05-02 23:30 -0700"
    is 2 May 2019, as the author wrote it.
    """
    if isinstance(value, dt.datetime):
        return value.date() if value.year >= MIN_YEAR else None
    if isinstance(value, dt.date):
        return value if value.year >= MIN_YEAR else None
    if not isinstance(value, str):
        return None
    text = value.strip().strip("'\"").strip()
    match = _ISO_RE.fullmatch(text) or _SLASH_RE.fullmatch(text)
    if match:
        return _date(match.group(1), match.group(2), match.group(3))
    if len(text) > 64:
        return None
    rfc = _rfc2822(text)
    if rfc is not None:
        return rfc
    bare = _WEEKDAY_RE.sub("", text, count=1) if _WEEKDAY_RE.match(text) else text
    for candidate in (text, bare):
        named = _DAY_MONTH_YEAR_RE.fullmatch(candidate)
        if named:
            return _named(named.group(3), named.group(2), named.group(1))
        named = _MONTH_DAY_YEAR_RE.fullmatch(candidate)
        if named:
            return _named(named.group(3), named.group(1), named.group(2))
    return None


def _rfc2822(text: str) -> dt.date | None:
    if not re.search(r"\d{1,2}:\d{2}", text):
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.date() if parsed.year >= MIN_YEAR else None


def _named(year: str, month: str, day: str) -> dt.date | None:
    number = _MONTHS.get(month.lower())
    return _date(year, str(number), day) if number else None


def _date(year: str, month: str, day: str) -> dt.date | None:
    try:
        date = dt.date(int(year), int(month), int(day))
    except ValueError:
        return None
    return date if date.year >= MIN_YEAR else None


def name_date(path: str) -> dt.date | None:
    """A date leading the file name (2024-02-13-title.md), or its folder's for index files."""
    parts = path.split("/")
    names = [parts[-1]]
    if len(parts) > 1 and parts[-1].rsplit(".", 1)[0].lstrip("_").lower() == "index":
        names.append(parts[-2])  # page bundles: 2024-02-13-title/index.md
    for name in names:
        match = _NAME_DATE_RE.match(name)
        if match:
            return _date(*match.groups())
    return None


def path_date(path: str) -> dt.date | None:
    """A date in year/month/day folders of a path (2025/02/20/title.md)."""
    match = _PATH_DATE_RE.search(path)
    return _date(*match.groups()) if match else None


def published_path_date(meta: Mapping[str, object]) -> dt.date | None:
    """A date in the path a page says it is published under (path = "2020/01/30/…")."""
    for key in PATH_KEYS:
        value = meta.get(key)
        if isinstance(value, str):
            date = path_date(value.strip().lstrip("/"))
            if date is not None:
                return date
    return None


def pdf_date(value: object) -> dt.date | None:
    """The date of a PDF date string (D:20240506103000+02'00'), as stated."""
    if not isinstance(value, str):
        return None
    match = re.match(r"(?:D:)?(\d{4})(\d{2})(\d{2})", value.strip())
    return _date(*match.groups()) if match else None
