"""Building an index: the lexical build with the embedding stage when a model is at hand."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from . import build, embedding
from .build import BuildReport, ProgressCallback
from .embedding import Embedder, EmbedProgress
from .retrieval import Mode
from .store import IndexSettings
from .vectors import EmbeddingStage


def build_index(
    corpus: Path,
    db_path: Path,
    settings: IndexSettings,
    progress: ProgressCallback | None = None,
    *,
    embedding_model: str = embedding.BUNDLED,
    embedding_progress: EmbedProgress | None = None,
    embedder: Embedder | None = None,
    max_drop: float | None = None,
) -> BuildReport:
    """Index the corpus into db_path (atomically), with passage vectors when the model
    (embedder, or else embedding_model) can run here; BM25 only otherwise. max_drop: see
    build.build."""
    note = ""
    if embedder is None:
        embedder, note = embedding.load(embedding_model)
    stage = EmbeddingStage(embedder, embedding_progress) if embedder is not None else None
    report = build.build(corpus, db_path, settings, progress, stage, max_drop=max_drop)
    if embedder is None:
        return _with(report, Mode.BM25, note)
    return _with(report, Mode.HYBRID, f"BM25 and {embedder.name} embeddings")


def _with(report: BuildReport, mode: Mode, note: str) -> BuildReport:
    return replace(report, retrieval=str(mode), retrieval_note=note)
