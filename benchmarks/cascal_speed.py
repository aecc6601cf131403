"""Router training and routing speed on 2 CPU cores, and peak memory at 100,000 questions.

    python benchmarks/cascal_speed.py [--router truth_cluster|cascal] [--data ../shared/data/mmlu_pro] [--large 100000]
        [--reference DIR] [--profile N] [--output FILE]

The fit time includes everything the router does from the pool's answers (truth_cluster: its truth estimate
and its label-free choice of routing level; cascal: given the consensus).

1. MMLU-Pro split (8,423 train x 12 models, 3,609 test queries) with MiniLM embeddings read from the
   embedding cache (computed on first use): CASCAL fit and route time, best of ``--repeat`` runs.
2. ``--large N`` questions x 12 models: embeddings are real MMLU-Pro embeddings plus Gaussian jitter
   (renormalised), answers resampled from the real pool's columns; fit time and the process's peak RSS
   growth during the fit (measured in a child process so the MMLU-Pro part does not count).
3. ``--reference DIR`` (the ``code/`` folder of a checkout of the authors' CASCAL,
   github.com/tianyiniu/RoutingGenData; not part of this repository): their ``train_router`` and
   ``infer_router`` on the same split, embeddings and consensus scores, in their file formats (written to a
   temporary folder first), interleaved with ours run for run: training and routing ratios from one run.
   Everything runs on one BLAS/OpenMP thread (theirs and ours alike).
4. ``--profile N`` (with ``--reference``): one more fit of ours under cProfile (CPU clock), its N functions of
   largest cumulative time in the report (``profile``: seconds and share of the fit).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rgd.consensus import ConsensusScorer  # noqa: E402
from rgd.data.recorded import load_recorded  # noqa: E402
from rgd.data.response_table import ResponseTable  # noqa: E402
from rgd.routers.base import TrainingSet  # noqa: E402
from rgd.routers.registry import make_router  # noqa: E402
from rgd.workflow.recorded import embed_with  # noqa: E402


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _split_inputs(data_dir: Path, cache: Path):
    """The MMLU-Pro split both timings train on: tables, MiniLM embeddings, consensus, the keys hidden."""
    data = load_recorded(data_dir)
    train_q, train = data.part("train")
    test_q, test = data.part("test")
    train_x, test_x = embed_with("minilm", cache)([q.text for q in train_q], [q.text for q in test_q])
    consensus = ConsensusScorer().fit_score(train)
    blind = train.with_answers(np.full(train.n_questions, -1))
    return train, test, train_x, test_x, consensus, blind


def mmlu_pro(data_dir: Path, repeat: int, cache: Path, name: str):
    train, test, train_x, test_x, consensus, blind = _split_inputs(data_dir, cache)
    fit_s, route_s = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        router = make_router(name).fit(TrainingSet(blind, train_x, consensus))
        fit_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        router.rank(test_x)
        route_s.append(time.perf_counter() - t0)
    return {
        "n_train": train.n_questions,
        "n_test": test.n_questions,
        "n_models": train.n_models,
        "fit_s_best": min(fit_s),
        "fit_s_all": fit_s,
        "route_s_best": min(route_s),
        "route_s_all": route_s,
        "n_clusters": int(len(router.centroids_)),
        "router": name,
    }, train, train_x


def _reference_inputs(folder: Path, train, train_x, test, test_x, scores) -> tuple[list, dict, list, dict]:
    """The same split in the authors' formats: question dicts, ``{qid: embedding}``, and one responses file
    per model with the selected letter and its consensus score."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    train_data = [{"question_id": i, "category": str(s)} for i, s in enumerate(train.subjects)]
    test_data = [{"question_id": train.n_questions + i, "category": str(s)} for i, s in enumerate(test.subjects)]
    emb = {i: train_x[i].astype(np.float64) for i in range(train.n_questions)}
    test_emb = {train.n_questions + i: test_x[i].astype(np.float64) for i in range(test.n_questions)}
    responses = folder / "responses"
    responses.mkdir()
    for m, model in enumerate(train.models):
        rows = [{"question_id": q, "selected_choice": letters[c] if c >= 0 else "N/A",
                 "consensus_score": float(scores[m, q])} for q, c in enumerate(train.choices[m].tolist())]
        (responses / f"{model}.json").write_text(json.dumps(rows))
    return train_data, emb, test_data, test_emb


def _timed(times: dict[str, list[float]], what: str, call):
    """``call()``, its wall-clock and CPU seconds appended to ``times[what + "_s"]`` / ``[what + "_cpu_s"]`` (the
    CPU time of this one-thread process is what a busy shared machine disturbs least)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = call()
    times.setdefault(f"{what}_s", []).append(time.perf_counter() - t0)
    times.setdefault(f"{what}_cpu_s", []).append(time.process_time() - c0)
    return out


def _profile(fit, top: int) -> list[dict]:
    """``fit()`` under cProfile with the process CPU clock: its ``top`` functions by cumulative time."""
    import cProfile
    import pstats

    prof = cProfile.Profile(time.process_time)
    prof.runcall(fit)
    stats = pstats.Stats(prof).stats
    total = max(ct for (_, _, _, ct, _) in stats.values())
    rows = sorted(((ct, tt, nc, f"{Path(file).name}:{line}({fn})") for (file, line, fn), (_, nc, tt, ct, _)
                   in stats.items()), reverse=True)[:top]
    return [{"function": f, "calls": nc, "cum_s": round(ct, 4), "own_s": round(tt, 4), "share": round(ct / total, 3)}
            for ct, tt, nc, f in rows]


def side_by_side(ref_dir: Path, data_dir: Path, cache: Path, name: str, repeat: int, profile: int = 0) -> dict:
    """Ours and the authors' CASCAL trained and routing alternately on the MMLU-Pro split, one thread each."""
    sys.path[:0] = [str(ref_dir), str(ref_dir / "CASCAL")]
    from infer import infer_router  # the authors' code (``--reference``)
    from train import train_router

    train, test, train_x, test_x, consensus, blind = _split_inputs(data_dir, cache)
    ours: dict[str, list[float]] = {}
    theirs: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(limits=1):
        folder = Path(tmp)
        train_data, emb, test_data, test_emb = _reference_inputs(folder, train, train_x, test, test_x,
                                                                 consensus.scores)
        models = list(train.models)
        for _ in range(repeat):
            router = _timed(ours, "fit", lambda: make_router(name).fit(TrainingSet(blind, train_x, consensus)))
            _timed(ours, "route", lambda r=router: r.rank(test_x))
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                _timed(theirs, "fit", lambda: train_router(train_data, models, emb, str(folder / "responses"),
                                                           str(folder / "artifacts")))
                _timed(theirs, "route", lambda: infer_router(test_data, test_emb, models, str(folder / "artifacts"),
                                                             str(folder / "selections.json")))
        prof = _profile(lambda: make_router(name).fit(TrainingSet(blind, train_x, consensus)), profile) if profile else []
    best = {k: {m: min(v) for m, v in d.items()} for k, d in (("ours", ours), ("theirs", theirs))}
    return {"router": name, "n_train": train.n_questions, "n_test": test.n_questions, "n_models": train.n_models,
            "repeat": repeat, "ours": ours, "theirs": theirs, "best": best, "profile": prof,
            **{f"{what}_ratio": best["theirs"][what] / best["ours"][what] for what in best["ours"]}}


def _large_child(n: int, table: ResponseTable, x: np.ndarray, out, name: str) -> None:
    import tracemalloc

    rng = np.random.default_rng(0)
    pick = rng.integers(0, table.n_questions, n)
    emb = x[pick] + rng.normal(0, 0.02, (n, x.shape[1])).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    big = ResponseTable(
        models=table.models,
        question_ids=tuple(f"q{i}" for i in range(n)),
        subjects=table.subjects[pick],
        n_options=table.n_options[pick],
        choices=table.choices[:, pick],
        confidence=table.confidence[:, pick],
        answers=np.full(n, -1, np.int8),
    )
    del x, pick
    tracemalloc.start()
    t0 = time.perf_counter()
    consensus = ConsensusScorer().fit_score(big)
    router = make_router(name).fit(TrainingSet(big, emb, consensus))
    fit = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out.put({"n": n, "fit_s": fit, "fit_peak_allocated_mb": peak / 2**20,
             "process_peak_rss_mb": _peak_rss_mb(), "n_clusters": int(len(router.centroids_))})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "mmlu_pro")
    ap.add_argument("--cache", type=Path, default=REPO / ".rgd" / "cache" / "embeddings")
    ap.add_argument("--router", default="truth_cluster")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--large", type=int, default=100_000)
    ap.add_argument("--reference", type=Path, help="the authors' code/ folder: time theirs beside ours")
    ap.add_argument("--profile", type=int, default=0, help="with --reference: profile one fit, report N functions")
    ap.add_argument("--output", type=Path)
    args = ap.parse_args()

    if args.reference:
        report = side_by_side(args.reference, args.data, args.cache, args.router, args.repeat, args.profile)
        report["load_average"] = [round(v, 2) for v in os.getloadavg()]
        b = report["best"]
        print(f"{args.router} vs the authors' CASCAL (best of {args.repeat}, one thread each; wall / CPU):")
        for what, label in (("fit", "training"), ("route", f"routing {report['n_test']} queries")):
            o, t = b["ours"], b["theirs"]
            print(f"  {label}: {o[what + '_s']:.3f} / {o[what + '_cpu_s']:.3f} s vs {t[what + '_s']:.3f} / "
                  f"{t[what + '_cpu_s']:.3f} s = {report[what + '_s_ratio']:.2f}x / {report[what + '_cpu_s_ratio']:.2f}x")
        for row in report["profile"]:
            print(f"  {row['share']:6.1%} {row['cum_s']:7.3f} s  {row['function']}")
        if args.output:
            args.output.write_text(json.dumps(report, indent=1))
        return

    small, train, train_x = mmlu_pro(args.data, args.repeat, args.cache, args.router)
    print(f"MMLU-Pro: fit {small['fit_s_best']:.3f} s (best of {args.repeat}), route {small['n_test']} "
          f"queries {small['route_s_best'] * 1000:.1f} ms, {small['n_clusters']} clusters")
    report = {"mmlu_pro": small}
    if args.large:
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        p = ctx.Process(target=_large_child, args=(args.large, train, train_x, q, args.router))
        p.start()
        large = q.get()
        p.join()
        report["large"] = large
        print(f"{large['n']} questions: fit {large['fit_s']:.2f} s, peak allocated during the fit "
              f"{large['fit_peak_allocated_mb']:.0f} MB, process peak RSS {large['process_peak_rss_mb']:.0f} MB")
    if args.output:
        args.output.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
