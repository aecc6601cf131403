"""The materializers only delegate to the types' own save / load: what they store loads back equal, and a
corrupt stored artifact is refused with an ArtifactError naming the stored files (not a temporary copy)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("zenml")

from materializers.base import DATA_DIR  # noqa: E402
from materializers.consensus import ConsensusMaterializer  # noqa: E402
from materializers.embeddings import EmbedderMaterializer, EmbeddingMatrixMaterializer  # noqa: E402
from materializers.question_set import QuestionSetMaterializer  # noqa: E402
from materializers.response_table import ResponseTableMaterializer  # noqa: E402
from materializers.routers import RouterBundleMaterializer, RouterSetMaterializer  # noqa: E402
from materializers.training_data import TrainingDataMaterializer  # noqa: E402
from rgd.data.response_table import ResponseTable  # noqa: E402
from rgd.embedding.base import Embedder  # noqa: E402
from rgd.errors import ArtifactError  # noqa: E402
from rgd.routers.bundle import RouterBundle  # noqa: E402
from rgd.workflow.artifacts import ConsensusArtifact, EmbeddingMatrix, QuestionSet, RouterSet  # noqa: E402
from rgd.workflow.training_data import TrainingData  # noqa: E402
from tests.rgd.tracking.synthetic import fit_bundle  # noqa: E402
from tests.rgd.workflow.conftest import consensus, embeddings, pool, questions, routers  # noqa: E402,F401


def store(materializer_cls, data, tmp_path, name):
    uri = tmp_path / name
    uri.mkdir()
    m = materializer_cls(str(uri))
    m.save(data)
    return m, uri


def test_each_materializer_stores_what_its_type_saves(pool, questions, consensus, embeddings, routers, tmp_path):
    table, embedder = pool[1], pool[2]
    cases = [
        (QuestionSetMaterializer, questions, lambda a, b: a.questions == b.questions and a.report == b.report),
        (ResponseTableMaterializer, table, lambda a, b: np.array_equal(a.choices, b.choices)),
        (ConsensusMaterializer, consensus, lambda a, b: a.scorer.to_dict() == b.scorer.to_dict()),
        (EmbeddingMatrixMaterializer, embeddings, lambda a, b: np.array_equal(a.vectors, b.vectors)),
        (EmbedderMaterializer, embedder, lambda a, b: a.identity == b.identity),
        (RouterSetMaterializer, routers, lambda a, b: list(a.routers) == list(b.routers)),
        (TrainingDataMaterializer, TrainingData.build(table, embeddings, consensus, generated=True),
         lambda a, b: np.array_equal(a.generator_keys, b.generator_keys)),
    ]
    for cls, data, same in cases:
        m, uri = store(cls, data, tmp_path, cls.__name__)
        direct = tmp_path / f"{cls.__name__}-direct"
        data.save(direct)
        stored = sorted(p.relative_to(uri / DATA_DIR).as_posix() for p in (uri / DATA_DIR).rglob("*"))
        assert stored == sorted(p.relative_to(direct).as_posix() for p in direct.rglob("*")), cls.__name__
        loaded = m.load(type(data) if cls is not EmbedderMaterializer else Embedder)
        assert same(loaded, data), cls.__name__
        assert m.extract_metadata(data) and "<h3>" in m.html(data)


def test_router_bundle_materializer(tmp_path):
    bundle = fit_bundle("knn")
    m, _ = store(RouterBundleMaterializer, bundle, tmp_path, "bundle")
    loaded = m.load(RouterBundle)
    assert loaded.content_sha256 == bundle.content_sha256 and loaded.metadata == bundle.metadata
    assert m.extract_metadata(bundle)["router"] == "knn"
    assert m.extract_metadata(bundle)["out_of_distribution_threshold"] == loaded.coverage.threshold


def test_errors_name_the_stored_files(questions, consensus, tmp_path):
    m, uri = store(QuestionSetMaterializer, questions, tmp_path, "qs")
    meta = uri / DATA_DIR / "meta.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "content_hash": "0" * 64}))
    with pytest.raises(ArtifactError, match=rf"question set artifact at {uri}: {uri / DATA_DIR}/questions.jsonl: "
                                            "content hash mismatch") as err:
        m.load(QuestionSet)
    assert "rgd-art-" not in str(err.value)

    m, uri = store(ConsensusMaterializer, consensus, tmp_path, "cons")
    (uri / DATA_DIR / "arrays.npz").write_bytes(b"nope")
    with pytest.raises(ArtifactError, match=rf"{uri / DATA_DIR}/arrays.npz: corrupt consensus") as err:
        m.load(ConsensusArtifact)
    assert "rgd-art-" not in str(err.value)

    with pytest.raises(ArtifactError, match=rf"{tmp_path / 'nothing' / DATA_DIR}/table.json: missing"):
        ResponseTableMaterializer(str(tmp_path / "nothing")).load(ResponseTable)
    m, uri = store(EmbeddingMatrixMaterializer, EmbeddingMatrix(("a",), np.ones((1, 2), np.float32), "x", "tfidf"),
                   tmp_path, "emb")
    (uri / DATA_DIR / "meta.json").unlink()
    with pytest.raises(ArtifactError, match=rf"{uri / DATA_DIR}/meta.json: missing"):
        m.load(EmbeddingMatrix)
    m, uri = store(RouterSetMaterializer, RouterSet({"x": fit_bundle("random").router}, "x"), tmp_path, "rs")
    assert RouterSetMaterializer(str(uri)).load(RouterSet).primary == "x"
