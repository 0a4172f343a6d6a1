"""The answer service behind the bot: one live index, swapped atomically on reindex."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections import OrderedDict
from dataclasses import dataclass

from index import (
    ELLIPSIS,
    BuildReport,
    Index,
    ProgressCallback,
    Reason,
    ReindexBusyError,
    find_quotes,
    notable_quotes,
)

from . import views
from .answer import Answer, ask
from .config import Config
from .corpus import build, open_index
from .views import QuoteCard, Quotes, SourceList

log = logging.getLogger(__name__)

_REMEMBERED_QUESTIONS = 5000


@dataclass(frozen=True)
class ReindexOutcome:
    """A finished reindex: its report and the index it produced."""

    report: BuildReport
    sources: int
    passages: int


class AnswerService:
    """Answers questions from the current index; all index work runs off the event loop.

    What it returns is plain data (bot.answer.Answer, bot.views): the chat adapters render
    it and never read the index's own objects.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self._index: Index | None = None
        self._retired: list[Index] = []
        self._reindex_lock = asyncio.Lock()
        self._questions: OrderedDict[str, str] = OrderedDict()
        self._notable: tuple[QuoteCard, ...] | None = None

    async def open(self) -> None:
        """Open the index, building it first when there is none yet."""
        self._index = await asyncio.to_thread(open_index, self.config)

    async def close(self) -> None:
        """Close the current and any retired index."""
        for index in [*self._retired, *([self._index] if self._index else [])]:
            index.close()
        self._retired.clear()
        self._index = None

    @property
    def index(self) -> Index:
        """The index answering right now."""
        if self._index is None:
            raise RuntimeError("the answer service is not open")
        return self._index

    @property
    def generation(self) -> str:
        """A short id of the current index, to recognise buttons made by an older one."""
        built = self.index.built_at
        return hashlib.sha1(built.encode()).hexdigest()[:8]

    @property
    def reindexing(self) -> bool:
        """Whether a reindex is running."""
        return self._reindex_lock.locked()

    async def answer(self, question: str, offset: int = 0) -> Answer:
        """Answer a question, one page of citations at a time."""
        index = self.index
        return await asyncio.to_thread(ask, index, question, self.config.max_citations, offset)

    async def quotes(self, query: str, limit: int = 5) -> Quotes:
        """Verbatim quotes for words or an exact phrase."""
        result = await asyncio.to_thread(find_quotes, self.index, query, limit)
        reason = Reason(result.reason) if result.reason else None
        return Quotes(views.quote_cards(result.quotes), reason)

    async def notable(self, limit: int = 5) -> tuple[QuoteCard, ...]:
        """Quoted speech from the newest sources, for an empty inline query."""
        if self._notable is None:
            quotes = await asyncio.to_thread(notable_quotes, self.index, 10)
            self._notable = views.quote_cards(quotes)
        return self._notable[:limit]

    async def passage(self, passage_id: int) -> QuoteCard | None:
        """A whole passage of the current index."""
        passage = await asyncio.to_thread(self.index.passage, passage_id)
        return views.passage_card(passage) if passage is not None else None

    async def sources(self) -> SourceList:
        """The indexed sources and the files the last build skipped."""
        index = self.index
        return await asyncio.to_thread(lambda: views.source_list(index.sources(), index.skipped()))

    async def example_question(self) -> str | None:
        """A question the corpus answers, to show in /help."""
        return await asyncio.to_thread(_example_question, self.index)

    def remember(self, question: str) -> str:
        """A short key for a question, for buttons that need it later."""
        for key, known in reversed(self._questions.items()):
            if known == question:
                self._questions.move_to_end(key)
                return key
        key = secrets.token_urlsafe(6)
        self._questions[key] = question
        while len(self._questions) > _REMEMBERED_QUESTIONS:
            self._questions.popitem(last=False)
        return key

    def recall(self, key: str) -> str | None:
        """The question behind a key, if it is still remembered."""
        return self._questions.get(key)

    async def reindex(
        self, progress: ProgressCallback | None = None, *, force: bool = False
    ) -> ReindexOutcome:
        """Rebuild the index aside and swap it in; the old one answers until then.

        Without force, an index that would drop more than config.max_drop_share of the
        sources is refused (SwapRefusedError) and the old one keeps answering.
        """
        if self._reindex_lock.locked():
            raise ReindexBusyError("a reindex is already running")
        async with self._reindex_lock:
            report = await asyncio.to_thread(build, self.config, progress, force=force)
            fresh = await asyncio.to_thread(open_index, self.config, False)
            old, self._index = self._index, fresh
            self._notable = None
            # Questions already running on the old index finish on it; close it later.
            for retired in self._retired:
                retired.close()
            self._retired = [old] if old is not None else []
            return ReindexOutcome(report, len(fresh.sources()), fresh.passage_count)


def _example_question(index: Index) -> str | None:
    for name in index.frequent_places(5):
        for question in (f"What did {name} commit to?", f"What happened in {name}?"):
            if index.search(question).found:
                return question
    for source in index.sources():
        words = source.title.rstrip(ELLIPSIS).split()
        if words:
            question = "What about " + " ".join(words[:6]) + "?"
            if index.search(question).found:
                return question
    return None
