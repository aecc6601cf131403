"""The cost-accuracy plot of a :func:`rgd.workflow.costs.cost_evaluation` report (PNG; needs matplotlib).

One line per router (its operating points over the cost weight, with its non-decreasing convex hull
dashed), one labelled dot per single model. Without matplotlib nothing is drawn (a log line says so).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

from rgd.evaluation.png import save_png

log = logging.getLogger(__name__)

COST_PLOT = "cost_accuracy.png"


def write_cost_plot(report: Mapping[str, Any], directory: Path) -> dict[str, Path]:
    """Draw ``report["cost_curves"]`` and the single models into ``directory/cost_accuracy.png``."""
    curves = report.get("cost_curves") or {}
    if not curves:
        return {}
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.info("matplotlib is not installed: no cost plot")
        return {}
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    main = report.get("cost_curve", {}).get("router")
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, curve in curves.items():
        pts = sorted(curve["points"], key=lambda p: p["mean_cost"])
        line, = ax.plot([p["mean_cost"] for p in pts], [p["top1"] for p in pts], marker=".", markersize=3,
                        linewidth=2 if name == main else 1, label=f"{name} (AIQ {curve['aiq']:.3f})")
        hull = curve["hull"]
        ax.plot([h["mean_cost"] for h in hull], [h["top1"] for h in hull], linestyle="--", linewidth=0.8,
                color=line.get_color())
    singles = next(iter(curves.values()))["singles"]
    ax.scatter([s["mean_cost"] for s in singles], [s["top1"] for s in singles], color="black", zorder=3,
               label="single models")
    for s in singles:
        ax.annotate(s["model"], (s["mean_cost"], s["top1"]), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("mean cost per query")
    ax.set_ylabel("test top-1 accuracy")
    ax.set_title("cost-accuracy over the cost weight (dashed: non-decreasing convex hull)")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return {"cost_plot": save_png(fig, directory / COST_PLOT)}
