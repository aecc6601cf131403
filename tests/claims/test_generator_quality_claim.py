"""A reduced run of benchmarks/generator_quality.py: the direction of the paper's central claim.

Two generator levels (strong, very_weak), one seed, small data: the key-trained query-answer routers (kNN,
MLP) lose more top-1 accuracy than CASCAL when the generator's keys degrade from ~95 % to ~50 % right, and
CASCAL beats both at the weakest generator. The filtered rows are checked for their shape and for cleaner
keys, not for a gain (see benchmarks/README.md for the full run's numbers).
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "benchmarks" / "generator_quality.py"


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("generator_quality_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return _load_benchmark()


@pytest.fixture(scope="module")
def doc(bench, tmp_path_factory):
    return bench.run(levels=("strong", "very_weak"), seeds=(0,), n_per_subject=100, n_test=600,
                     embedder="tfidf", with_filter=True, control=False,
                     cache_dir=tmp_path_factory.mktemp("emb"), progress=False)


def _top1(doc, preset, filtered, name):
    row = next(r for r in doc["levels"] if r["generator"] == preset and r["filtered"] is filtered)
    return row["routers"][name]["top1"]


def test_output_has_a_raw_and_a_filtered_row_per_level_with_every_router(doc):
    assert [(r["generator"], r["filtered"]) for r in doc["levels"]] == [
        ("strong", False), ("strong", True), ("very_weak", False), ("very_weak", True)]
    for row in doc["levels"]:
        assert {"cascal", "knn", "mlp", "best_single", "oracle", "majority_all"} <= set(row["routers"])
        for r in row["routers"].values():
            assert 0.0 <= r["top1"] <= 1.0 and 0.0 <= r["top3_vote"] <= 1.0
        assert row["routers"]["oracle"]["top1"] >= max(r["top1"] for r in row["routers"].values())
    assert doc["config"]["filter"]["min_self_consistency"] == 0.5


def test_key_accuracy_is_measured_and_falls_to_about_half(doc):
    strong = next(r for r in doc["levels"] if r["generator"] == "strong" and not r["filtered"])
    weak = next(r for r in doc["levels"] if r["generator"] == "very_weak" and not r["filtered"])
    assert strong["generator_key_accuracy"] > 0.88
    assert 0.4 < weak["generator_key_accuracy"] < 0.62
    assert strong["n_questions"] == weak["n_questions"] == 600


def test_filter_keeps_fewer_questions_with_cleaner_keys(doc):
    raw = next(r for r in doc["levels"] if r["generator"] == "very_weak" and not r["filtered"])
    kept = next(r for r in doc["levels"] if r["generator"] == "very_weak" and r["filtered"])
    assert kept["n_questions"] < raw["n_questions"]
    assert kept["generator_key_accuracy"] > raw["generator_key_accuracy"] + 0.1


def test_query_answer_routers_lose_more_than_cascal(doc):
    drop = {n: _top1(doc, "strong", False, n) - _top1(doc, "very_weak", False, n) for n in ("cascal", "knn", "mlp")}
    assert drop["cascal"] < drop["knn"], drop
    assert drop["cascal"] < drop["mlp"], drop
    assert doc["claim"]["query_answer_routers_lose_faster"] is True


def test_cascal_beats_the_best_query_answer_router_at_the_weakest_generator(doc):
    cascal = _top1(doc, "very_weak", False, "cascal")
    best_qa = max(_top1(doc, "very_weak", False, n) for n in ("knn", "mlp"))
    assert cascal > best_qa, (cascal, best_qa)
    assert doc["claim"]["cascal_minus_best_query_answer_at_weakest"] == pytest.approx(cascal - best_qa, abs=1e-3)


def test_unknown_level_is_refused(bench):
    with pytest.raises(ValueError, match="unknown generator presets"):
        bench.run(levels=("strong", "mediocre"), seeds=(0,), progress=False)
