"""The evaluate stage on a simulated run: labelled accuracy beside the label-free estimate on held-out
generated questions; a label-free run (no test questions) is evaluated on the estimate alone."""

from __future__ import annotations

import numpy as np
import pytest

from rgd import workflow as stages
from rgd.config.run_config import RunConfig
from rgd.errors import DataError
from rgd.simulated.pool import SimulatedPool
from rgd.workflow.artifacts import EmbeddingMatrix
from rgd.workflow.estimate import holdout_stage

CONFIG = {"name": "t", "simulated": {"world": {"seed": 0, "n_subjects": 3, "niches_per_subject": 3},
                                     "pool": {"seed": 0, "n_specialists": 3, "n_generalists": 1}, "n_test": 150},
          "generators": ["strong"], "generation": {"n_per_subject": 60, "self_answer_samples": 3},
          "embedder": "tfidf", "evaluation": {"holdout_fraction": 0.2}}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    config = RunConfig.model_validate(CONFIG)
    generated, self_answers = stages.generate_stage(config, progress=False)
    test = stages.load_test_set(config)
    pool = SimulatedPool(stages.SimulatedSource(config).world(generated, test), config.simulated.pool)
    table, test_table = pool.answer_table(list(generated.questions)), pool.answer_table(list(test.questions))
    kept, kept_table, _ = stages.filter_stage(config.filter, generated, table, self_answers)
    train_q, train_table, held_q, held_table = holdout_stage(kept, kept_table, config.evaluation.holdout_fraction,
                                                             config.seed)
    consensus = stages.consensus_stage(config.consensus, train_table, config.seed)
    embedder, train_x, test_x = stages.embed_stage(config.embedder, train_q, test,
                                                   cache_dir=tmp_path_factory.mktemp("c"))
    training = stages.TrainingData.build(train_table, train_x, consensus, generated=True)
    routers = stages.train_stage(config.router, training, config.seed)
    held_x = EmbeddingMatrix(tuple(held_q.ids), embedder.embed(held_q.texts), embedder.identity, embedder.kind)
    return locals()


def test_holdout_is_kept_out_of_training(run):
    assert not set(run["train_q"].ids) & set(run["held_q"].ids)
    assert len(run["train_q"]) + len(run["held_q"]) == len(run["kept"])
    assert 0.15 < len(run["held_q"]) / len(run["kept"]) < 0.25
    assert run["train_table"].question_ids == tuple(run["train_q"].ids)


def test_labelled_and_estimated_side_by_side(run):
    ev = stages.evaluate_stage(run["routers"], run["test_table"], run["test_x"], run["training"],
                               holdout=run["held_q"], holdout_table=run["held_table"], holdout_x=run["held_x"])
    assert ev["test_set_id"] and {"best_single", "majority_all", "oracle"} <= set(ev["routers"])
    est = ev["estimate"]
    assert est["on"] == "holdout" and est["n_questions"] == len(run["held_q"]) and est["set_id"].startswith("sha256:")
    assert set(est["routers"]) == set(run["routers"].routers) | {"majority_all"}
    metrics = stages.flat_metrics(ev)
    primary = ev["primary"]
    assert metrics["estimated_top1"] == est["routers"][primary]["top1"] and "best_single.estimated_top1" in metrics
    assert metrics["top1"] == ev["routers"][primary]["top1"]


def test_label_free_run_is_evaluated_on_the_estimate_alone(run, tmp_path):
    empty = run["test_table"].take(np.arange(0))
    empty_x = EmbeddingMatrix((), np.zeros((0, run["test_x"].vectors.shape[1]), np.float32), "x", "tfidf")
    ev = stages.evaluate_stage(run["routers"], empty, empty_x, run["training"], holdout=run["held_q"],
                               holdout_table=run["held_table"], holdout_x=run["held_x"])
    assert ev["routers"] == {} and ev["test_set_id"] is None and ev["estimate"]["routers"]
    metrics = stages.flat_metrics(ev)
    assert "top1" not in metrics and "estimated_top1" in metrics
    from rgd.evaluation.report import write_evaluation, write_plots

    write_evaluation(ev, tmp_path / "e")
    rows = (tmp_path / "e" / "evaluation.csv").read_text().splitlines()
    assert rows[0].endswith(",measure") and all("estimated (label-free" in r for r in rows[1:])
    pytest.importorskip("matplotlib")
    write_plots(ev, run["routers"].main, tmp_path / "p")
    assert (tmp_path / "p" / "estimated_accuracy.png").is_file() and not (tmp_path / "p" / "accuracy.png").exists()
    with pytest.raises(DataError, match="nothing to evaluate"):
        stages.evaluate_stage(run["routers"], empty, empty_x, run["training"])


def test_an_estimate_on_the_labelled_test_set_never_reads_its_keys(run):
    """With no held-out questions the estimate is made on the test set: its true keys are neither the keys
    reading nor anything else of the estimate (they are replaced by wrong ones and nothing changes)."""
    test = run["test_table"]
    wrong = test.with_answers(((test.answers.astype(int) + 1) % test.n_options).astype(test.answers.dtype))
    blocks = [stages.evaluate_stage(run["routers"], t, run["test_x"], run["training"])["estimate"] for t in (test, wrong)]
    assert blocks[0]["on"] == "test" and blocks[0]["keys_arbiter"] is None
    for a, b in zip(blocks[0]["routers"].values(), blocks[1]["routers"].values()):
        assert "top1_keys" not in a and a == b
