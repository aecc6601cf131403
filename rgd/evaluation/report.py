"""Files logged with a registered router: evaluation table, CASCAL centroids / rankings / assignments, plots.

The table and the plots show the labelled test accuracy where the run has a test set, and the label-free
estimate (on held-out generated questions, no keys) as ``estimated`` rows and separately titled plots, so an
estimate is never read as a measured accuracy.

Everything is JSON, CSV, NumPy or PNG. Plots need matplotlib (part of the ``pipeline`` extra); without it
they are skipped with a log line.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from rgd.data.versioned_json import atomic_file, write_text_atomic
from rgd.evaluation.png import save_png

log = logging.getLogger(__name__)


def write_evaluation(evaluation: dict[str, Any], directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    write_text_atomic(directory / "evaluation.json", json.dumps(evaluation, indent=1))
    with atomic_file(directory / "evaluation.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["router", "subject", "top1", "top3_vote", "n", "measure"])
        for name, r in evaluation["routers"].items():
            w.writerow([name, "ALL", r["top1"], r["top3_vote"], evaluation["n_test"], "labelled test set"])
            for subject, s in sorted(r.get("per_subject", {}).items()):
                w.writerow([name, subject, s["top1"], s["top3_vote"], s["n"], "labelled test set"])
        estimate = evaluation.get("estimate")
        if estimate:
            where = "held-out generated questions" if estimate["on"] == "holdout" else "test set, keys hidden"
            for name, r in estimate["routers"].items():
                w.writerow([name, "ALL", r["top1"], r["top3_vote"], estimate["n_questions"],
                            f"estimated (label-free, {where})"])
    return {"evaluation": directory}


def _bars(plt, names, top1, top3, ylabel: str, title: str, path: Path, prefix: str = "") -> None:
    fig, ax = plt.subplots(figsize=(8, 4))
    x = np.arange(len(names))
    ax.bar(x - 0.2, top1, 0.4, label=f"{prefix}top-1")
    ax.bar(x + 0.2, top3, 0.4, label=f"{prefix}top-3 vote")
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    save_png(fig, path)


#: CASCAL's per-cluster state, read for the rankings and the centroid plot (other routers may lack it)
_CLUSTER_STATE = ("cluster_scores_", "subjects_", "cluster_subject_", "cluster_size_", "models_")


def write_router_state(router, train_x: np.ndarray | None, directory: Path) -> dict[str, Path]:
    """CASCAL's centroids, per-cluster model rankings and the training questions' cluster assignments."""
    directory.mkdir(parents=True, exist_ok=True)
    centroids = getattr(router, "centroids_", None)
    if centroids is None:
        return {}
    with atomic_file(directory / "centroids.npy") as fh:
        np.save(fh, np.asarray(centroids, dtype=np.float32))
    if not all(hasattr(router, a) for a in _CLUSTER_STATE):  # centroids without CASCAL's per-cluster state
        return {"router_state": directory}
    scores = np.asarray(router.cluster_scores_)
    subjects = list(router.subjects_)
    rankings = [{"cluster": i, "subject": subjects[int(router.cluster_subject_[i])],
                 "size": int(router.cluster_size_[i]),
                 "ranking": [router.models_[j] for j in np.argsort(-scores[i], kind="stable")]}
                for i in range(len(centroids))]
    write_text_atomic(directory / "cluster_rankings.json", json.dumps(rankings, indent=1))
    if train_x is not None and len(train_x):
        assign = np.argmax(np.asarray(train_x) @ np.asarray(centroids).T, axis=1).astype(np.int32)
        with atomic_file(directory / "cluster_assignments.npy") as fh:
            np.save(fh, assign)
    return {"router_state": directory}


def write_plots(evaluation: dict[str, Any], router, directory: Path) -> dict[str, Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.info("matplotlib is not installed: no plots")
        return {}
    directory.mkdir(parents=True, exist_ok=True)
    if evaluation.get("cost"):  # the cost-accuracy curve (pool with costs, labelled test set)
        from rgd.evaluation.cost_plot import write_cost_plot

        write_cost_plot(evaluation["cost"], directory)
    names = list(evaluation["routers"])
    if names:
        _bars(plt, names, [evaluation["routers"][n]["top1"] for n in names],
              [evaluation["routers"][n]["top3_vote"] for n in names], "test accuracy", "", directory / "accuracy.png")
    estimate = evaluation.get("estimate")
    if estimate:
        est = estimate["routers"]
        where = "held-out generated questions" if estimate["on"] == "holdout" else "the test set, keys hidden"
        _bars(plt, list(est), [r["top1"] for r in est.values()], [r["top3_vote"] for r in est.values()],
              "estimated accuracy (label-free)",
              f"ESTIMATE, no labels: {estimate['n_questions']} {where}", directory / "estimated_accuracy.png",
              prefix="estimated ")

    subjects = sorted({s for n in names for s in evaluation["routers"][n].get("per_subject", {})})
    if subjects:
        grid = np.array([[evaluation["routers"][n]["per_subject"].get(s, {}).get("top1", np.nan) for s in subjects]
                         for n in names])
        fig, ax = plt.subplots(figsize=(1 + 0.8 * len(subjects), 1 + 0.4 * len(names)))
        im = ax.imshow(grid, cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(subjects)), subjects, rotation=45, ha="right")
        ax.set_yticks(range(len(names)), names)
        fig.colorbar(im, ax=ax, label="top-1")
        fig.tight_layout()
        save_png(fig, directory / "per_subject_top1.png")

    centroids = getattr(router, "centroids_", None)
    if centroids is not None and len(centroids) >= 2 and all(hasattr(router, a) for a in _CLUSTER_STATE):
        c = np.asarray(centroids, dtype=np.float64)
        c = c - c.mean(axis=0)
        _, _, vt = np.linalg.svd(c, full_matrices=False)
        xy = c @ vt[:2].T
        fig, ax = plt.subplots(figsize=(6, 5))
        sc = ax.scatter(xy[:, 0], xy[:, 1], c=np.asarray(router.cluster_subject_), cmap="tab20",
                        s=20 + 2 * np.asarray(router.cluster_size_))
        ax.set_title("CASCAL skill centroids (2-D PCA, colour = subject)")
        del sc
        fig.tight_layout()
        save_png(fig, directory / "centroids_2d.png")
    return {"plots": directory}
