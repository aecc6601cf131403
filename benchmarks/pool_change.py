"""Day 2 without labels: pool changes on the recorded replay, promoted by the gate alone (issue 24, items 1-2).

    python benchmarks/pool_change.py --output FILE [--data ../shared/data/mmlu_pro] [--home DIR]
        [--config configs/mmlu_pro_replay.yaml] [--cases add,remove,replace,removed_relied_on] [--no-timing]
        [--embedder tfidf]

Every case runs ``rgd`` as a user would, in one ``RGD_HOME`` (so the ZenML cache and the answer journals are
shared, as on a team's machine), each case under its own registered model name:

1. a base run on the base pool; its version becomes champion (by the gate, or -- where the gate keeps it
   challenger, which is not what is measured here -- set by hand with ``rgd promote``, and said so);
2. the change, with ``rgd pool add | remove | replace``; the new version is registered and the gate decides
   alone: the champion is measured again on the new version's held-out questions with the new pool.

Cases (``--cases``; the first four by default) on the 12-model pack: ``add`` (11 models without Qwen1.5-110B, then it is added), ``remove`` (the 12,
then gemma-7b leaves), ``replace`` (the 11 with Qwen1.5-7B-Chat, which is replaced by Qwen1.5-110B: a new
release under a new name), ``removed_relied_on`` (the 12, then Meta-Llama-3-70B, the pool's best model and the
champion's most routed-to, leaves); and on a small pool of five mid and weak models (Llama-3.1-8B, Yi-34B,
mathstral-7B, Phi-3-mini, Qwen1.5-7B-Chat), where one model matters more: ``add_strong`` (Meta-Llama-3-70B
joins), ``replace_strong`` (Qwen1.5-7B-Chat replaced by Qwen1.5-110B), ``removed_relied_on_small`` (the five and
Meta-Llama-3-70B, which then leaves).

The gate reads no label: the config's ``registry.metric`` is set to ``estimated_top1``. The run also has the
pack's labelled test split (``test_set``), for reporting only: the labelled top-1 of the new version and of the
champion measured again in the new pool (metric ``champion_remeasured.top1``) say which version is better, and
the case passes when that version ends ``champion``; where the two differ by less than two paired standard
errors on the test split (:func:`label_difference`) neither is better and either outcome passes. Per case: which models answered anew (the respond steps'
``answered_now``), the decision and its reason, both label-free estimates and both labelled accuracies.

``--config configs/mmlu_pro_recorded.yaml`` runs the same cases on the recorded pipeline (``pipeline: recorded``,
the pool in ``recorded.models``; no held-out generated questions there, so the estimate is made on the test
split with its keys hidden, as that pipeline does).

Timing (unless ``--no-timing``): the ``add`` change's wall time against a full run of the same 12-model config
with ``--no-cache`` (every step and every answer again), in the same session.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
RGD = Path(sys.executable).with_name("rgd")
POOL12 = ["Qwen1.5-110B", "jamba-1.5-large", "Meta-Llama-3-70B", "Yi-34B", "mathstral-7B",
          "Mixtral-8x7B-Instruct-v0.1", "Phi-3-mini-4k-instruct", "Meta-Llama-3_1-8B-Instruct", "c4ai-command-r-v01",
          "gemma-7b", "Qwen1.5-7B-Chat", "Mistral-7B-Instruct-v0.2"]
WITHOUT_110B = [m for m in POOL12 if m != "Qwen1.5-110B"]
#: a small pool of mid and weak models, where one strong model more or less changes the accuracy
SMALL = ["Meta-Llama-3_1-8B-Instruct", "Yi-34B", "mathstral-7B", "Phi-3-mini-4k-instruct", "Qwen1.5-7B-Chat"]
#: case -> (base pool, the rgd pool arguments)
CASES = {
    "add": (WITHOUT_110B, ["add", "Qwen1.5-110B"]),
    "remove": (POOL12, ["remove", "gemma-7b"]),
    "replace": (WITHOUT_110B, ["replace", "Qwen1.5-7B-Chat", "Qwen1.5-110B"]),
    "removed_relied_on": (POOL12, ["remove", "Meta-Llama-3-70B"]),
    "add_strong": (SMALL, ["add", "Meta-Llama-3-70B"]),
    "replace_strong": (SMALL, ["replace", "Qwen1.5-7B-Chat", "Qwen1.5-110B"]),
    "removed_relied_on_small": (SMALL + ["Meta-Llama-3-70B"], ["remove", "Meta-Llama-3-70B"]),
}
DEFAULT_CASES = ("add", "remove", "replace", "removed_relied_on")


def env_for(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENML_", "MLFLOW_", "RGD_"))}
    zdir = home / "zenml"
    env.update(RGD_HOME=str(home), ZENML_CONFIG_PATH=str(zdir), ZENML_LOCAL_STORES_PATH=str(zdir / "local_stores"),
               ZENML_ANALYTICS_OPT_IN="false", ZENML_LOGGING_VERBOSITY="WARN", AUTO_OPEN_DASHBOARD="false")
    return env


def rgd(home: Path, *args: str) -> tuple[str, float]:
    t0 = time.perf_counter()
    proc = subprocess.run([str(RGD), *args], cwd=home, env=env_for(home), capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"rgd {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout, seconds


def write_config(home: Path, base: dict[str, Any], name: str, pool: list[str], data: Path) -> Path:
    config = json.loads(json.dumps(base))
    config["name"] = name
    key = "recorded" if config.get("pipeline") == "recorded" else "pool"
    config[key] = {**config[key], "models": list(pool)}
    if key == "pool":  # the recorded pipeline has its own labelled test split
        config["test_set"] = {"dir": str(data)}  # reporting only: the gate's metric is label-free
    config["registry"] = {**config.get("registry", {}), "model_name": f"pool-{name}", "metric": "estimated_top1"}
    path = home / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def absolute_dirs(config: dict[str, Any], data: Path) -> dict[str, Any]:
    """The config with the shared pack's directory wherever it names one (it is read from ``home``)."""
    text = json.dumps(config).replace("../shared/data/mmlu_pro", str(data))
    return json.loads(text)


def registry_state(home: Path, model_name: str) -> dict[str, Any]:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{home}/mlflow/mlflow.db")
    model = client.get_registered_model(model_name)
    versions = sorted(client.search_model_versions(f"name='{model_name}'"), key=lambda v: int(v.version))
    latest = versions[-1]
    metrics = client.get_run(latest.run_id).data.metrics
    tags = latest.tags
    return {
        "aliases": {a: str(v) for a, v in model.aliases.items()},
        "latest": str(latest.version),
        "decision": tags.get("promotion.decision"), "reason": tags.get("promotion.reason"),
        "pool_change": {k.split(".", 1)[1]: v for k, v in tags.items() if k.startswith("pool_change.")},
        "challenger": {k: metrics.get(k) for k in ("top1", "estimated_top1", "estimated_top1_keys")},
        "champion_remeasured": {k: metrics.get(f"champion_remeasured.{k}")
                                for k in ("top1", "estimated_top1", "estimated_top1_keys")},
    }


def answered_now(home: Path) -> dict[str, int]:
    """The respond steps of the last run that answered anything anew (model slug -> answers)."""
    script = home / "answered_now.py"
    script.write_text(
        "import json\nfrom zenml.client import Client\n"
        "run = Client().get_pipeline('rgd_training').last_run\n"
        "out = {}\n"
        "for name, s in run.steps.items():\n"
        "    if name.startswith('respond_') and str(s.status).endswith('completed'):\n"
        "        md = {k: getattr(v, 'value', v) for k, v in (s.run_metadata or {}).items()}\n"
        "        out[name] = int(md.get('answered_now', -1))\n"
        "    elif name.startswith('respond_'):\n"
        "        out[name] = 0\n"
        "print('JSON:' + json.dumps(out))\n")
    proc = subprocess.run([sys.executable, str(script)], cwd=home, env=env_for(home), capture_output=True, text=True)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("JSON:")), None)
    return {} if line is None else {k: v for k, v in json.loads(line[5:]).items() if v}


def label_difference(home: Path, data: Path, model_name: str, base_version: str, new_version: str,
                     embed_cache: Path) -> dict[str, Any]:
    """Reporting only, from the pack's labelled test split: per question, whether the new version's top-1 is right
    and whether the champion's (re-routed into the new pool) is; their mean difference and its paired standard
    error. A difference within two standard errors is a tie: neither version is better by the labels."""
    import numpy as np

    from rgd.data.recorded import load_recorded
    from rgd.embedding import embed_questions
    from rgd.evaluation.metrics import chosen_by
    from rgd.evaluation.pool_change import pool_change, reroute
    from rgd.tracking.serving_source import RegistrySource

    source = RegistrySource(model_name, uri=f"sqlite:///{home}/mlflow/mlflow.db")
    new, champion = source.load(new_version), source.load(base_version)
    test_q, table = load_recorded(data, list(new.models)).part("test")
    texts = [q.text for q in test_q]

    def right(bundle, ranks):
        return chosen_by(ranks, table, 1)[0] == table.answers

    ranks_new = new.router.rank(embed_questions(new.embedder, texts, embed_cache))
    ranks_old, _ = reroute(champion.router.rank(embed_questions(champion.embedder, texts, embed_cache)),
                           pool_change(champion.models, new.models))
    diff = right(new, ranks_new).astype(float) - right(champion, ranks_old).astype(float)
    se = float(diff.std() / np.sqrt(len(diff)))
    mean = float(diff.mean())
    return {"new_top1": float(right(new, ranks_new).mean()), "champion_top1": float(right(champion, ranks_old).mean()),
            "difference": mean, "paired_se": se, "tie": abs(mean) <= 2 * se}


def run_case(home: Path, case: str, base: dict[str, Any], data: Path) -> dict[str, Any]:
    pool, change = CASES[case]
    config = write_config(home, base, case, pool, data)
    model_name = f"pool-{case}"
    out, base_s = rgd(home, "run", "--config", str(config))
    state = registry_state(home, model_name)
    by_hand = False
    if state["aliases"].get("champion") != state["latest"]:  # setup, not the measured decision
        rgd(home, "promote", state["latest"], "--name", model_name)
        by_hand = True
    base_version = state["latest"]
    out, change_s = rgd(home, "pool", *change, "--config", str(config))
    after = registry_state(home, model_name)
    labels = label_difference(home, data, model_name, base_version, after["latest"], home / "cache" / "embeddings")
    better = None if labels["tie"] else (after["latest"] if labels["difference"] > 0 else base_version)
    return {
        "case": case, "change": change, "base_pool": pool, "base_version": base_version,
        "base_promoted_by_hand": by_hand, "base_seconds": round(base_s, 1), "change_seconds": round(change_s, 1),
        "answered_anew": answered_now(home), "new_version": after["latest"], "decision": after["decision"],
        "reason": after["reason"], "pool_change": after["pool_change"],
        "challenger": after["challenger"], "champion_remeasured": after["champion_remeasured"],
        "labels": labels, "better_by_labels": better, "champion_after": after["aliases"].get("champion"),
        "ok": better is None or after["aliases"].get("champion") == better,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--output", required=True)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "mmlu_pro"))
    ap.add_argument("--home", default=None, help="RGD_HOME of the runs (default: a fresh temporary directory)")
    ap.add_argument("--config", default=str(REPO / "configs" / "mmlu_pro_replay.yaml"))
    ap.add_argument("--cases", default=",".join(DEFAULT_CASES), help=f"any of {', '.join(CASES)}")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--embedder", default=None, help="replace the config's embedder (e.g. tfidf for a quick run)")
    args = ap.parse_args()
    data = Path(args.data).resolve()
    if not (data / "questions.jsonl.gz").is_file():
        raise SystemExit(f"no recorded pack at {data}")
    import tempfile

    home = Path(args.home or tempfile.mkdtemp(prefix="rgd-pool-change-")).resolve()
    home.mkdir(parents=True, exist_ok=True)
    base = absolute_dirs(yaml.safe_load(Path(args.config).read_text()), data)
    if args.embedder:
        base["embedder"] = args.embedder
    results: dict[str, Any] = {"config": str(args.config), "home": str(home), "cases": []}
    for case in args.cases.split(","):
        result = run_case(home, case, base, data)
        results["cases"].append(result)
        print(json.dumps({k: result[k] for k in ("case", "decision", "better_by_labels", "champion_after", "ok",
                                                  "change_seconds", "answered_anew")}), flush=True)
    if not args.no_timing and "add" in args.cases.split(","):
        full = write_config(home, base, "full", POOL12, data)
        _, full_s = rgd(home, "run", "--config", str(full), "--no-cache")
        add_s = next(c["change_seconds"] for c in results["cases"] if c["case"] == "add")
        results["timing"] = {"pool_add_seconds": add_s, "full_run_no_cache_seconds": round(full_s, 1),
                             "ratio": round(add_s / full_s, 3)}
        print(json.dumps(results["timing"]), flush=True)
    Path(args.output).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
