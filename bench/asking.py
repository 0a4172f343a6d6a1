"""Asking an index as the bot does, in worker processes too: ranked documents, the first
citation, and the split-half measure's answers."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from corpora import SplitQuestion, doc_id

from bot.answer import compose
from bot.evaluate import contains_any
from index import Index, IndexSettings, SearchSettings

T = TypeVar("T")
Item = TypeVar("Item")


@dataclass(frozen=True)
class Ranked:
    """Distinct documents a question retrieves, best first, or why it found none."""

    qid: str
    docs: tuple[str, ...]
    reason: str | None


@dataclass(frozen=True)
class Answered:
    """The product's answer to a question: first citation's excerpt and whole passage."""

    qid: str
    found: bool
    reason: str | None
    doc: str | None
    excerpt: str
    passage: str


@dataclass(frozen=True)
class Task:
    """What a worker opens: one index with one set of search settings."""

    db: Path
    settings: IndexSettings
    search: SearchSettings
    depth: int


_open: dict[Task, Index] = {}


def opened(task: Task) -> Index:
    """The task's index, opened once per process and reused across its questions."""
    idx = _open.get(task)
    if idx is None:
        idx = _open[task] = Index.open(task.db, task.settings, task.search)
    return idx


def rank(task: Task, question: tuple[str, str]) -> Ranked:
    """Distinct documents by best passage, paging until task.depth of them are found."""
    idx = opened(task)
    qid, text = question
    docs: list[str] = []
    seen: set[str] = set()
    offset = 0
    while len(docs) < task.depth:
        result = idx.search(text, limit=max(task.depth, 10), offset=offset)
        if not result.found:
            return Ranked(qid, (), result.reason)
        for hit in result.hits:
            d = doc_id(hit.source.path)
            if d not in seen:
                seen.add(d)
                docs.append(d)
        offset += len(result.hits)
        if not result.hits or offset >= result.total:
            break
    return Ranked(qid, tuple(docs[: task.depth]), None)


def answer(task: Task, question: tuple[str, str]) -> Answered:
    """Ask as the bot does (search, then compose) and keep the first citation."""
    idx = opened(task)
    qid, text = question
    result = idx.search(text)
    reply = compose(result)
    if not reply.found:
        return Answered(qid, False, result.reason, None, "", "")
    first = reply.citations[0]
    passage = idx.passage(first.passage_id)
    return Answered(
        qid, True, None, doc_id(first.source), first.excerpt, passage.text if passage else ""
    )


def rank_one(args: tuple[Task, tuple[str, str]]) -> Ranked:
    return rank(*args)


def answer_one(args: tuple[Task, tuple[str, str]]) -> Answered:
    return answer(*args)


def run_all(
    fn: Callable[[tuple[Task, Item]], T],
    task: Task,
    questions: Sequence[Item],
    jobs: int,
) -> tuple[list[T], float]:
    """Results for every question in order, and the wall time taken."""
    started = time.perf_counter()
    items = [(task, q) for q in questions]
    if jobs <= 1:
        out: list[T] = [fn(item) for item in items]
    else:
        with concurrent.futures.ProcessPoolExecutor(jobs) as pool:
            out = list(pool.map(fn, items, chunksize=max(1, len(items) // (jobs * 8))))
    return out, time.perf_counter() - started


@dataclass(frozen=True)
class SplitAnswer:
    """What the product said to one question of the split-half measure."""

    qid: str
    found: bool
    in_first_excerpt: bool


def answer_split(task: Task, question: SplitQuestion) -> SplitAnswer:
    """Ask as the bot does; is the gold answer inside the first excerpt?"""
    reply = compose(opened(task).search(question.text))
    first = reply.citations[0].excerpt if reply.found else ""
    return SplitAnswer(question.qid, reply.found, contains_any(first, question.answers))


def answer_split_one(args: tuple[Task, SplitQuestion]) -> SplitAnswer:
    return answer_split(*args)
