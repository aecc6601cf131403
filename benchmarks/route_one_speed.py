"""Ranking one question on the gateway's route path, this code against a baseline's, in the same run.

    python benchmarks/route_one_speed.py --baseline-src DIR [--data ../shared/data/mmlu_pro] [--output FILE]

``DIR`` is a checkout's root holding the code before (``git archive COMMIT rgd | tar -x -C DIR``). Bundles: the
gateway benchmark's TF-IDF CASCAL bundle (``tests.rgd.tracking.synthetic.fit_bundle``; its questions are the
gateway benchmark's, ``gateway_load.questions``) and, with ``--data``, CASCAL and ``truth_cluster`` (the product's
router) on MMLU-Pro's train split with the default TF-IDF embedder, asked the test split's questions. Each bundle
is saved once and loaded by a worker process per code version (``PYTHONPATH=DIR``), workers of the two versions
taking turns (``--rounds``), so both see the same load.

Per worker, CPU time (``time.process_time``) per call over ``--calls`` distinct questions, best of 5 loops:
``route`` is the gateway's ranking work for one question (``LoadedRouter._score_batch([q])``: embed, scores,
coverage, warning, skill cluster), ``rank`` the whole ``await LoadedRouter.rank(q)`` a request makes (the
batcher's hand-off and the ranking at cost weight 0, prompt cache off), ``embed``, ``score`` and ``coverage``
its parts. Identity: every question's scores, correctness scores, ranking, coverage, warning and cluster, from
one-question calls and from batches of 16, must be the same in both versions bit for bit; the report says how
many differ and by how much.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EDGE_TEXTS = ["", "   ", "qqqq zzzz xxyyzz", "Ünïcödé ÇÀFÉ straße 東京 — enzyme ΔG", "the the the cell cell cell"]
FIELDS = ("scores", "correctness", "order", "ood", "similarity", "warned", "cluster")


# ---------------------------------------------------------------------------------------------- the worker
def _results(served, texts: list[str], batch: int) -> dict:
    """Every field of FIELDS for each text, computed in batches of ``batch``."""
    import numpy as np

    rows = []
    for lo in range(0, len(texts), batch):
        rows += served._score_batch(texts[lo: lo + batch])
    out = {"scores": np.array([r[0] for r in rows]), "correctness": np.array([r[1] for r in rows])}
    out["order"] = np.argsort(-out["scores"], axis=1, kind="stable")
    said = [r[2] for r in rows]
    out["ood"] = np.array([bool(s.out_of_distribution) for s in said])
    out["similarity"] = np.array([np.nan if s.similarity is None else s.similarity for s in said])
    out["warned"] = np.array([s.warning is not None for s in said])
    out["cluster"] = np.array([s.cluster for s in said])
    return out


def _best_cpu_us(call, items, loops: int = 5) -> float:
    for item in items[:50]:
        call(item)
    best = float("inf")
    for _ in range(loops):
        start = time.process_time()
        for item in items:
            call(item)
        best = min(best, time.process_time() - start)
    return round(best / len(items) * 1e6, 2)


def worker(bundle_dir: Path, questions_file: Path, calls: int, dump: Path | None) -> dict:
    import asyncio

    import numpy as np

    from rgd.routers.bundle import RouterBundle
    from rgd.serving.reload import LoadedRouter

    bundle = RouterBundle.load(bundle_dir)
    texts = json.loads(questions_file.read_text())
    timed = texts[:calls]
    served = LoadedRouter("1", bundle, prompt_cache_size=0)
    embedded = [bundle.embedder.embed([t]) for t in timed]
    out = {
        "route_us": _best_cpu_us(lambda t: served._score_batch([t]), timed),
        "embed_us": _best_cpu_us(lambda t: bundle.embedder.embed([t]), timed),
        "score_us": _best_cpu_us(bundle.score, embedded),
        "coverage_us": _best_cpu_us(bundle.out_of_distribution, embedded),
    }

    async def ranked() -> float:
        for t in timed[:50]:
            await served.rank(t)
        best = float("inf")
        for _ in range(5):
            start = time.process_time()
            for t in timed:
                await served.rank(t)
            best = min(best, time.process_time() - start)
        return round(best / len(timed) * 1e6, 2)

    out["rank_us"] = asyncio.run(ranked())
    if dump is not None:
        arrays = {}
        for batch in (1, 16):
            for name, value in _results(served, texts, batch).items():
                arrays[f"{name}_{batch}"] = value
        np.savez(dump, **arrays)
    served.close()
    return out


# ---------------------------------------------------------------------------------------------- the driver
def gateway_bundle(into: Path) -> tuple[Path, list[str]]:
    from benchmarks.gateway_load import questions
    from tests.rgd.tracking.synthetic import fit_bundle

    return fit_bundle("cascal", embedder_kind="tfidf").save(into), questions(2000, seed=13) + EDGE_TEXTS


def mmlu_pro_bundles(data: Path, into: Path) -> dict[str, tuple[Path, list[str]]]:
    from rgd.consensus import ConsensusScorer
    from rgd.data.recorded import load_recorded
    from rgd.embedding import make_embedder
    from rgd.routers.base import TrainingSet
    from rgd.routers.bundle import RouterBundle
    from rgd.routers.coverage import Coverage
    from rgd.workflow.train import fit_routers

    recorded = load_recorded(data)
    train_q, table = recorded.part("train")
    test_q, _ = recorded.part("test")
    texts = [q.text for q in train_q]
    embedder = make_embedder("tfidf").fit(texts)
    x = embedder.embed(texts)
    consensus = ConsensusScorer().fit_score(table)
    fitted, _ = fit_routers(("cascal", "truth_cluster"), {}, TrainingSet(table, x, consensus), seed=0)
    coverage = Coverage.fit(x, seed=0)
    asked = [q.text for q in test_q] + EDGE_TEXTS
    return {f"mmlu_pro-{name}": (RouterBundle(router, embedder, {"router": name}, coverage=coverage)
                                 .save(into / f"mmlu_pro-{name}"), asked) for name, router in fitted.items()}


def compare(a: Path, b: Path) -> dict:
    import numpy as np

    with np.load(a) as x, np.load(b) as y:
        out = {}
        for key in x.files:
            same = x[key] == y[key]
            if x[key].dtype.kind == "f":
                same |= np.isnan(x[key]) & np.isnan(y[key])
            rows = same.reshape(len(same), -1).all(axis=1)
            diff = float(np.nanmax(np.abs(x[key].astype(float) - y[key].astype(float)))) if len(x[key]) else 0.0
            out[key] = {"rows": int(len(rows)), "rows_differing": int((~rows).sum()), "max_abs_diff": diff}
        return out


def run_worker(src: Path, bundle: Path, questions: Path, calls: int, dump: Path | None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    args = [sys.executable, str(Path(__file__).resolve()), "--worker", str(bundle), "--questions", str(questions),
            "--calls", str(calls)] + (["--dump", str(dump)] if dump else [])
    done = subprocess.run(args, env=env, cwd=src, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"worker on {src} failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline-src", type=Path, required=False)
    ap.add_argument("--data", type=Path, default=None, help="a recorded MMLU-Pro directory (optional)")
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--output", type=Path, default=None)
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--questions", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.questions, args.calls, args.dump)))
        return
    sys.path.insert(0, str(REPO))
    if args.baseline_src is None:
        ap.error("--baseline-src DIR is required (the code to compare with)")
    t0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="rgd-route-one-"))
    bundles = {"gateway-cascal": gateway_bundle(tmp / "gateway-cascal")}
    if args.data is not None:
        bundles.update(mmlu_pro_bundles(args.data, tmp))
    sources = {"after": REPO, "before": args.baseline_src.resolve()}
    report: dict = {"command": " ".join(sys.argv), "load_1m_before": os.getloadavg()[0], "bundles": {}}
    for name, (bundle, texts) in bundles.items():
        qfile = tmp / f"{name}.json"
        qfile.write_text(json.dumps(texts))
        runs: dict[str, list[dict]] = {"before": [], "after": []}
        for r in range(args.rounds):
            for label in (("before", "after") if r % 2 == 0 else ("after", "before")):
                dump = tmp / f"{name}-{label}.npz" if r == 0 else None
                runs[label].append(run_worker(sources[label], bundle, qfile, args.calls, dump))
        best = {label: {k: min(run[k] for run in rows) for k in rows[0]} for label, rows in runs.items()}
        report["bundles"][name] = {
            "questions": len(texts), "best_cpu_us": best,
            "after_over_before": {k: round(best["after"][k] / best["before"][k], 3) for k in best["after"]},
            "identity": compare(tmp / f"{name}-before.npz", tmp / f"{name}-after.npz"),
        }
        print(name, json.dumps(report["bundles"][name]["best_cpu_us"]),
              json.dumps(report["bundles"][name]["after_over_before"]), flush=True)
    report["load_1m_after"] = os.getloadavg()[0]
    report["seconds"] = round(time.perf_counter() - t0, 1)
    text = json.dumps(report, indent=2)
    if args.output:
        args.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
