"""rgd check: the questions asked, the labels read back, the verdict; clear errors for bad label files."""

from __future__ import annotations

import csv
import gzip
import json

import numpy as np
import pytest
from click.testing import CliRunner

from rgd import few_labels
from rgd.cli.main import main
from rgd.data.recorded import load_recorded
from rgd.errors import DataError
from rgd.workflow import check
from tests.rgd.conftest import specialist_pool, write_recorded

LETTERS = "ABCDE"


def _tied_pool(tmp_path, n=900, seed=0):
    """Two models the votes cannot tell apart (one is truly better), and two weaker ones sharing errors."""
    rng = np.random.default_rng(seed)
    rows, preds = [], {m: [] for m in ("better", "worse", "crowd1", "crowd2")}
    for q in range(n):
        key = int(rng.integers(5))
        rows.append({"question_id": q, "category": "s", "question": f"question {q}",
                     "options": [f"o{k}" for k in range(5)], "answer": LETTERS[key]})
        lure = (key + 1 + int(rng.integers(4))) % 5
        for m, p in (("better", 0.62), ("worse", 0.55), ("crowd1", 0.4), ("crowd2", 0.4)):
            wrong = lure if (m.startswith("crowd") and rng.random() < 0.7) else (key + 1 + int(rng.integers(4))) % 5
            preds[m].append(LETTERS[key] if rng.random() < p else LETTERS[wrong])
    return write_recorded(tmp_path / "pool", rows, preds)


def _fill(asked, data_dir, out):
    keys = {q.id: q.answer_index for q in load_recorded(data_dir).questions}
    rows = list(csv.DictReader(open(asked, encoding="utf-8")))
    for r in rows:
        r["key"] = LETTERS[keys[r["question_id"]]]
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return rows


def test_ask_writes_contested_questions_and_settle_reads_the_keys_back(tmp_path):
    data = _tied_pool(tmp_path)
    report = check.ask(data, tmp_path / "ask.csv", n=30)
    assert report["n_asked"] == 30 and set(report["candidates"][:2]) == {"better", "worse"}
    rows = list(csv.DictReader(open(tmp_path / "ask.csv", encoding="utf-8")))
    assert len(rows) == 30 and all(r["key"] == "" for r in rows)  # no key is written out
    answers = [[r[f"answer_of:{m}"] for m in report["candidates"]] for r in rows]
    assert all(len(set(a)) > 1 for a in answers)  # only where the candidates answer differently
    _fill(tmp_path / "ask.csv", data, tmp_path / "filled.csv")
    verdict = check.settle(data, tmp_path / "filled.csv")
    assert verdict["n_labels"] == 30 and verdict["leader"] in report["candidates"]
    right = verdict["right_on_labels"]
    assert right[verdict["leader"]] == max(right.values())


def test_the_command_runs_both_halves_and_refuses_bad_label_files(tmp_path):
    data = _tied_pool(tmp_path, seed=1)
    runner = CliRunner()
    asked = runner.invoke(main, ["check", str(data), "--ask", str(tmp_path / "ask.csv"), "-n", "12"])
    assert asked.exit_code == 0, asked.output
    assert "identifiable" in asked.output and "Wrote 12 questions" in asked.output
    _fill(tmp_path / "ask.csv", data, tmp_path / "filled.csv")
    settled = runner.invoke(main, ["check", str(data), "--labels", str(tmp_path / "filled.csv"), "--json"])
    assert settled.exit_code == 0 and json.loads(settled.stdout)["n_labels"] == 12
    (tmp_path / "bad.csv").write_text("question_id,key\n0,7\n")
    assert "not an option letter" in runner.invoke(main, ["check", str(data), "--labels",
                                                          str(tmp_path / "bad.csv")]).output
    (tmp_path / "empty.csv").write_text("question_id,key\n0,\n")
    assert "no key is filled in" in runner.invoke(main, ["check", str(data), "--labels",
                                                         str(tmp_path / "empty.csv")]).output
    (tmp_path / "test.jsonl").write_text(json.dumps({"question_id": "899", "key": "A"}) + "\n")
    out = runner.invoke(main, ["check", str(data), "--labels", str(tmp_path / "test.jsonl")]).output
    assert "not in the train split" in out
    assert runner.invoke(main, ["check", str(data)]).exit_code == 2
    with pytest.raises(DataError, match="header"):
        (tmp_path / "nohead.csv").write_text("id,answer\n0,A\n")
        check.read_labels(tmp_path / "nohead.csv")
    (tmp_path / "latin1.csv").write_bytes("question_id,key\n0,\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="UTF-8"):
        check.read_labels(tmp_path / "latin1.csv")


@pytest.mark.parametrize("pool", [lambda d: _tied_pool(d, seed=2), lambda d: specialist_pool(d / "pool")],
                         ids=["pool-wide", "local-routing"])
def test_ask_never_reads_the_recorded_keys(tmp_path, pool):
    data = pool(tmp_path / "a")
    report = check.ask(data, tmp_path / "a.csv", n=20)
    # the same pool with every key replaced by a wrong one: the same questions, candidates and flag
    questions = data / "questions.jsonl.gz"
    rows = [json.loads(line) for line in gzip.open(questions, "rt")]
    for r in rows:
        r["answer"] = LETTERS[(LETTERS.index(r["answer"]) + 1) % 5]
    with gzip.open(questions, "wt") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    poisoned = check.ask(data, tmp_path / "b.csv", n=20)
    assert poisoned == {**report, "questions_file": str(tmp_path / "b.csv")}
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


def test_a_settled_leader_keeps_its_place_against_a_lead_of_the_labels_that_chance_explains(tmp_path):
    rng = np.random.default_rng(3)
    accuracy = {"leader": 0.8, "second": 0.5, "m3": 0.45, "m4": 0.45, "m5": 0.4, "m6": 0.4}  # errors their own
    keys = rng.integers(5, size=900)
    rows = [{"question_id": q, "category": "s", "question": f"question {q}", "options": [f"o{k}" for k in range(5)],
             "answer": LETTERS[k]} for q, k in enumerate(keys)]
    preds = {m: [LETTERS[k if rng.random() < p else (k + 1 + int(rng.integers(4))) % 5] for k in keys]
             for m, p in accuracy.items()}
    data = write_recorded(tmp_path / "pool", rows, preds)
    report = check.ask(data, tmp_path / "ask.csv", n=30)
    assert report["identifiability"]["identifiable"] and report["candidates"][0] == "leader"
    rows = list(csv.DictReader(open(tmp_path / "ask.csv", encoding="utf-8")))
    # the user's keys side with the runner-up on three questions where the leader is wrong, the rest left blank
    picked = [r for r in rows if r["answer_of:leader"] != r[f"answer_of:{report['candidates'][1]}"]
              and r[f"answer_of:{report['candidates'][1]}"]][:3]
    assert len(picked) == 3
    with open(tmp_path / "filled.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["question_id", "key"])
        w.writeheader()
        w.writerows({"question_id": r["question_id"], "key": r[f"answer_of:{report['candidates'][1]}"]}
                    for r in picked)
    verdict = check.settle(data, tmp_path / "filled.csv")
    assert verdict["leader"] == "leader" and not verdict["changed"]
    assert verdict["favoured_by_labels"] == report["candidates"][1] and verdict["p_value"] == 0.125
    assert "not beyond chance" in verdict["sentence"] and "label more questions" in verdict["sentence"]


def test_a_local_routing_on_a_settled_leader_is_tested_against_it_and_kept_where_the_labels_agree(tmp_path):
    data = specialist_pool(tmp_path / "pool")
    report = check.ask(data, tmp_path / "ask.csv", n=30)
    assert report["candidates"] == [few_labels.ROUTING, "generalist"] and report["local_routing"]
    assert report["identifiability"]["identifiable"] and "`rgd check` tests it" in report["identifiability"]["sentence"]
    rows = list(csv.DictReader(open(tmp_path / "ask.csv", encoding="utf-8")))
    assert len(rows) == 30 and all(r[f"answer_of:{few_labels.ROUTING}"] != r["answer_of:generalist"] for r in rows)
    # the routing's answer is the mathematician's on math questions, the generalist's on law ones
    ds = load_recorded(data)
    pred = {m: dict(zip(ds.table.question_ids, ds.table.choices[i])) for i, m in enumerate(ds.table.models)}
    subject = {q.id: q.subject for q in ds.questions}
    assert {subject[r["question_id"]] for r in rows} == {"math"}
    assert all(r[f"answer_of:{few_labels.ROUTING}"] == LETTERS[pred["mathematician"][r["question_id"]]] for r in rows)
    _fill(tmp_path / "ask.csv", data, tmp_path / "filled.csv")  # the true keys: the mathematician is right
    verdict = check.settle(data, tmp_path / "filled.csv")
    assert verdict["leader"] == few_labels.ROUTING and not verdict["changed"]
    assert "confirm the local routing" in verdict["sentence"]


def test_labels_that_side_with_the_leader_beyond_chance_send_every_question_to_it(tmp_path):
    data = specialist_pool(tmp_path / "pool", seed=1)
    runner = CliRunner()
    asked = runner.invoke(main, ["check", str(data), "--ask", str(tmp_path / "ask.csv"), "--embedder", "tfidf"])
    assert asked.exit_code == 0, asked.output
    assert f"Contenders: {few_labels.ROUTING}, generalist." in asked.output
    rows = list(csv.DictReader(open(tmp_path / "ask.csv", encoding="utf-8")))
    with open(tmp_path / "filled.csv", "w", newline="", encoding="utf-8") as f:  # this user's keys: the leader's
        w = csv.DictWriter(f, fieldnames=["question_id", "key"])
        w.writeheader()
        w.writerows({"question_id": r["question_id"], "key": r["answer_of:generalist"]} for r in rows)
    settled = runner.invoke(main, ["check", str(data), "--labels", str(tmp_path / "filled.csv"), "--json"])
    verdict = json.loads(settled.stdout)
    assert verdict["changed"] and verdict["leader"] == "generalist" and verdict["p_value"] < few_labels.SIGNIFICANCE
    assert verdict["right_on_labels"] == {few_labels.ROUTING: 0, "generalist": 30}
    assert "levels: global" in verdict["sentence"]


def test_a_local_routing_whose_first_choice_is_the_leader_everywhere_is_contested_as_a_pool_wide_one(tmp_path):
    rng = np.random.default_rng(4)
    accuracy = {"top": 0.8, "m1": 0.5, "m2": 0.45, "m3": 0.45, "m4": 0.4}  # the same in both subjects
    keys = rng.integers(5, size=1000)
    rows = [{"question_id": q, "category": ("law", "math")[q % 2], "question": f"{('law', 'math')[q % 2]} question {q}",
             "options": [f"o{k}" for k in range(5)], "answer": LETTERS[k]} for q, k in enumerate(keys)]
    preds = {m: [LETTERS[k if rng.random() < p else (k + 1 + int(rng.integers(4))) % 5] for k in keys]
             for m, p in accuracy.items()}
    ds = load_recorded(write_recorded(tmp_path / "pool", rows, preds))
    questions, table = ds.part("train")
    x = check.embed_train("tfidf")([q.text for q in questions])
    # routed per subject, yet "top" is first in both: its answers are the leader's, nothing to test between them
    c = check.contest(table, x, params={"levels": "subject"})
    assert c.local is None and c.names[0] == "top" and len(c.names) >= 2 and c.settled
    assert (c.answers[0] != c.answers[1]).any()
    # where the routing's first choices differ from the leader's, it is the routing that is contested
    spec = load_recorded(specialist_pool(tmp_path / "spec"))
    questions, table = spec.part("train")
    c = check.contest(table, check.embed_train("tfidf")([q.text for q in questions]), params={"levels": "subject"})
    assert c.names == (few_labels.ROUTING, "generalist") and c.local == "subject"


def test_a_local_routing_is_settled_against_the_labels_only_where_a_generators_key_anchored_it(tmp_path):
    ds = load_recorded(specialist_pool(tmp_path / "pool"))
    questions, table = ds.part("train")
    x = check.embed_train("tfidf")([q.text for q in questions])
    crowd = check.contest(table, x)  # the routing's gains rest on the votes: the labels' majority decides
    assert crowd.local and crowd.identifiability["identifiable"] and not crowd.settled
    # a generator that knows the answers (its keys are data, as in rgd run): an arbiter, the routing settled
    keyed = check.contest(table, x, generator_keys=table.answers)
    assert keyed.local and keyed.settled and keyed.names == (few_labels.ROUTING, "generalist")


def test_a_local_routing_on_a_leader_that_copies_meets_the_models_in_doubt_and_the_labels_pick_among_them(tmp_path):
    data = specialist_pool(tmp_path / "pool")
    rng = np.random.default_rng(5)
    source = [json.loads(line) for line in gzip.open(data / "responses" / "generalist.jsonl.gz", "rt")]
    for name in ("copy1", "copy2"):  # two copies of the leader (its answer on 80% of questions): its wins in doubt
        with gzip.open(data / "responses" / f"{name}.jsonl.gz", "wt") as fh:
            fh.writelines(json.dumps({"question_id": r["question_id"],
                                      "pred": r["pred"] if rng.random() < 0.8 else LETTERS[rng.integers(5)]}) + "\n"
                          for r in source)
    report = check.ask(data, tmp_path / "ask.csv", n=30)
    assert not report["identifiability"]["identifiable"] and report["local_routing"]
    assert report["candidates"][:2] == [few_labels.ROUTING, "generalist"] and len(report["candidates"]) >= 3
    _fill(tmp_path / "ask.csv", data, tmp_path / "filled.csv")  # the true keys: the routing is the best of them
    verdict = check.settle(data, tmp_path / "filled.csv")
    assert verdict["leader"] == few_labels.ROUTING and not verdict["changed"]
    right = verdict["right_on_labels"]
    assert right[few_labels.ROUTING] == max(right.values())


def test_a_recorded_run_config_fits_the_router_it_trains_and_other_configs_are_refused(tmp_path):
    data = specialist_pool(tmp_path / "pool")
    runner = CliRunner()
    plain = runner.invoke(main, ["check", str(data), "--ask", str(tmp_path / "a.csv"), "--json"])
    assert json.loads(plain.stdout)["candidates"][0] == few_labels.ROUTING  # the defaults route locally here
    config = tmp_path / "run.yaml"
    config.write_text(f"name: spec\npipeline: recorded\nrecorded: {{dir: {data}}}\nembedder: {{kind: tfidf}}\n"
                      "router: {name: truth_cluster, params: {levels: global}}\n")
    asked = runner.invoke(main, ["check", "--config", str(config), "--ask", str(tmp_path / "b.csv")])
    assert asked.exit_code == 0, asked.output
    assert "Contenders: generalist, mathematician." in asked.stdout  # the config's router: one pool-wide ranking
    assert f"rgd check --config {config} --labels {tmp_path / 'b.csv'}" in asked.stdout
    _fill(tmp_path / "b.csv", data, tmp_path / "filled.csv")
    settled = runner.invoke(main, ["check", "--config", str(config), "--labels", str(tmp_path / "filled.csv"),
                                   "--json"])
    assert json.loads(settled.stdout)["local_routing"] is None
    config.write_text(f"name: spec\npipeline: recorded\nrecorded: {{dir: {data}}}\nrouter: {{name: cascal}}\n")
    refused = runner.invoke(main, ["check", "--config", str(config), "--ask", str(tmp_path / "c.csv")])
    assert refused.exit_code == 1 and "settles the choice of 'truth_cluster'" in refused.output
    both = runner.invoke(main, ["check", str(data), "--config", str(config), "--ask", str(tmp_path / "c.csv")])
    assert both.exit_code == 2 and "--config decides the pool" in both.output
