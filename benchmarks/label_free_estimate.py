"""How far to trust the label-free accuracy estimate: estimated vs true test accuracy over many routers.

    python benchmarks/label_free_estimate.py --output FILE [--data ../shared/data/mmlu_pro] [--embedder minilm]
        [--cache-dir DIR] [--warm-cache NPY] [--seeds 0,1] [--sim-seed 0] [--n-per-subject 150] [--n-test 1200]
        [--skip-mmlu] [--skip-sim]

Two data sets, each with one fixed test set answered by one fixed pool (so every variant is estimated on the
same questions, as the promotion gate requires):

* recorded MMLU-Pro: ``run_recorded`` (what ``rgd evaluate-recorded`` runs) for every training-key source
  (the split's true keys, as a reference, and each generator of ``<data>/generators/``) and seed, each fitting
  cascal, cascal_gt, knn, mlp, best_single and random; plus CASCAL settings. Its ``estimate`` (the
  consensus fitted on the train split's answers, no keys) is compared with the true test accuracy.
  Generator files with letters beyond a question's options are copied with those keys nulled (counted in
  the output), since ``keys_from`` refuses them.
* the simulated world: each generator preset, raw and filtered, trains cascal, knn, mlp, best_single and
  random with the pipeline's stages; the estimate on the world's test set (estimator fitted on the test set's
  own answers, keys hidden) is compared with the accuracy against the world's true keys.

Per data set: Spearman and Pearson between estimated and true top-1 (and top-3 vote), mean absolute error,
and the agreement of a gate on the estimate (promote a over b when est[a] > est[b]) with a gate on true
accuracy, over all ordered pairs of variants, and over the pairs whose true top-1 differ by >= 1 point.

Embeddings go through the library's cache (``--cache-dir``, default ``$RGD_HOME/cache/embeddings``), so
MiniLM is computed once. ``--warm-cache NPY`` fills that cache from a precomputed (questions.jsonl.gz order)
matrix of the same embedder, after checking a few rows against the embedder itself.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from itertools import permutations
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from rgd import workflow as stages  # noqa: E402
from rgd.data.recorded import load_recorded  # noqa: E402
from rgd.embedding import CachedEmbedder, make_embedder  # noqa: E402
from rgd.embedding.base import Embedder  # noqa: E402
from rgd.evaluation.metrics import evaluate_routers  # noqa: E402
from rgd.simulated.pool import SimulatedPool  # noqa: E402
from rgd.workflow.estimate import label_free_estimate  # noqa: E402
from rgd.workflow.recorded import embed_with, run_recorded  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "mmlu_pro"
MMLU_ROUTERS = ("cascal", "cascal_gt", "knn", "mlp", "best_single", "random")
CASCAL_SETTINGS = ({"n_nearest": 1}, {"min_points": 40}, {"rank_min_agreement": 0.5, "fallback": "subject"})
SIM_ROUTERS = ("cascal", "knn", "mlp", "best_single", "random")
SIM_PRESETS = ("strong", "medium", "weak", "very_weak")


# ---------------------------------------------------------------------- statistics
def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="stable")
    r = np.empty(len(x))
    r[order] = np.arange(len(x))
    for v in np.unique(x):  # average ranks of ties
        tie = x == v
        r[tie] = r[tie].mean()
    return r


def spearman(a, b) -> float:
    return float(np.corrcoef(_ranks(np.asarray(a, float)), _ranks(np.asarray(b, float)))[0, 1])


def gate_agreement(est: np.ndarray, true: np.ndarray, min_gap: float = 0.0) -> tuple[float, int]:
    """Share of ordered pairs (a, b) where 'promote a over b' is decided the same on the estimate and on the
    truth (a strict improvement, margin 0), over the pairs whose true values differ by >= ``min_gap``."""
    same, n = 0, 0
    for a, b in permutations(range(len(est)), 2):
        if abs(true[a] - true[b]) < min_gap:
            continue
        n += 1
        same += (est[a] > est[b]) == (true[a] > true[b])
    return (same / n if n else float("nan")), n


def summary(variants: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"n_variants": len(variants)}
    for metric in ("top1", "top3_vote"):
        est = np.array([v["estimated"][metric] for v in variants])
        true = np.array([v["true"][metric] for v in variants])
        all_pairs, n_all = gate_agreement(est, true)
        gap_pairs, n_gap = gate_agreement(est, true, 0.01)
        out[metric] = {
            "spearman": round(spearman(est, true), 4),
            "pearson": round(float(np.corrcoef(est, true)[0, 1]), 4),
            "mae": round(float(np.abs(est - true).mean()), 4),
            "mean_bias": round(float((est - true).mean()), 4),
            "gate_agreement_all_pairs": round(all_pairs, 4), "n_pairs": n_all,
            "gate_agreement_pairs_1pt_apart": round(gap_pairs, 4), "n_pairs_1pt_apart": n_gap,
            "true_range": [round(float(true.min()), 4), round(float(true.max()), 4)],
        }
        if all(f"{metric}_low" in v["estimated"] for v in variants):  # the interval (issue 28, 8)
            low = np.array([v["estimated"][f"{metric}_low"] for v in variants])
            high = np.array([v["estimated"][f"{metric}_high"] for v in variants])
            covers = (low <= true) & (true <= high)
            uncertain = np.array([bool(v["estimated"].get("uncertain")) for v in variants])
            out[metric].update(interval_covers=round(float(covers.mean()), 4),
                               covered_or_uncertain=round(float((covers | uncertain).mean()), 4),
                               uncertain_share=round(float(uncertain.mean()), 4),
                               mean_width=round(float((high - low).mean()), 4))
    return out


# ---------------------------------------------------------------------- embeddings
class _Precomputed(Embedder):
    """Vectors looked up by text from a precomputed matrix, under the identity of the embedder that made
    them (only to fill the library's cache; never saved)."""

    kind = "precomputed"

    def __init__(self, like: Embedder, texts: list[str], vectors: np.ndarray) -> None:
        self.like, self.row, self.vectors = like, {t: i for i, t in enumerate(texts)}, vectors

    def _embed(self, texts: list[str]) -> np.ndarray:
        return self.vectors[[self.row[t] for t in texts]]

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def params(self) -> dict[str, Any]:
        return {}

    @property
    def identity(self) -> str:
        return self.like.identity


def warm_cache(kind: str, cache_dir: Path, texts: list[str], npy: Path, n_check: int = 8) -> dict[str, Any]:
    vectors = np.load(npy).astype(np.float32)
    if len(vectors) != len(texts):
        raise SystemExit(f"{npy} has {len(vectors)} rows for {len(texts)} questions")
    real = make_embedder(kind).fit(texts)
    idx = np.linspace(0, len(texts) - 1, n_check).astype(int)
    check = real.embed([texts[i] for i in idx])
    cos = (check * vectors[idx]).sum(1) / (np.linalg.norm(check, axis=1) * np.linalg.norm(vectors[idx], axis=1))
    if cos.min() < 0.999:
        raise SystemExit(f"{npy} does not hold {kind} embeddings of these texts (cosine {cos.min():.4f})")
    CachedEmbedder(_Precomputed(real, texts, vectors), cache_dir).embed(texts)
    return {"from": str(npy), "checked_rows": n_check, "min_cosine": round(float(cos.min()), 6)}


# ---------------------------------------------------------------------- MMLU-Pro
def sanitized_keys(path: Path, n_options: dict[str, int], out_dir: Path) -> tuple[Path, int]:
    """A copy of a generator's keys file with letters beyond the question's options set to null, and a null
    row for every question the file has no row for."""
    nulled, lines, seen = 0, [], set()
    with gzip.open(path, "rt") as fh:
        for line in fh:
            obj = json.loads(line)
            seen.add(str(obj["question_id"]))
            pred = obj.get("pred")
            if isinstance(pred, str) and len(pred) == 1 and ord(pred.upper()) - 65 >= n_options.get(
                    str(obj["question_id"]), 99):
                obj["pred"], nulled = None, nulled + 1
            lines.append(json.dumps(obj))
    for qid in n_options.keys() - seen:
        lines.append(json.dumps({"question_id": int(qid) if qid.isdigit() else qid, "pred": None}))
        nulled += 1
    target = out_dir / path.name
    with gzip.open(target, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    return target, nulled


def mmlu_variants(data_dir: Path, embed, seeds: list[int], tmp: Path) -> tuple[list[dict], dict[str, Any]]:
    data = load_recorded(data_dir)
    n_opt = {q: int(n) for q, n in zip(data.table.question_ids, data.table.n_options)}
    sources: list[tuple[str, Path | None]] = [("true_keys", None)]
    info: dict[str, Any] = {"nulled_keys": {}}
    for path in sorted((data_dir / "generators").glob("*.jsonl*")):
        clean, nulled = sanitized_keys(path, n_opt, tmp)
        info["nulled_keys"][path.name] = nulled
        sources.append((path.name.split(".jsonl")[0], clean))
    variants, t0 = [], time.perf_counter()
    calls: list[tuple[str, Path | None, int, tuple[str, ...], dict]] = [
        (name, keys, seed, MMLU_ROUTERS, {}) for name, keys in sources for seed in seeds]
    calls += [("true_keys", None, seeds[0], ("cascal",), s) for s in CASCAL_SETTINGS]
    for name, keys, seed, routers, cascal_params in calls:
        rep = run_recorded(data, embed, seed=seed, routers=routers, keys_from=keys,
                           router_params={"cascal": cascal_params})
        for router in routers:
            tag = ",".join(f"{k}={v}" for k, v in cascal_params.items())
            variants.append({"variant": f"{router}{'[' + tag + ']' if tag else ''}/keys={name}/seed={seed}",
                             "true": {k: rep["routers"][router][k] for k in ("top1", "top3_vote")},
                             "estimated": rep["estimate"]["routers"][router]})
        print(f"  mmlu keys={name} seed={seed} {cascal_params or ''}: {time.perf_counter() - t0:.0f}s", flush=True)
    info.update(n_test=rep["n_test"], models=rep["models"], seconds=round(time.perf_counter() - t0, 1))
    return variants, info


# ---------------------------------------------------------------------- simulated world
def sim_variants(seed: int, n_per_subject: int, n_test: int, embedder: str, cache_dir: Path
                 ) -> tuple[list[dict], dict[str, Any]]:
    from benchmarks.generator_quality import run_config, test_set_of

    t0 = time.perf_counter()
    test, test_table = test_set_of(seed, n_test, embedder)
    variants = []
    for preset in SIM_PRESETS:
        config = run_config(preset, seed, n_per_subject, n_test, embedder)
        config = config.model_copy(update={"router": config.router.model_copy(
            update={"name": SIM_ROUTERS[0], "baselines": list(SIM_ROUTERS[1:])})})
        generated, self_answers = stages.generate_stage(config, progress=False)
        world = stages.SimulatedSource(config).world(generated, test)
        table = SimulatedPool(world, config.simulated.pool).answer_table(list(generated.questions))
        kept, kept_table, _ = stages.filter_stage(config.filter, generated, table, self_answers,
                                                  consensus_temperature=config.consensus.temperature)
        for filtered, (qs, tab) in (("raw", (generated, table)), ("filtered", (kept, kept_table))):
            consensus = stages.consensus_stage(config.consensus, tab, config.seed)
            _, train_x, test_x = stages.embed_stage(config.embedder, qs, test, cache_dir=cache_dir)
            routers = stages.train_stage(config.router, stages.TrainingData.build(tab, train_x, consensus,
                                                                                  generated=True), config.seed)
            true = evaluate_routers(routers.routers, test_table, test_x.vectors, consensus.scorer)
            # one estimator for every variant: fitted on the test set's own answers (no keys)
            scorer, _ = stages.build_consensus(test_table, seed=seed)
            est = label_free_estimate(routers.routers, test_table, test_table, test_x.vectors,
                                      z=scorer.zscores(test_table), seed=seed)
            for router in SIM_ROUTERS:
                variants.append({"variant": f"{router}/{preset}/{filtered}",
                                 "true": {k: getattr(true[router], k) for k in ("top1", "top3_vote")},
                                 "estimated": est[router].to_dict()})
        print(f"  sim {preset}: {time.perf_counter() - t0:.0f}s", flush=True)
    return variants, {"seed": seed, "n_per_subject": n_per_subject, "n_test": n_test,
                      "seconds": round(time.perf_counter() - t0, 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--output", required=True, type=Path)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--embedder", default="minilm", choices=("tfidf", "minilm"))
    p.add_argument("--cache-dir", type=Path, default=None, help="embedding cache (default $RGD_HOME's)")
    p.add_argument("--warm-cache", type=Path, default=None, help="precomputed embeddings to fill the cache with")
    p.add_argument("--seeds", default="0,1", help="MMLU-Pro router seeds")
    p.add_argument("--sim-seed", type=int, default=0)
    p.add_argument("--sim-embedder", default="tfidf", choices=("tfidf", "minilm"))
    p.add_argument("--n-per-subject", type=int, default=150)
    p.add_argument("--n-test", type=int, default=1200)
    p.add_argument("--skip-mmlu", action="store_true")
    p.add_argument("--skip-sim", action="store_true")
    args = p.parse_args(argv)
    from rgd.home import embedding_cache_dir

    cache = args.cache_dir or embedding_cache_dir()
    result: dict[str, Any] = {"config": {k: str(v) for k, v in vars(args).items()}}
    with tempfile.TemporaryDirectory(prefix="rgd-lfe-") as tmp:
        if not args.skip_mmlu:
            if args.warm_cache:
                texts = [q.text for q in load_recorded(args.data).questions]
                result["warm_cache"] = warm_cache(args.embedder, cache, texts, args.warm_cache)
            variants, info = mmlu_variants(args.data, embed_with(args.embedder, cache),
                                           [int(s) for s in args.seeds.split(",")], Path(tmp))
            result["mmlu_pro"] = {**info, "summary": summary(variants), "variants": variants}
        if not args.skip_sim:
            variants, info = sim_variants(args.sim_seed, args.n_per_subject, args.n_test, args.sim_embedder,
                                          Path(tmp) / "sim-cache")
            result["simulated"] = {**info, "summary": summary(variants), "variants": variants}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1))
    for name in ("mmlu_pro", "simulated"):
        if name in result:
            print(name, json.dumps(result[name]["summary"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
