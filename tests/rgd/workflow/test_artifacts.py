"""Every artifact type a step hands on saves and loads itself (JSON + NumPy, never pickle), refuses corrupt,
altered or foreign directories naming the file, and still loads what the format-1 code stored."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from rgd.errors import ArtifactError, DataError
from rgd.workflow.artifacts import ConsensusArtifact, EmbeddingMatrix, QuestionSet, RouterSet
from tests.rgd.workflow.conftest import STORED_V1

EXPECTED_V1 = json.loads((STORED_V1 / "expected.json").read_text())


def copy_v1(name: str, tmp_path):
    return shutil.copytree(STORED_V1 / name, tmp_path / name)


def assert_no_pickle(directory):
    for path in directory.rglob("*"):
        assert path.suffix in {"", ".json", ".jsonl", ".npz", ".npy"}, path
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                assert all(npz[k].dtype != object for k in npz.files)


# ---------------------------------------------------------------------------------------------- round trips
def test_question_set_round_trip(questions, tmp_path):
    d = questions.save(tmp_path / "qs")
    assert sorted(p.name for p in d.iterdir()) == ["latents.npz", "meta.json", "questions.jsonl"]
    assert_no_pickle(d)
    loaded = QuestionSet.load(d)
    assert loaded.questions == questions.questions and loaded.content_hash == questions.content_hash
    assert (loaded.generators, loaded.role, loaded.report) == (questions.generators, questions.role, questions.report)
    assert loaded.latents.keys() == questions.latents.keys()
    for k, v in questions.latents.items():
        np.testing.assert_array_equal(loaded.latents[k], v)
        assert loaded.latents[k].dtype == np.asarray(v).dtype


def test_question_set_without_latents_round_trip(questions, tmp_path):
    plain = questions.subset(questions.ids[:5], role="test")
    plain = QuestionSet(plain.questions, (), "test")
    d = plain.save(tmp_path / "qs")
    assert not (d / "latents.npz").exists()
    loaded = QuestionSet.load(d)
    assert loaded == plain and loaded.latents is None


def test_embedding_matrix_round_trip(embeddings, tmp_path):
    d = embeddings.save(tmp_path / "emb")
    assert_no_pickle(d)
    loaded = EmbeddingMatrix.load(d)
    assert loaded.question_ids == embeddings.question_ids
    assert (loaded.embedder_identity, loaded.embedder_kind) == (embeddings.embedder_identity, "tfidf")
    np.testing.assert_array_equal(loaded.vectors, embeddings.vectors)
    assert loaded.vectors.dtype == np.float32


def test_consensus_round_trip(consensus, pool, tmp_path):
    d = consensus.save(tmp_path / "cons")
    assert_no_pickle(d)
    loaded = ConsensusArtifact.load(d)
    assert loaded.question_ids == consensus.question_ids
    assert loaded.scorer.to_dict() == consensus.scorer.to_dict()
    for name, arr in consensus.arrays().items():
        np.testing.assert_array_equal(loaded.arrays()[name], arr)
    table = pool[1]
    np.testing.assert_array_equal(loaded.scorer.score(table).scores, consensus.scorer.score(table).scores)


def test_router_set_round_trip(routers, embeddings, tmp_path):
    d = routers.save(tmp_path / "routers")
    assert sorted(p.name for p in d.iterdir()) == ["best_single", "cascal", "knn", "meta.json"]
    assert_no_pickle(d)
    loaded = RouterSet.load(d)
    assert loaded.primary == "cascal" and list(loaded.routers) == list(routers.routers)
    for name, router in routers.routers.items():
        assert type(loaded.routers[name]) is type(router)
        assert loaded.routers[name].get_params() == router.get_params()
        np.testing.assert_array_equal(loaded.routers[name].rank(embeddings.vectors), router.rank(embeddings.vectors))


# ---------------------------------------------------------------------------------------------- stored by format 1
def test_format_1_question_set_still_loads():
    pytest.importorskip("pyarrow")
    loaded = QuestionSet.load(STORED_V1 / "question_set")
    assert len(loaded) == 6 and loaded.content_hash == EXPECTED_V1["question_set_hash"]
    assert loaded.generators == ("sim-strong",) and loaded.report == {"kept": 6}
    assert loaded.questions[0].provenance.kind == "simulated" and loaded.questions[0].provenance.seed == 0
    assert int(loaded.latents["world_fingerprint"][0]) == 12345678901234567890


def test_format_1_question_set_resaves_as_version_2(tmp_path):
    pytest.importorskip("pyarrow")
    again = QuestionSet.load(QuestionSet.load(STORED_V1 / "question_set").save(tmp_path / "v2"))
    assert json.loads((tmp_path / "v2" / "meta.json").read_text())["version"] == QuestionSet.VERSION == 2
    assert again.content_hash == EXPECTED_V1["question_set_hash"]


def test_format_1_consensus_embeddings_and_routers_still_load():
    cons = ConsensusArtifact.load(STORED_V1 / "consensus")
    assert cons.result.majority.tolist() == EXPECTED_V1["consensus_majority"]
    assert cons.scorer.voters_.tolist() == EXPECTED_V1["voters"]
    emb = EmbeddingMatrix.load(STORED_V1 / "embeddings")
    routers = RouterSet.load(STORED_V1 / "router_set")
    assert routers.primary == "cascal" and set(routers.routers) == set(EXPECTED_V1["ranks"])
    for name, router in routers.routers.items():
        assert router.get_params() == EXPECTED_V1["router_params"][name], name
        assert router.rank(emb.vectors).tolist() == EXPECTED_V1["ranks"][name], name


# ---------------------------------------------------------------------------------------------- refused
@pytest.mark.parametrize("kind", ["question_set", "consensus", "embeddings", "router_set"])
def test_foreign_future_or_missing_meta_is_refused_naming_the_file(kind, tmp_path):
    load = {"question_set": QuestionSet.load, "consensus": ConsensusArtifact.load,
            "embeddings": EmbeddingMatrix.load, "router_set": RouterSet.load}[kind]
    d = copy_v1(kind, tmp_path)
    meta = json.loads((d / "meta.json").read_text())
    (d / "meta.json").write_text(json.dumps({**meta, "version": 99}))
    with pytest.raises(ArtifactError, match=rf"{d / 'meta.json'}: .*version 99 is not supported"):
        load(d)
    (d / "meta.json").write_text(json.dumps({**meta, "format": "someone.else"}))
    with pytest.raises(ArtifactError, match=rf"{d / 'meta.json'}: not an rgd"):
        load(d)
    (d / "meta.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="unreadable meta.json"):
        load(d)
    (d / "meta.json").unlink()
    with pytest.raises(ArtifactError, match=rf"{d / 'meta.json'}: missing"):
        load(d)


def test_altered_or_invalid_questions_are_refused(questions, tmp_path):
    d = questions.save(tmp_path / "qs")
    lines = (d / "questions.jsonl").read_text().splitlines()
    row = json.loads(lines[2])
    other_key = "A" if row["answer"] != "A" else "B"
    (d / "questions.jsonl").write_text("\n".join(lines[:2] + [json.dumps({**row, "answer": other_key})] + lines[3:]))
    with pytest.raises(ArtifactError, match=r"questions.jsonl: content hash mismatch"):
        QuestionSet.load(d)
    (d / "questions.jsonl").write_text("\n".join(lines[:2] + [json.dumps({**row, "answer": "Q"})] + lines[3:]))
    with pytest.raises(ArtifactError, match=r"questions.jsonl, row 3: invalid question: .*outside the 4 options"):
        QuestionSet.load(d)
    (d / "questions.jsonl").write_text("\n".join(lines[:2] + ["{broken"] + lines[3:]))
    with pytest.raises(ArtifactError, match=r"questions.jsonl, row 3: malformed JSON"):
        QuestionSet.load(d)
    (d / "questions.jsonl").write_text("\n".join(lines[:-1]))
    with pytest.raises(ArtifactError, match=rf"holds {len(lines) - 1} questions, meta.json says {len(lines)}"):
        QuestionSet.load(d)
    (d / "questions.jsonl").unlink()
    with pytest.raises(ArtifactError, match=r"questions.jsonl: missing"):
        QuestionSet.load(d)


def test_pickled_or_corrupt_arrays_are_refused_naming_the_file(questions, consensus, embeddings, tmp_path):
    d = questions.save(tmp_path / "qs")
    np.savez(d / "latents.npz", niche=np.array([object()], dtype=object))
    with pytest.raises(ArtifactError, match=r"latents.npz: corrupt simulated latents"):
        QuestionSet.load(d)

    d = consensus.save(tmp_path / "cons")
    (d / "arrays.npz").write_bytes(b"\x80\x04 a pickle, not numpy")
    with pytest.raises(ArtifactError, match=rf"{d / 'arrays.npz'}: corrupt consensus"):
        ConsensusArtifact.load(d)
    np.savez(d / "arrays.npz", **{**consensus.arrays(), "scores": consensus.result.scores[:, :3]})
    with pytest.raises(ArtifactError, match=r"arrays.npz: arrays \['scores'\] do not match"):
        ConsensusArtifact.load(d)
    np.savez(d / "arrays.npz", **{k: v for k, v in consensus.arrays().items() if k != "z"})
    with pytest.raises(ArtifactError, match=r"lacks arrays \['z'\]"):
        ConsensusArtifact.load(d)

    d = embeddings.save(tmp_path / "emb")
    np.save(d / "vectors.npy", np.array([object()] * 3, dtype=object), allow_pickle=True)
    with pytest.raises(ArtifactError, match=r"vectors.npy: corrupt embedding matrix"):
        EmbeddingMatrix.load(d)
    bad = embeddings.vectors.copy()
    bad[0, 0] = np.nan
    np.save(d / "vectors.npy", bad)
    with pytest.raises(ArtifactError, match=r"vectors.npy: holds NaN"):
        EmbeddingMatrix.load(d)
    np.save(d / "vectors.npy", embeddings.vectors[:-1])
    with pytest.raises(ArtifactError, match=r"vectors.npy: corrupt embedding matrix .*do not match"):
        EmbeddingMatrix.load(d)


def test_router_set_refuses_bad_names_and_broken_routers(routers, tmp_path):
    d = routers.save(tmp_path / "routers")
    meta = json.loads((d / "meta.json").read_text())
    for name in ("../escape", "", "meta.json"):
        (d / "meta.json").write_text(json.dumps({**meta, "routers": [name]}))
        with pytest.raises(ArtifactError, match="cannot name a sub-directory"):
            RouterSet.load(d)
    (d / "meta.json").write_text(json.dumps({**meta, "primary": "mlp"}))
    with pytest.raises(ArtifactError, match=r"meta.json: corrupt router set .*primary router 'mlp'"):
        RouterSet.load(d)
    (d / "meta.json").write_text(json.dumps(meta))
    (d / "knn" / "arrays.npz").write_bytes(b"not a zip")
    with pytest.raises(ArtifactError, match=rf"{d / 'knn' / 'arrays.npz'}: corrupt knn router"):
        RouterSet.load(d)
    shutil.rmtree(d / "knn")
    with pytest.raises(ArtifactError, match=rf"{d / 'knn' / 'router.json'}: missing"):
        RouterSet.load(d)
    with pytest.raises(DataError, match="cannot name a sub-directory"):
        RouterSet({"a/b": routers.main}, "a/b").save(tmp_path / "other")
