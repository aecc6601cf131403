"""Does the product's router hold on pools it was not developed on? Random and stressed pools of the recorded models.

    python benchmarks/pool_sweep.py [--suite random|stress|frontier] [--seeds 0 1 2] [--keys strong|weak|very_weak]
                                    [--pools 24] [--spread 0.25] [--embedder minilm] [--output FILE]
    python benchmarks/pool_sweep.py --flag-over RESULT [RESULT ...]   # the flag over several sweeps' pools
    python benchmarks/pool_sweep.py --proxy [--suite ...] [--seeds ...] [--label-draws 10]   # the estimate's top pick only: seconds

``--suite stress`` builds the pools with :mod:`rgd.evaluation.stress` (clones that share a weak model's
errors, position bias, missing answers, one strong model among 4-8 weak correlated ones) from the recorded
answers instead of drawing them as they are; ``--suite frontier`` the opposite shape (:func:`frontier_suite`:
2-4 strong members, each a recorded model given the key on the 30-70% of questions easiest for it, with
``--spread`` the s.d. of each one's noise on the questions' ease, ``none`` for questions drawn at random, and
1-4 recorded models). ``--keys`` gives the routers a shared generator's answers as the
training keys (the generator is then left out of the pools): the label-using baselines learn from them, and
best_single is chosen on them, the fair comparison when keys exist. Per pool the JSON also has the router's
identifiability flag (:func:`rgd.truth.identifiability`) and the few-label mode (:mod:`rgd.few_labels`): the
true train keys of at most ``--labels`` questions asked where the candidates disagree, as a user would fill
them in, and the test top-1 once the labels have re-decided (on every pool, as `rgd check` asks: between the
models in doubt, a settled leader overturned only beyond chance; on a local routing, the routing against them).

The issue-9 settings are two pools of one data set, and every default of the product's router was
developed on them. Here each pool is a seeded random draw of 3 to 10 models from the 15 with recorded
answers (the 12 of the developers' pool, plus the three of ``generators/`` as pool members: one strong, two
weak with many unanswered questions), no keys. Per pool: the test top-1 / top-3 vote of truth_cluster
(the default router), cascal and the pool's majority vote, and the test top-1 of the model with the best
train accuracy (``best_single``, which learns from the true train keys: a reference a label-free router
must come close to, not a router the product could run). The true test keys are for reporting only.

Reported: per pool the figures and the default router's margins over best_single and cascal; overall the
mean, the worst margin and how many pools the default router loses by more than 1 point.

``--proxy`` (no keys) is the fast proxy the estimator's changes are tried on first: no embedding, no routing,
no CASCAL; per pool the product's label-free estimate on the train split (:meth:`TruthClusterRouter.estimate_votes`,
voter abilities per subject), its top model's test top-1 against best_single, the flag, and the few labels
played on every pool. A pool the router routes locally is scored by its pool-wide leader, so the proxy's margins
are the estimate's, not the router's (benchmarks/README.md says which figures come from which).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rgd import few_labels  # noqa: E402
from rgd.data.keys import load_generator_keys  # noqa: E402
from rgd.data.recorded import RecordedDataset, load_recorded  # noqa: E402
from rgd.evaluation.stress import frontier_suite, stress_suite  # noqa: E402
from rgd.routers.truth_cluster import TruthClusterRouter  # noqa: E402
from rgd.workflow import check  # noqa: E402
from rgd.workflow.recorded import embed_with, run_recorded  # noqa: E402

ROUTERS = ("truth_cluster", "cascal", "best_single")
#: the generators of ../shared/data/mmlu_pro/generators by quality
GENERATORS = {"strong": "gemini-1.5-pro-002", "weak": "Mistral-7B-Instruct-v0.1", "very_weak": "Llama-2-7b-hf"}


def pool_dir(data: Path, into: Path, members: list[str]) -> Path:
    """A recorded directory (symlinks) whose pool is ``members``, taken from ``responses/`` or ``generators/``."""
    (into / "responses").mkdir(parents=True, exist_ok=True)
    for name in ("questions.jsonl.gz", "split.json"):
        os.symlink(data / name, into / name)
    for m in members:
        src = data / "responses" / f"{m}.jsonl.gz"
        os.symlink(src if src.exists() else data / "generators" / f"{m}.jsonl.gz", into / "responses" / src.name)
    return into


def available_models(data: Path) -> list[str]:
    return sorted(p.name.removesuffix(".jsonl.gz") for d in ("responses", "generators")
                  for p in (data / d).glob("*.jsonl.gz"))


def draw_pools(models: list[str], n_pools: int, seed: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    return [sorted(rng.choice(models, size=int(rng.integers(3, 11)), replace=False).tolist()) for _ in range(n_pools)]


def flag_summary(rows: list[dict]) -> dict:
    """The identifiability flag against the pools the router loses by more than 2 points: recall, the share of
    pools flagged, precision."""
    flagged = np.array([not r["identifiability"]["identifiable"] for r in rows])
    bad = np.array([r["margins"]["top1_vs_best_single"] < -0.02 for r in rows])
    return {"pools": len(rows), "pools_below_by_2pt": int(bad.sum()), "flagged": int(flagged.sum()),
            "flagged_share": round(float(flagged.mean()), 4),
            "recall": None if not bad.any() else round(float(flagged[bad].mean()), 4),
            "precision": None if not flagged.any() else round(float(bad[flagged].mean()), 4)}


def summary(rows: list[dict]) -> dict:
    out = {}
    for name in rows[0]["margins"]:  # top1_vs_best_single, then (a full sweep) those against cascal and the majority
        m = np.array([r["margins"][name] for r in rows])
        out[name] = {"mean": round(float(m.mean()), 4), "worst": round(float(m.min()), 4),
                     "pools_below_by_1pt": int((m < -0.01).sum())}
    m = np.array([r["few_labels"]["top1"] - r["routers"]["best_single"]["top1"] for r in rows])
    out["few_labels_top1_vs_best_single"] = {"mean": round(float(m.mean()), 4), "worst": round(float(m.min()), 4),
                                             "pools_below_by_1pt": int((m < -0.01).sum()),
                                             "labels_max": max(r["few_labels"]["n_labels"] for r in rows)}
    out["identifiability_flag"] = flag_summary(rows)
    return out


def pools_of(args, data: Path, tmp: Path, seed: int) -> list[tuple[tuple[str, ...], RecordedDataset]]:
    """(what the stress suite changed, dataset) per pool of the sweep for one seed."""
    models = available_models(data)
    if args.keys:
        models = [m for m in models if m != GENERATORS[args.keys]]
    if args.suite == "random":
        return [((), load_recorded(pool_dir(data, tmp / f"pool{seed}-{i}", p)))
                for i, p in enumerate(draw_pools(models, args.pools, seed))]
    everything = load_recorded(pool_dir(data, tmp / f"all{seed}", models))
    suite = (frontier_suite(everything.table, args.pools, seed, args.spread) if args.suite == "frontier"
             else stress_suite(everything.table, args.pools, seed))
    return [((sp.name, *sp.changes), RecordedDataset(sp.name, everything.questions, sp.table, everything.train_ids,
                                                     everything.test_ids))
            for sp in suite]


def labels_decide(answers: np.ndarray, keys: np.ndarray, settled: bool, n_labels: int, seed: int) -> few_labels.Decision:
    """`rgd check` on the train split: the questions it asks between the contenders (``answers``: (K, Q) theirs),
    answered with the true train ``keys`` (the user's, played here), and its decision (``leader``: a row)."""
    competing = np.arange(len(answers))
    asked = few_labels.questions_to_ask(answers, competing, n_labels, seed)
    if not len(asked):  # the contenders answer alike everywhere: nothing is asked, the label-free choice stays
        return few_labels.Decision(0, 0, {int(m): 0 for m in competing}, 0, 0, 1.0)
    return few_labels.decide(answers, competing, asked, keys[asked], settled=settled)


def proxy_row(ds: RecordedDataset, n_labels: int, seed: int, params: dict, label_draws: int = 1) -> dict:
    """One pool on the fast proxy (``--proxy``): the label-free estimate's top pick on the train split, its flag and
    the few labels (the true train keys as the user's), scored on the test split against best_single. With
    ``label_draws`` > 1 the few labels' top-1 is the mean over that many draws of the questions (seeds ``1000 *
    seed + i``): one draw of 30 is noisy, and a rule for the labels is judged on its mean."""
    _, train = ds.part("train")
    _, test = ds.part("test")
    with threadpool_limits(limits=1, user_api="blas"):  # as the router fits
        est = TruthClusterRouter(**params).estimate_votes(train, None, train.subjects)
    ident = est.params["identifiability"]
    test_acc = test.accuracy()
    best = float(test_acc[int(np.argmax(train.accuracy()))])
    competing = np.array(ident.contenders)
    draws = [seed] if label_draws == 1 else [1000 * seed + i for i in range(label_draws)]
    decisions = [labels_decide(train.choices[competing], train.answers, ident.identifiable, n_labels, s)
                 for s in draws]
    leaders = [int(competing[d.leader]) for d in decisions]
    few = {"asked": True, "n_labels": decisions[0].n_labels, "leader": train.models[leaders[0]],
           "changed": decisions[0].changed, "top1": float(np.mean(test_acc[leaders]))}
    if label_draws > 1:
        few["top1_draws"] = [round(float(test_acc[m]), 4) for m in leaders]
    return {"seed": seed, "pool": list(ds.table.models), "routers": {"best_single": {"top1": round(best, 4)}},
            "level": "estimate", "identifiability": ident.to_dict(train.models), "few_labels": few,
            "margins": {"top1_vs_best_single": round(float(test_acc[ident.leader]) - best, 4)}}


def with_few_labels(ds: RecordedDataset, report: dict, n_labels: int, seed: int, train_x: np.ndarray,
                    params: dict, generator_keys: np.ndarray | None = None) -> dict:
    """The few-label mode on a pool as `rgd check` runs it (:mod:`rgd.workflow.check`), the user's keys played by
    the true train keys: between the contenders where the router ranks pool-wide (a settled leader overturned only
    beyond chance); where it routes locally, between the local routing and the pool-wide leader (settled) or the
    models in doubt (the leader copies), the labels' majority deciding unless a generator's key anchored the
    routing. ``train_x``: the train questions' embeddings; only on a local routing is
    the router refitted, as `rgd check` fits it (the same router; the pool-wide contests are read from the report).
    The labels' leader, where it changed, then takes every question. ``params``: the router's, and
    ``generator_keys`` the keys it was given on the train questions (or None), as the sweep's."""
    tc = report["router_summaries"]["truth_cluster"]
    ident = tc["identifiability"]
    top1 = report["routers"]["truth_cluster"]["top1"]
    _, train = ds.part("train")
    _, test = ds.part("test")
    if tc["level"] != "global":
        c = check.contest(train, train_x, params=params, generator_keys=generator_keys)
        if c.level != tc["level"] or c.names[c.local is not None] != ident["leader"]:
            raise RuntimeError(f"rgd check's router is not the sweep's: {c.level}, {c.names} for {tc['level']}, "
                               f"{ident['leader']}")
        answers, settled, names = c.answers, c.settled, c.names
    else:
        competing = np.array([train.models.index(m) for m in ident["contenders"]])
        answers, settled, names = train.choices[competing], ident["identifiable"], ident["contenders"]
    decision = labels_decide(answers, train.answers, settled, n_labels, seed)
    leader = names[decision.leader]
    if decision.changed:
        top1 = float((test.choices[train.models.index(leader)] == test.answers).mean())
    return {"asked": True, "n_labels": decision.n_labels, "leader": leader, "changed": decision.changed, "top1": top1,
            **({"contest": "local routing"} if names[0] == few_labels.ROUTING else {})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "mmlu_pro")
    ap.add_argument("--cache", type=Path, default=REPO / ".rgd" / "cache" / "embeddings")
    ap.add_argument("--embedder", default="minilm")
    ap.add_argument("--suite", choices=("random", "stress", "frontier"), default="random")
    ap.add_argument("--spread", type=lambda v: None if v == "none" else float(v), default=0.25,
                    help="frontier suite: s.d. of each strong member's noise on the questions' ease ('none': at random)")
    ap.add_argument("--pools", type=int, default=24, help="pools per seed")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="the draws of the pools (the routers' seed is 0)")
    ap.add_argument("--seed", type=int, dest="seeds_one", help="one draw (the earlier spelling of --seeds S)")
    ap.add_argument("--keys", choices=sorted(GENERATORS), help="train on this shared generator's keys")
    ap.add_argument("--labels", type=int, default=few_labels.DEFAULT_QUESTIONS,
                    help="questions the few-label mode may ask per flagged pool")
    ap.add_argument("--params", type=json.loads, default={},
                    help='truth_cluster parameters as JSON, e.g. \'{"local_margin": 0.03}\' (default: the library\'s)')
    ap.add_argument("--output", type=Path)
    ap.add_argument("--proxy", action="store_true",
                    help="the label-free estimate's top pick only (no embedding, routing or CASCAL; no keys): seconds")
    ap.add_argument("--label-draws", type=int, default=1,
                    help="--proxy: the few labels' top-1 as the mean over this many draws of the questions per pool")
    ap.add_argument("--flag-over", type=Path, nargs="+", metavar="RESULT",
                    help="no sweep: the identifiability flag over the pools of these result files together")
    args = ap.parse_args()
    if args.flag_over:
        print(json.dumps(flag_summary([r for f in args.flag_over for r in json.loads(f.read_text())["pools"]]), indent=1))
        return
    seeds = [args.seeds_one] if args.seeds_one is not None else args.seeds
    if args.proxy and args.keys:
        ap.error("--proxy runs without keys")
    if args.label_draws < 1 or (args.label_draws > 1 and not args.proxy):
        ap.error("--label-draws takes a count >= 1, and more than one draw only with --proxy")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    embed_once = embed_with(args.embedder, args.cache)
    vectors: list = []
    keys_from = None if not args.keys else args.data / "generators" / f"{GENERATORS[args.keys]}.jsonl.gz"

    def embed(train_texts, test_texts):  # every pool has the same questions: embed them once
        if not vectors:
            vectors.extend(embed_once(train_texts, test_texts))
        return vectors[0], vectors[1]

    train_keys: list = []

    def keys_of(ds):  # the generator's keys of the train questions, the same in every pool: read them once
        if keys_from is not None and not train_keys:
            _, train = ds.part("train")
            train_keys.append(load_generator_keys(keys_from, train.question_ids, train.n_options,
                                                  known_ids=ds.table.question_ids))
        return train_keys[0] if train_keys else None

    rows = []
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            for i, (changes, ds) in enumerate(pools_of(args, args.data, Path(tmp), seed)):
                if args.proxy:
                    rows.append({**proxy_row(ds, args.labels, seed, args.params, args.label_draws),
                                 "changes": list(changes)})
                    continue
                members = list(ds.table.models)
                report = run_recorded(ds, embed, routers=ROUTERS, embedder_name=args.embedder,
                                      router_params={"truth_cluster": args.params}, keys_from=keys_from)
                r = {k: report["routers"][k] for k in ROUTERS}
                majority = report["routers"]["majority_all"]["top1"]
                tc = r["truth_cluster"]
                choices = report["router_summaries"]["truth_cluster"]
                ident = choices["identifiability"]
                row = {"seed": seed, "pool": members, "changes": list(changes),
                       "routers": {k: {"top1": round(v["top1"], 4), "top3_vote": round(v["top3_vote"], 4)}
                                   for k, v in r.items()},
                       "majority_all": round(majority, 4), "level": choices["level"],
                       "identifiability": {k: v for k, v in ident.items() if k != "sentence"},
                       "few_labels": with_few_labels(ds, report, args.labels, seed, vectors[0], args.params,
                                                     keys_of(ds)),
                       "margins": {"top1_vs_best_single": round(tc["top1"] - r["best_single"]["top1"], 4),
                                   "top1_vs_cascal": round(tc["top1"] - r["cascal"]["top1"], 4),
                                   "top3_vote_vs_cascal": round(tc["top3_vote"] - r["cascal"]["top3_vote"], 4),
                                   "top1_vs_majority_all": round(tc["top1"] - majority, 4),
                                   "top3_vote_vs_majority_all": round(tc["top3_vote"] - majority, 4)}}
                rows.append(row)
                print(f"seed {seed} pool {i:2d} ({len(members):2d} models) truth_cluster {tc['top1']:.4f} best_single "
                      f"{r['best_single']['top1']:.4f} margin {row['margins']['top1_vs_best_single']:+.4f} "
                      f"{'FLAGGED' if not ident['identifiable'] else 'settled'} few-labels "
                      f"{row['few_labels']['top1']:.4f} level {row['level']}", flush=True)
    out = {"embedder": None if args.proxy else args.embedder, "proxy": args.proxy, "suite": args.suite, **({"spread": args.spread} if args.suite == "frontier" else {}),
           "seeds": seeds, "keys": args.keys,
           "truth_cluster_params": args.params, "pools": rows, "summary": summary(rows),
           "summary_per_seed": {str(s): summary([r for r in rows if r["seed"] == s]) for s in seeds},
           "wall_s": round(time.perf_counter() - t_start, 1)}
    print(json.dumps(out["summary"], indent=1))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
