"""The public data sets of bench/quality.py as files, and their indexes, cached by settings.

BEIR-layout sets (SciFact, SQuAD as paragraphs) become one file per document; the SQuAD
split-half measure indexes the even-numbered articles, one Markdown file each.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index import BUNDLED_EMBEDDING_MODEL, IndexSettings, build_index, load_embedder

FOLDERS = {"scifact": "scifact", "squad": "squad-v1.1", "answerability": "squad-v1.1"}
SUFFIX = ".txt"

# --- data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """A BEIR-layout dataset: documents, the judged questions and their relevant documents."""

    name: str
    docs: dict[str, tuple[str, str]]
    queries: list[tuple[str, str]]
    qrels: dict[str, set[str]]
    answers: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _qrels(path: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    with path.open(encoding="utf-8") as fh:
        next(fh)  # header
        for line in fh:
            qid, doc, score = line.rstrip("\n").split("\t")
            if int(score) > 0:
                out.setdefault(qid, set()).add(doc)
    return out


def load(name: str, data: Path, split: str, limit: int | None) -> Dataset:
    """Read a dataset; only questions with judgments are kept, in qrels file order."""
    folder = data / FOLDERS[name]
    docs = {d["_id"]: (d["title"], d["text"]) for d in _jsonl(folder / "corpus.jsonl")}
    qrels = _qrels(folder / "qrels" / f"{split if name == 'scifact' else 'test'}.tsv")
    texts = {q["_id"]: q["text"] for q in _jsonl(folder / "queries.jsonl")}
    queries = [(qid, texts[qid]) for qid in qrels]
    if limit is not None:
        queries = queries[:limit]
    qrels = {qid: qrels[qid] for qid, _ in queries}
    answers: dict[str, tuple[str, ...]] = {}
    if name == "squad":
        squad = json.loads((folder / "dev-v1.1.json").read_text(encoding="utf-8"))
        for article in squad["data"]:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    answers[qa["id"]] = tuple(a["text"] for a in qa["answers"])
    return Dataset(name, docs, queries, qrels, answers)


@dataclass(frozen=True)
class SplitQuestion:
    """A SQuAD question of the split-half measure: answerable when its article is indexed."""

    qid: str
    text: str
    article: int
    answers: tuple[str, ...]

    @property
    def indexed(self) -> bool:
        """Whether the question's article is in the index (the even-numbered ones)."""
        return self.article % 2 == 0

    @property
    def part(self) -> str:
        """The half of the articles it belongs to: tune (0-23) or report (24-47)."""
        return "tune" if self.article < SPLIT_TUNE_ARTICLES else "report"


SPLIT_TUNE_ARTICLES = 24
SPLIT_SAMPLE_SEED = 20261123


def load_split(data: Path, sample: int | None) -> tuple[dict[str, str], list[SplitQuestion]]:
    """The indexed articles as files (name: text) and every question, or a fixed sample."""
    squad = json.loads((data / FOLDERS["squad"] / "dev-v1.1.json").read_text(encoding="utf-8"))
    files: dict[str, str] = {}
    questions: list[SplitQuestion] = []
    for number, article in enumerate(squad["data"]):
        title = article["title"].replace("_", " ")
        paragraphs = [p["context"].strip() for p in article["paragraphs"]]
        if number % 2 == 0:
            files[f"{number:02d}.md"] = f"# {title}\n\n" + "\n\n".join(paragraphs) + "\n"
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = tuple(a["text"] for a in qa["answers"])
                questions.append(SplitQuestion(qa["id"], qa["question"], number, answers))
    if sample is not None:
        rng = random.Random(SPLIT_SAMPLE_SEED)
        inside = [q for q in questions if q.indexed]
        outside = [q for q in questions if not q.indexed]
        questions = rng.sample(inside, min(sample, len(inside))) + rng.sample(
            outside, min(sample, len(outside))
        )
    return files, questions


# --- index -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    """An index file ready to open, and what building it took."""

    db: Path
    settings: IndexSettings
    sources: int
    passages: int
    skipped: int
    seconds: float
    cached: bool


def _document(title: str, text: str, with_title: bool) -> str:
    # The front-matter title is only shown; the body is what gets indexed.
    body = f"{title} {text}".strip() if with_title else text.strip()
    head = f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\n---\n" if title else ""
    return head + body + "\n"


def write_corpus(files: dict[str, str], folder: Path) -> None:
    """One file per document (name: text); skipped when already complete."""
    done = folder.with_name(folder.name + ".done")
    if done.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    done.write_text(str(len(files)), encoding="utf-8")


def dataset_files(dataset: Dataset, with_title: bool) -> dict[str, str]:
    """A BEIR dataset as files named by document id."""
    return {
        f"{doc_id}{SUFFIX}": _document(title, text, with_title)
        for doc_id, (title, text) in dataset.docs.items()
    }


def build(
    name: str,
    files: dict[str, str] | Path,
    cache: Path,
    settings: IndexSettings,
    rebuild: bool,
    embedding_model: str = BUNDLED_EMBEDDING_MODEL,
) -> Built:
    """The index of these files (or of this corpus folder) for these settings, with the
    passage vectors of embedding_model, built unless cached."""
    base = cache / name
    if isinstance(files, Path):
        corpus = files
    else:
        corpus = base / "corpus"
        write_corpus(files, corpus)
    embedder, _ = load_embedder(embedding_model)
    key = json.dumps(
        settings.fingerprint()
        | {"max_bytes": settings.max_file_bytes}
        | {"vectors": embedder.model_id if embedder is not None else ""},
        sort_keys=True,
    )
    db = base / f"index-{hashlib.sha256(key.encode()).hexdigest()[:12]}.sqlite"
    info = db.with_suffix(".json")
    # The file name holds the settings' fingerprint: a cached file matches them.
    if not rebuild and db.exists() and info.exists():
        return Built(db, settings, **json.loads(info.read_text()), cached=True)
    report = build_index(corpus, db, settings, embedder=embedder, embedding_model="")
    stats: dict[str, Any] = {
        "sources": report.sources,
        "passages": report.passages,
        "skipped": len(report.skipped),
        "seconds": round(report.seconds, 2),
    }
    info.write_text(json.dumps(stats))
    return Built(db, settings, **stats, cached=False)


def doc_id(path: str) -> str:
    """The dataset id of an indexed source file."""
    return path.removesuffix(SUFFIX)
