"""Plots written as PNG files whole or not at all (shared by the evaluation report and the cost plot)."""

from __future__ import annotations

from pathlib import Path

from rgd.data.versioned_json import atomic_file


def save_png(fig, path: Path) -> Path:
    """Write a matplotlib figure as PNG through :func:`atomic_file` (a crash or a full disk leaves what was at
    ``path``, never half a plot) and close it."""
    import matplotlib.pyplot as plt  # the pipeline extra; callers have imported it already

    try:
        with atomic_file(path, "wb") as fh:
            fig.savefig(fh, format="png", dpi=100)
    finally:
        plt.close(fig)
    return Path(path)
