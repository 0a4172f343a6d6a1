"""bench/speed.py's synthetic corpus: Zipf-distributed pseudo-words mixed with English stop
words, written as files, and a fixed set of questions drawn from its paragraphs."""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

import numpy as np

from index.analyzer import Analyzer

CONTENT_WORDS = 100_000
STOP_SHARE = 0.4
STOPWORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at "
    "which but have an they you were their one all we can her has there been if more when"
).split()
SYLLABLES = (
    "ka ri to me sa lu ne po da vi ro te mi la su ko re na pi do ga li mo ve ta be ru no se"
).split()
MISSING_WORD = "qwzxv"
RANK_BM25_QUERIES = 20


def vocabulary(rng: random.Random) -> list[str]:
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < CONTENT_WORDS:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def step_generate(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Write the corpus and the questions unless they exist."""
    done = folder / "generated.json"
    if done.exists():
        result: dict[str, Any] = json.loads(done.read_text(encoding="utf-8"))
        return result
    target = int(args.passages[0])
    rng = random.Random(target)
    nprng = np.random.default_rng(target)
    vocab = np.array(vocabulary(rng), dtype=object)
    # Zipf-Mandelbrot frequencies, as in natural text.
    ranks = np.arange(1, CONTENT_WORDS + 1)
    cdf = np.cumsum(1.0 / (ranks + 2.7) ** 1.07)
    cdf /= cdf[-1]
    stop = np.array(STOPWORDS, dtype=object)
    corpus = folder / "corpus"
    corpus.mkdir(exist_ok=True)
    written = files = 0
    while written < target:
        paragraphs: list[str] = []
        for _ in range(min(rng.randint(5, 15), target - written)):
            count = rng.randint(40, 150)
            words = vocab[np.searchsorted(cdf, nprng.random(count))]
            stops = nprng.random(count) < STOP_SHARE
            words[stops] = stop[nprng.integers(0, len(stop), int(stops.sum()))]
            sentences: list[str] = []
            pos = 0
            while pos < count:
                size = min(rng.randint(6, 20), count - pos)
                piece = " ".join(words[pos : pos + size].tolist())
                sentences.append(piece[:1].upper() + piece[1:] + ".")
                pos += size
            paragraphs.append(" ".join(sentences))
        day = 1 + files % 28
        title = " ".join(vocab[np.searchsorted(cdf, nprng.random(4))].tolist()).title()
        body = f"date: 2024-{1 + files % 12:02d}-{day:02d}\n# {title}\n\n" + "\n\n".join(paragraphs)
        path = corpus / f"{files // 1000:04d}" / f"doc{files:07d}.md"
        path.parent.mkdir(exist_ok=True)
        path.write_text(body + "\n", encoding="utf-8")
        written += len(paragraphs)
        files += 1
    questions = _questions(corpus, files, args.questions, rng)
    (folder / "questions.json").write_text(json.dumps(questions), encoding="utf-8")
    result = {"files": files}
    done.write_text(json.dumps(result), encoding="utf-8")
    return result


def _questions(corpus: Path, files: int, n: int, rng: random.Random) -> list[str]:
    stop = set(STOPWORDS)
    questions: list[str] = []
    for i in range(n):
        k = rng.randrange(files)
        text = (corpus / f"{k // 1000:04d}" / f"doc{k:07d}.md").read_text(encoding="utf-8")
        paragraph = rng.choice(text.split("\n\n")[1:])
        words = [w.strip(".").lower() for w in paragraph.split()]
        content = [w for w in words if w not in stop]
        picked = rng.sample(content, min(len(content), rng.randint(1, 6)))
        if i % 10 == 9:
            picked.append(MISSING_WORD)
        questions.append("what about " + " ".join(picked) + "?")
    return questions


def corpus_paths(folder: Path) -> tuple[Path, Path]:
    return folder / "corpus", folder / "index.sqlite"


def questions_of(folder: Path) -> list[str]:
    questions: list[str] = json.loads((folder / "questions.json").read_text(encoding="utf-8"))
    return questions


def query_terms(folder: Path) -> list[list[str]]:
    """Each question's index terms, as the index's analyzer makes them."""
    analyzer = Analyzer()
    queries = [list(dict.fromkeys(analyzer.terms(q))) for q in questions_of(folder)]
    return [q for q in queries if q]
