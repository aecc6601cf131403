"""Router accuracy as the generator weakens: the paper's central claim on the simulated world.

    python benchmarks/generator_quality.py --output FILE [--embedder tfidf|minilm] [--seed S]
        [--n-seeds K] [--n-per-subject N] [--n-test T] [--levels strong,medium,weak,very_weak] [--no-control]

For every seed (world, pool and generation seeds S, S+1, ..., S+K-1) and every generator preset (strongest
first; the weakest, ``very_weak``, has keys right about half the time), the generator writes
``n_per_subject`` questions per subject with its keys, the simulated pool answers them, and the routers are
trained twice: on the raw generated data and on what the filter keeps (``rgd.filtering`` with the
generator's three self-answers and the pool's answers). CASCAL learns from the pool's consensus only (no
keys); kNN, MLP and best_single learn from the generator's keys. All are evaluated on the world's real test
set with TRUE keys (same test set for every level of a seed), with the pool's majority vote and the oracle as
reference points. The stages are those of the training pipeline (``rgd.workflow``); only the pool's answers
take the simulated pool's vectorised fast path instead of the per-model checkpointed ``respond`` stage.

With the filter, the training set shrinks (to roughly 35-65 %). To tell what the filter selects from what
its smaller size costs, every filtered row also carries ``control_random_same_n``: the routers trained on a
uniformly random subset of the raw questions of the same size (``--no-control`` skips it).

The JSON holds one row per (level, filtered) with the mean over seeds and the per-seed values, a ``claim``
section that checks the three statements of the claim on those means, the configuration and timings.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from rgd import workflow as stages
from rgd.config.run_config import RunConfig
from rgd.data.response_table import ResponseTable
from rgd.filtering import FilterConfig
from rgd.routers.registry import DEFAULT_ROUTER  # the product's router; cascal is the paper's
from rgd.simulated.pool import SimulatedPool
from rgd.simulated.presets import GENERATOR_PRESETS, PRESET_ORDER
from rgd.workflow.artifacts import QuestionSet

#: the filter of the project's run configs (configs/default.yaml), written out so the benchmark does not
#: drift with FilterConfig's defaults: the generator must re-pick its key in at least half of 3 re-answers
#: (i.e. 2 of 3), the key must be the pool's consensus majority, and the question must separate the pool
#: (normalised answer entropy >= 0.1, at least one model right and one wrong)
FILTER = FilterConfig(
    min_self_consistency=0.5,
    require_consensus_agreement=True,
    min_answer_entropy=0.1,
    min_score_std=None,
    min_pool_correct=1,
    min_pool_wrong=1,
)
ROUTERS = (DEFAULT_ROUTER, "cascal", "knn", "mlp", "best_single")  # evaluation adds majority_all and oracle
QUERY_ANSWER = ("knn", "mlp")  # routers that learn per-query correctness from the keys
SELF_ANSWER_SAMPLES = 3


def run_config(preset: str, seed: int, n_per_subject: int, n_test: int, embedder: str,
               filter_config: FilterConfig = FILTER) -> RunConfig:
    """The pipeline configuration of one (generator level, seed)."""
    return RunConfig.model_validate({
        "name": f"generator-quality-{preset}-s{seed}",
        "simulated": {"world": {"seed": seed}, "pool": {"seed": seed}, "n_test": n_test, "test_seed": 1000 + seed},
        "generators": [{"kind": "simulated", "preset": preset}],
        "generation": {"n_per_subject": n_per_subject, "self_answer_samples": SELF_ANSWER_SAMPLES, "seed": seed},
        "pool": {"kind": "simulated"},
        "filter": filter_config.model_dump(),
        "embedder": {"kind": embedder},
        "router": {"name": ROUTERS[0], "baselines": list(ROUTERS[1:])},
    })


def train_and_evaluate(config: RunConfig, train: QuestionSet, table: ResponseTable, test: QuestionSet,
                       test_table: ResponseTable, cache_dir: Path) -> dict[str, dict[str, float]]:
    """Consensus, embeddings, every router, evaluation on the true-key test set: {router: {top1, top3_vote}}."""
    consensus = stages.consensus_stage(config.consensus, table, config.seed)
    _, train_x, test_x = stages.embed_stage(config.embedder, train, test, cache_dir=cache_dir)
    training = stages.TrainingData.build(table, train_x, consensus, generated=True)
    routers = stages.train_stage(config.router, training, config.seed)
    evaluation = stages.evaluate_stage(routers, test_table, test_x, training)
    return {name: {"top1": r["top1"], "top3_vote": r["top3_vote"]} for name, r in evaluation["routers"].items()}


def _training_facts(world, questions: Sequence, table: ResponseTable) -> dict[str, float]:
    la = world.latent(list(questions))
    return {"n_questions": len(questions),
            "generator_key_accuracy": float((table.answers == la.key).mean()) if len(questions) else 0.0,
            "non_separating_rate": float((la.kind > 0).mean()) if len(questions) else 0.0}


def run_level(preset: str, seed: int, n_per_subject: int, n_test: int, embedder: str, cache_dir: Path,
              with_filter: bool = True, control: bool = True, filter_config: FilterConfig = FILTER,
              test: tuple[QuestionSet, ResponseTable] | None = None) -> list[dict[str, Any]]:
    """One generator level and seed: the raw row, and the filtered row when ``with_filter``."""
    config = run_config(preset, seed, n_per_subject, n_test, embedder, filter_config)
    t0 = time.perf_counter()
    generated, self_answers = stages.generate_stage(config, progress=False)
    test_set = test[0] if test else stages.load_test_set(config)
    world = stages.SimulatedSource(config).world(generated, test_set)
    pool = SimulatedPool(world, config.simulated.pool)
    table = pool.answer_table(list(generated.questions))
    test_table = test[1] if test else pool.answer_table(list(test_set.questions))
    generated_key_accuracy = _training_facts(world, generated.questions, table)["generator_key_accuracy"]
    t_data = time.perf_counter() - t0

    rows = []
    t0 = time.perf_counter()
    raw = {"generator": preset, "seed": seed, "filtered": False, **_training_facts(world, generated.questions, table),
           "generator_key_accuracy_generated": generated_key_accuracy,
           "routers": train_and_evaluate(config, generated, table, test_set, test_table, cache_dir)}
    raw["seconds"] = round(t_data + time.perf_counter() - t0, 2)
    rows.append(raw)
    if with_filter:
        t0 = time.perf_counter()
        kept, kept_table, report = stages.filter_stage(config.filter, generated, table, self_answers,
                                                       consensus_temperature=config.consensus.temperature)
        row = {"generator": preset, "seed": seed, "filtered": True, **_training_facts(world, kept.questions, kept_table),
               "generator_key_accuracy_generated": generated_key_accuracy,
               "routers": train_and_evaluate(config, kept, kept_table, test_set, test_table, cache_dir),
               "filter": {"n_input": report.n_input, "n_kept": report.n_kept, "failures": report.failures}}
        if control:
            rng = np.random.default_rng([seed, 0xC0417])
            idx = np.sort(rng.choice(len(generated), size=len(kept), replace=False))
            subset = generated.subset([generated.ids[i] for i in idx], role="control")
            row["control_random_same_n"] = {
                **_training_facts(world, subset.questions, table.take(idx)),
                "routers": train_and_evaluate(config, subset, table.take(idx), test_set, test_table, cache_dir)}
        row["seconds"] = round(time.perf_counter() - t0, 2)
        rows.append(row)
    return rows


def test_set_of(seed: int, n_test: int, embedder: str) -> tuple[QuestionSet, ResponseTable]:
    """A seed's true-key test set and the pool's answers to it (the same for every generator level)."""
    config = run_config(PRESET_ORDER[0], seed, 1, n_test, embedder)
    test = stages.load_test_set(config)
    world = stages.SimulatedSource(config).world(test)
    return test, SimulatedPool(world, config.simulated.pool).answer_table(list(test.questions))


# ---------------------------------------------------------------------- aggregation over seeds
def _mean_routers(runs: Sequence[dict[str, dict[str, float]]]) -> dict[str, dict[str, Any]]:
    out = {}
    for name in runs[0]:
        t1 = [r[name]["top1"] for r in runs]
        t3 = [r[name]["top3_vote"] for r in runs]
        out[name] = {"top1": round(float(np.mean(t1)), 4), "top3_vote": round(float(np.mean(t3)), 4),
                     "top1_sd": round(float(np.std(t1)), 4),
                     "per_seed": {"top1": [round(v, 4) for v in t1], "top3_vote": [round(v, 4) for v in t3]}}
    return out


def _mean_facts(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {k: round(float(np.mean([r[k] for r in runs])), 4)
            for k in ("generator_key_accuracy", "n_questions", "non_separating_rate")}


def aggregate(rows: Sequence[dict[str, Any]], levels: Sequence[str], seeds: Sequence[int]) -> list[dict[str, Any]]:
    out = []
    for preset in levels:
        for filtered in (False, True):
            runs = [r for r in rows if r["generator"] == preset and r["filtered"] == filtered]
            if not runs:
                continue
            runs.sort(key=lambda r: seeds.index(r["seed"]))
            level = {"generator": preset, "filtered": filtered, **_mean_facts(runs),
                     "generator_key_accuracy_generated": round(float(np.mean(
                         [r["generator_key_accuracy_generated"] for r in runs])), 4),
                     "routers": _mean_routers([r["routers"] for r in runs])}
            if filtered and all("control_random_same_n" in r for r in runs):
                ctrl = [r["control_random_same_n"] for r in runs]
                level["control_random_same_n"] = {**_mean_facts(ctrl), "routers": _mean_routers([c["routers"] for c in ctrl])}
            level["per_seed"] = [{k: r[k] for k in ("seed", "n_questions", "generator_key_accuracy",
                                                    "non_separating_rate", "seconds", "filter") if k in r}
                                 for r in runs]
            out.append(level)
    return out


def claim(levels: Sequence[dict[str, Any]], order: Sequence[str]) -> dict[str, Any]:
    """The three statements of the claim, checked on the seed means (top-1)."""
    def top1(preset: str, filtered: bool, name: str) -> float:
        row = next(r for r in levels if r["generator"] == preset and r["filtered"] == filtered)
        return row["routers"][name]["top1"]

    strongest, weakest = order[0], order[-1]
    raw_names = ROUTERS
    drops = {n: round(top1(strongest, False, n) - top1(weakest, False, n), 4) for n in raw_names}
    best_qa_weakest = max(QUERY_ANSWER, key=lambda n: top1(weakest, False, n))
    margin = round(top1(weakest, False, "cascal") - top1(weakest, False, best_qa_weakest), 4)
    out: dict[str, Any] = {
        "strongest": strongest,
        "weakest": weakest,
        "top1_drop_strongest_to_weakest": drops,
        "query_answer_routers_lose_faster": all(drops["cascal"] < drops[n] for n in QUERY_ANSWER),
        "best_query_answer_router_at_weakest": best_qa_weakest,
        "cascal_minus_best_query_answer_at_weakest": margin,
        "cascal_beats_best_query_answer_by_4_points_at_weakest": margin >= 0.04,
        # the product's router against the best query-answer router and CASCAL at every preset (raw data)
        "default_router_minus_best_query_answer": {
            p: round(top1(p, False, DEFAULT_ROUTER) - max(top1(p, False, n) for n in QUERY_ANSWER), 4) for p in order},
        "default_router_minus_cascal": {
            p: round(top1(p, False, DEFAULT_ROUTER) - top1(p, False, "cascal"), 4) for p in order},
    }
    weak_levels = [p for p in order if GENERATOR_PRESETS[p].key_accuracy <= 0.65]
    if any(r["filtered"] for r in levels) and weak_levels:
        gains = {p: {n: round(top1(p, True, n) - top1(p, False, n), 4) for n in raw_names} for p in weak_levels}
        out["weak_levels"] = weak_levels
        out["filter_gain_top1_on_weak_levels"] = gains
        out["filter_raises_every_router_on_weak_levels"] = {
            n: all(gains[p][n] > 0 for p in weak_levels) for n in raw_names}
        ctrl = {}
        for p in weak_levels:
            row = next(r for r in levels if r["generator"] == p and r["filtered"])
            if "control_random_same_n" in row:
                ctrl[p] = {n: round(row["routers"][n]["top1"] - row["control_random_same_n"]["routers"][n]["top1"], 4)
                           for n in raw_names}
        if ctrl:
            out["filter_gain_top1_vs_random_subset_same_n"] = ctrl
    return out


def run(levels: Sequence[str] = PRESET_ORDER, seeds: Sequence[int] = (0, 1, 2), n_per_subject: int = 200,
        n_test: int = 1200, embedder: str = "tfidf", with_filter: bool = True, control: bool = True,
        cache_dir: Path | None = None, progress: bool = True) -> dict[str, Any]:
    """The whole benchmark; returns the JSON document."""
    unknown = [p for p in levels if p not in GENERATOR_PRESETS]
    if unknown:
        raise ValueError(f"unknown generator presets {unknown}; choose from {', '.join(PRESET_ORDER)}")
    if len(levels) < 2:
        raise ValueError("need at least two generator levels to compare")
    levels = sorted(levels, key=PRESET_ORDER.index)  # strongest first
    t_start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="rgd-genq-") as tmp:
        cache = Path(cache_dir) if cache_dir else Path(tmp)
        bar = tqdm(total=len(seeds) * len(levels), desc="generator quality", unit="level", disable=not progress)
        for seed in seeds:
            test = test_set_of(seed, n_test, embedder)
            for preset in levels:
                bar.set_postfix_str(f"seed {seed} {preset}")
                rows += run_level(preset, seed, n_per_subject, n_test, embedder, cache, with_filter, control,
                                  test=test)
                bar.update()
        bar.close()
    aggregated = aggregate(rows, list(levels), list(seeds))
    return {
        "levels": aggregated,
        "claim": claim(aggregated, levels),
        "config": {
            "levels": list(levels),
            "generator_presets": {p: GENERATOR_PRESETS[p].model_dump() for p in levels},
            "seeds": list(seeds),
            "seed_meaning": "world seed = pool seed = generation seed = S; test set seed = 1000 + S",
            "n_per_subject": n_per_subject,
            "n_subjects": len(run_config(levels[0], seeds[0], 1, n_test, embedder).simulated.world.subjects()),
            "n_test": n_test,
            "embedder": embedder,
            "routers": list(ROUTERS),
            "label_free_routers": [DEFAULT_ROUTER, "cascal"],
            "key_trained_routers": [n for n in ROUTERS if n not in (DEFAULT_ROUTER, "cascal")],
            "self_answer_samples": SELF_ANSWER_SAMPLES,
            "filter": FILTER.model_dump() if with_filter else None,
            "control_random_same_n": bool(with_filter and control),
            "pool": "rgd.simulated default pool (7 specialists, 2 generalists) of each seed's world",
        },
        "timings_s": {"total": round(time.perf_counter() - t_start, 1),
                      "per_level_and_seed": {f"{r['generator']}/s{r['seed']}/{'filtered' if r['filtered'] else 'raw'}":
                                             r["seconds"] for r in rows}},
    }


def _table(doc: dict[str, Any]) -> str:
    names = list(doc["levels"][0]["routers"])
    head = f"{'generator':10s} {'filt':5s} {'keyacc':>6s} {'n':>6s} " + " ".join(f"{n[:11]:>11s}" for n in names)
    lines = [head]
    for r in doc["levels"]:
        lines.append(f"{r['generator']:10s} {r['filtered']!s:5s} {r['generator_key_accuracy']:6.3f} "
                     f"{r['n_questions']:6.0f} " + " ".join(f"{r['routers'][n]['top1']:11.3f}" for n in names))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--output", required=True, type=Path, help="where to write the JSON result")
    p.add_argument("--embedder", default="tfidf", choices=("tfidf", "minilm"))
    p.add_argument("--seed", type=int, default=0, help="first seed (world, pool and generation)")
    p.add_argument("--n-seeds", type=int, default=3, help="seeds S, S+1, ...; results are means with per-seed values")
    p.add_argument("--n-per-subject", type=int, default=200, help="generated questions per subject and level")
    p.add_argument("--n-test", type=int, default=1200, help="true-key test questions per seed")
    p.add_argument("--levels", default=",".join(PRESET_ORDER), help="generator presets, comma separated")
    p.add_argument("--no-control", action="store_true", help="skip the size-matched random-subset control")
    p.add_argument("--cache-dir", type=Path, default=None, help="embedding cache (default: a temporary directory)")
    args = p.parse_args(argv)
    if args.n_seeds < 1 or args.n_per_subject < 1 or args.n_test < 10:
        p.error("need --n-seeds >= 1, --n-per-subject >= 1 and --n-test >= 10")
    doc = run(levels=[s.strip() for s in args.levels.split(",") if s.strip()],
              seeds=list(range(args.seed, args.seed + args.n_seeds)), n_per_subject=args.n_per_subject,
              n_test=args.n_test, embedder=args.embedder, control=not args.no_control, cache_dir=args.cache_dir)
    doc["config"]["command"] = " ".join(["python", "benchmarks/generator_quality.py", *(argv or sys.argv[1:])])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(_table(doc))
    print(json.dumps(doc["claim"], indent=1))
    print(f"total {doc['timings_s']['total']} s -> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
