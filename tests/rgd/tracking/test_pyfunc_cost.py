"""The served model takes the cost knob per request; the same policy as the library's, stored in the bundle."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rgd.cli.main import main
from rgd.consensus import ConsensusScorer
from rgd.errors import ParameterError
from rgd.routers.base import TrainingSet
from rgd.routers.bundle import RouterBundle
from rgd.tracking.pyfunc_model import RouterModel
from rgd.workflow.costs import fit_policy
from tests.rgd.tracking.synthetic import fit_bundle, synthetic_pool

COSTS = {"math-expert": 1.0, "bio-expert": 2.0, "history-expert": 3.0, "generalist": 10.0}
QUESTIONS = ["which enzyme binds the cell membrane protein?", "explain the quadratic polynomial root",
             "describe the treaty that ended the medieval war"]


def policy_bundle() -> RouterBundle:
    """A CASCAL bundle of the synthetic pool with its cost policy (COSTS)."""
    bundle = fit_bundle("cascal")
    texts, table = synthetic_pool(seed=0)
    x = bundle.embedder.embed(texts)
    train = TrainingSet(table.with_answers(np.full(table.n_questions, -1)), x, ConsensusScorer().fit_score(table))
    policy = fit_policy("cascal", bundle.router, {"min_points": 5}, train, COSTS)
    bundle.policy = policy
    return bundle


@pytest.fixture(scope="module")
def bundle_with_policy(tmp_path_factory):
    return RouterBundle.load(policy_bundle().save(tmp_path_factory.mktemp("b") / "bundle"))


def predict(model, w, k=4):
    return model.predict(pd.DataFrame({"question": QUESTIONS}), params={"k": k, "cost_weight": w})


def test_knob_zero_serves_the_routers_own_ranking(bundle_with_policy):
    model = RouterModel(bundle_with_policy)
    frame = predict(model, 0.0)
    assert frame["top1"].tolist() == [r["models"][0] for r in bundle_with_policy.route(QUESTIONS, k=4)]
    assert frame.equals(model.predict(pd.DataFrame({"question": QUESTIONS}), params={"k": 4}))


def test_the_knob_per_request_moves_towards_cheap_models(bundle_with_policy):
    model = RouterModel(bundle_with_policy)
    assert set(predict(model, 1.0)["top1"]) == {"math-expert"}  # the cheapest, whatever the question
    mid = predict(model, 0.3)
    assert mid["top1"].tolist() == ["bio-expert", "math-expert", "history-expert"]  # each question's expert
    policy = bundle_with_policy.policy
    scores = bundle_with_policy.router.scores(bundle_with_policy.embedder.embed(QUESTIONS))
    assert mid["top1"].tolist() == [bundle_with_policy.models[i] for i in policy.choose(scores, 0.3)]


def test_a_bad_knob_or_a_bundle_without_costs_is_a_clear_error(bundle_with_policy):
    with pytest.raises(ParameterError, match=r"cost_weight must be in \[0, 1\]"):
        predict(RouterModel(bundle_with_policy), 1.5)
    plain = RouterModel(fit_bundle("cascal"))
    assert len(predict(plain, 0.0)) == 3
    with pytest.raises(ParameterError, match="registered without per-model costs"):
        predict(plain, 0.2)


def test_rgd_route_refuses_a_knob_out_of_range_before_reading_the_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("RGD_HOME", str(tmp_path))
    res = CliRunner().invoke(main, ["route", "which enzyme?", "--cost-weight", "-0.5"])
    assert res.exit_code != 0 and "cost_weight must be in [0, 1]" in res.output
    assert "Traceback" not in res.output


def test_rgd_route_refuses_an_output_it_cannot_write_before_reading_the_registry(tmp_path, monkeypatch):
    monkeypatch.setenv("RGD_HOME", str(tmp_path / "home"))
    (tmp_path / "a_file").write_text("x")
    for bad, says in [(tmp_path, "is a directory"), (tmp_path / "a_file" / "out.jsonl", "cannot create")]:
        res = CliRunner().invoke(main, ["route", "which enzyme?", "--output", str(bad)])
        assert res.exit_code == 2 and "--output" in res.output and says in res.output, res.output
        assert res.exception is None or isinstance(res.exception, SystemExit)
    assert not (tmp_path / "home").exists()  # nothing was read or created: the check came first
