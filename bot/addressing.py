"""Whether an update is addressed to the bot, and the question a group message asks."""

from __future__ import annotations

import re

from telegram import Bot, Message, MessageEntity, Update
from telegram.constants import ChatType

GROUP_TYPES = (ChatType.GROUP, ChatType.SUPERGROUP)

# Words of thanks, greeting and assent: a message made only of these (or of no words at
# all, such as an emoji) is chit-chat, not a question.
_CHITCHAT = frozenset(
    """
    thanks thank thx tnx ty tysm thankyou you u very much so a lot many great good nice cool
    awesome perfect excellent amazing wonderful brilliant super ok okay k kk alright fine
    got it yes yeah yep yup no nope nah sure lol haha hah hehe wow oh ah hmm hi hello hey
    hiya yo bye goodbye cheers welcome np please pls bot man mate guys all again indeed
    exactly right agreed true merci gracias danke grazie obrigado obrigada спасибо
    """.split()
)
_WORD_RE = re.compile(r"\w+")


def is_addressed(update: Update, bot: Bot) -> bool:
    """Whether the update asks something of the bot (and so may get an answer or a refusal).

    Private messages, button presses and inline queries always do; in groups, only commands
    for this bot, mentions of it and replies to its messages. Edits and service updates
    never do.
    """
    if update.callback_query is not None or update.inline_query is not None:
        return True
    message = update.message
    if message is None:
        return False
    if message.chat.type == ChatType.PRIVATE:
        return True
    if message.chat.type not in GROUP_TYPES:
        return False
    return _command_for(message, bot) or mentions(message, bot) or replies_to(message, bot)


def _command_for(message: Message, bot: Bot) -> bool:
    text = message.text or message.caption or ""
    entities = message.entities or message.caption_entities
    if not text.startswith("/") or not any(
        e.type == MessageEntity.BOT_COMMAND and e.offset == 0 for e in entities
    ):
        return False
    command = text.split(maxsplit=1)[0]
    _, at, name = command.partition("@")
    return not at or name.casefold() == (bot.username or "").casefold()


def mentions(message: Message, bot: Bot) -> bool:
    """Whether the message mentions the bot by @username or as a text mention."""
    return bool(_mention_spans(message, bot))


def replies_to(message: Message, bot: Bot) -> bool:
    """Whether the message replies to one of the bot's messages."""
    replied = message.reply_to_message
    return replied is not None and replied.from_user is not None and replied.from_user.id == bot.id


def _mention_spans(message: Message, bot: Bot) -> list[tuple[int, int]]:
    username = (bot.username or "").casefold()
    spans = []
    for entity, value in message.parse_entities(
        [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
    ).items():
        if (entity.type == MessageEntity.MENTION and value.casefold() == f"@{username}") or (
            entity.type == MessageEntity.TEXT_MENTION
            and entity.user is not None
            and entity.user.id == bot.id
        ):
            spans.append((entity.offset, entity.offset + entity.length))
    return spans


def group_question(message: Message, bot: Bot) -> str | None:
    """The question when a group message mentions the bot or replies to it, else None."""
    spans = _mention_spans(message, bot)
    if not spans and not replies_to(message, bot):
        return None
    text = message.text or ""
    if spans:
        # Entity offsets count UTF-16 units.
        encoded = text.encode("utf-16-le")
        for start, end in sorted(spans, reverse=True):
            encoded = encoded[: start * 2] + b" \x00" + encoded[end * 2 :]
        text = encoded.decode("utf-16-le", errors="replace")
    return text


def is_chitchat(text: str) -> bool:
    """Whether the text is thanks, a greeting or assent rather than a question."""
    words = _WORD_RE.findall(text.casefold())
    return all(w in _CHITCHAT for w in words)
