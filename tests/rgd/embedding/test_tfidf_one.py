"""The one-question TF-IDF path (what the gateway embeds at low load): the batch path's vectors bit for bit, and
scikit-learn's TF-IDF weights, on many texts: unicode, empty, unknown words, repeated terms, long ones."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from rgd.embedding import TfidfSvdEmbedder
from rgd.embedding.vectors import normalize_rows
from tests.paths import SHARED_MMLU
from tests.rgd.conftest import needs_mmlu

WORDS = ("cell enzyme membrane protein court law precedent statute inflation interest bank cost derivative integral "
         "matrix vector Straße café naïve東京 Ünïcödé ΔG résumé 42 x² the of and").split()
EDGE = ["", "   ", "\n\t", "qqqq zzzz", "a b c", "!!! ??? ...", "ÇÀFÉ café CAFÉ", "the the the the",
        "cell " * 200, "東京 大学 の 研究", "DNA-replication; cell-cycle: enzyme/membrane"]


def texts(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    out = [" ".join(rng.choice(WORDS, size=int(rng.integers(1, 40)))) for _ in range(n)]
    return out + EDGE


@pytest.fixture(scope="module")
def fitted() -> tuple[TfidfSvdEmbedder, TfidfVectorizer]:
    corpus = texts(300, seed=1)[: -len(EDGE)]  # the edge texts are asked, never learned from
    emb = TfidfSvdEmbedder(n_components=12).fit(corpus)
    reference = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_features=50000, dtype=np.float32).fit(corpus)
    return emb, reference


def check_one_text_path(emb: TfidfSvdEmbedder, reference: TfidfVectorizer, asked: list[str]) -> None:
    sk = reference.transform(asked)
    sk.sort_indices()
    batch = emb._embed(asked[:32])  # the gather path
    for i, text in enumerate(asked):
        data, columns = emb._weights_one(text)
        d, c, _ = emb._weights([text])
        assert data.dtype == d.dtype == np.float32 and columns.dtype == c.dtype
        np.testing.assert_array_equal(data, d)  # bit for bit, the batch recipe
        np.testing.assert_array_equal(columns, c)
        row = sk[i]
        np.testing.assert_array_equal(columns, row.indices)  # the same terms as scikit-learn's
        np.testing.assert_allclose(data, row.data, rtol=0, atol=1e-6)  # its weights, to float32 precision
        if i < 32:
            np.testing.assert_array_equal(emb._embed([text])[0], batch[i])


def test_one_text_weights_are_the_batch_recipe_and_scikit_learns(fitted):
    emb, reference = fitted
    asked = texts(400, seed=2)
    check_one_text_path(emb, reference, asked)
    check_one_text_path(emb, reference, asked[::-1])  # the first 32 differ: the edge texts in the gather batch


def test_texts_without_a_known_term_embed_to_zero_on_the_one_text_path(fitted):
    emb, _ = fitted
    for text in ("", "   ", "qqqq zzzz", "ñandú 北海道", "!!!"):
        data, columns = emb._weights_one(text)
        assert len(data) == len(columns) == 0
        x = emb.embed([text])
        assert x.shape == (1, emb.dim) and x.dtype == np.float32 and not x.any()


def test_one_text_embedding_is_unit_and_equals_the_sparse_product(fitted):
    emb, _ = fitted
    asked = texts(50, seed=3)
    reference = normalize_rows(emb._tfidf(asked).toarray() @ emb.components_.T)
    alone = np.vstack([emb.embed([t]) for t in asked])
    np.testing.assert_allclose(alone, reference, atol=1e-6)
    known = alone.any(axis=1)
    np.testing.assert_allclose(np.linalg.norm(alone[known], axis=1), 1.0, atol=1e-6)


def test_normalize_rows_is_numpys_norm_bit_for_bit():
    rng = np.random.default_rng(0)
    for shape in ((1, 16), (7, 256), (300, 384), (2, 1)):
        x = (rng.standard_normal(shape) * rng.uniform(1e-3, 1e3)).astype(np.float32)
        x[0] = 0.0
        expected = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), np.float32(1e-12))
        got = normalize_rows(x)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, expected)
        assert not got[0].any()
    assert normalize_rows(np.zeros((0, 4))).shape == (0, 4)


@needs_mmlu
def test_one_text_path_on_mmlu_pro_test_questions():
    from rgd.data.jsonl import read_jsonl

    rows = {obj["question_id"]: obj for _, obj in read_jsonl(SHARED_MMLU / "questions.jsonl.gz")}
    split = json.loads((SHARED_MMLU / "split.json").read_text())
    train = [rows[i]["question"] for i in split["train"]]
    test = [rows[i]["question"] for i in split["test"]]
    emb = TfidfSvdEmbedder(n_components=8).fit(train)
    reference = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_features=50000, dtype=np.float32).fit(train)
    check_one_text_path(emb, reference, test)
