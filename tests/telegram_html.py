"""Telegram's HTML parse rules, as a checker for every message the bot sends."""

from __future__ import annotations

import html
import re

ALLOWED_TAGS = {
    "b": set(),
    "strong": set(),
    "i": set(),
    "em": set(),
    "u": set(),
    "ins": set(),
    "s": set(),
    "strike": set(),
    "del": set(),
    "a": {"href"},
    "code": {"class"},
    "pre": set(),
    "blockquote": {"expandable"},
    "tg-spoiler": set(),
    "span": {"class"},
    "tg-emoji": {"emoji-id"},
}
_TAG_RE = re.compile(r"<(/?)([a-z-]+)((?:\s+[a-z-]+(?:=\"[^\"<>]*\")?)*)\s*>")
_ATTR_RE = re.compile(r"\s+([a-z-]+)(?:=\"([^\"<>]*)\")?")
_ENTITY_RE = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


# Tags Telegram treats as the same entity.
_SAME = {"strong": "b", "em": "i", "ins": "u", "strike": "s", "del": "s"}

# An entity as Telegram stores it: its kind, attributes, and where it starts and ends in the
# visible text.
Entity = tuple[str, str, int, int]


class TelegramHtmlError(ValueError):
    """The text would make Telegram answer "can't parse entities"."""


def check(text: str, limit: int = 4096) -> str:
    """Validate Telegram HTML; return the visible text (entities decoded, tags removed)."""
    return parse(text, limit)[0]


def parse(text: str, limit: int = 4096) -> tuple[str, tuple[Entity, ...]]:
    """Validate Telegram HTML; the visible text and its formatting entities."""
    visible: list[str] = []
    stack: list[str] = []
    opened: list[tuple[str, str, int]] = []
    entities: list[Entity] = []
    length = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "<":
            match = _TAG_RE.match(text, i)
            if not match:
                raise TelegramHtmlError(f"unescaped '<' at {i}: {text[i : i + 20]!r}")
            closing, name, attrs = match.group(1), match.group(2), match.group(3)
            if name not in ALLOWED_TAGS:
                raise TelegramHtmlError(f"unsupported tag <{name}> at {i}")
            if closing:
                if not stack or stack[-1] != name:
                    raise TelegramHtmlError(f"unexpected </{name}> at {i}, open: {stack}")
                stack.pop()
                kind, attributes, start = opened.pop()
                entities.append((kind, attributes, start, length))
            else:
                for attr, _ in _ATTR_RE.findall(attrs):
                    if attr not in ALLOWED_TAGS[name]:
                        raise TelegramHtmlError(f"attribute {attr} not allowed on <{name}>")
                if name == "a" and 'href="' not in attrs:
                    raise TelegramHtmlError("<a> without href")
                stack.append(name)
                opened.append((_SAME.get(name, name), attrs.strip(), length))
            i = match.end()
        elif ch == "&":
            match = _ENTITY_RE.match(text, i)
            if not match:
                raise TelegramHtmlError(f"unescaped '&' at {i}: {text[i : i + 12]!r}")
            visible.append(html.unescape(match.group()))
            length += len(visible[-1])
            i = match.end()
        elif ch == ">":
            raise TelegramHtmlError(f"unescaped '>' at {i}")
        else:
            visible.append(ch)
            length += 1
            i += 1
    if stack:
        raise TelegramHtmlError(f"unclosed tags: {stack}")
    shown = "".join(visible)
    if not shown.strip():
        raise TelegramHtmlError("message text is empty")
    if len(shown.encode("utf-16-le")) // 2 > limit:
        raise TelegramHtmlError(f"message is too long ({len(shown)} characters)")
    return shown, tuple(sorted(entities))
