"""The ``params`` of embedders, routers and backends are as strict as the run config's own sections: no
bool-to-int, str-to-number or number-to-bool coercion on the way into a constructor (issue 13, class 3)."""

from __future__ import annotations

from typing import Literal

import pytest

from rgd.embedding import make_embedder
from rgd.errors import ParameterError
from rgd.llm.backends import make_backend
from rgd.params import check_param_types
from rgd.routers.registry import make_router


@pytest.mark.parametrize("build, message", [
    (lambda: make_router("knn", k=True), r"KnnRouter: k must be int, got True \(bool\)"),
    (lambda: make_router("mlp", alpha="1e-3"), r"MlpRouter: alpha must be float, got '1e-3' \(str\)"),
    (lambda: make_embedder("tfidf", n_components="64"), r"TfidfSvdEmbedder: n_components must be int"),
    (lambda: make_embedder("tfidf", n_components=64.0), r"n_components must be int, got 64.0 \(float\)"),
    (lambda: make_embedder("tfidf", sublinear_tf="no"), r"sublinear_tf must be bool, got 'no'"),
    (lambda: make_backend("openai", model="m", base_url="http://127.0.0.1:9/v1", use_chat="no"),
     r"backend 'openai' \(OpenAICompatibleBackend\): use_chat must be bool"),
    (lambda: make_backend("openai", model="m", base_url="http://127.0.0.1:9/v1", max_retries=True),
     r"max_retries must be int, got True"),
    (lambda: make_backend("openai", model="m", base_url="http://127.0.0.1:9/v1", timeout_s="30"),
     r"timeout_s must be float, got '30'"),
])
def test_a_value_of_the_wrong_type_is_refused_with_its_name(build, message):
    with pytest.raises(ParameterError, match=message):
        build()


def test_values_of_the_right_type_still_build():
    assert make_router("knn", k=5).k == 5
    assert make_router("mlp", alpha=1).alpha == 1  # an int where a float is expected is a number all the same
    assert make_embedder("tfidf", n_components=64, max_features=None, sublinear_tf=False).n_components == 64
    backend = make_backend("openai", model="m", base_url="http://127.0.0.1:9/v1", timeout_s=30, use_chat=False,
                           api_key_env=None)
    assert backend.timeout_s == 30


def test_literals_optional_values_and_unreadable_annotations():
    def target(mode: Literal["a", "b"] = "a", limit: int | None = None, shape: tuple[int, int] = (1, 2),
               anything=None, flag: bool = True) -> None:
        pass

    check_param_types(target, {"mode": "b", "limit": None, "shape": [3, 4], "anything": "x", "flag": False}, "t")
    with pytest.raises(ParameterError, match=r"t: mode must be one of 'a', 'b', got 'c'"):
        check_param_types(target, {"mode": "c"}, "t")
    with pytest.raises(ParameterError, match=r"t: flag must be bool, got 1 \(int\)"):
        check_param_types(target, {"flag": 1}, "t")
    with pytest.raises(ParameterError, match=r"t: limit must be int, got '5'"):
        check_param_types(target, {"limit": "5"}, "t")
