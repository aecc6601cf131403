"""Plots are written whole or not at all: a failed write leaves what was there and no temporary file."""

from __future__ import annotations

import pytest

from rgd.errors import WriteError
from rgd.evaluation.png import save_png

plt = pytest.importorskip("matplotlib.pyplot", reason="plots need the pipeline extra (matplotlib)")


def _figure():
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    return fig


def test_a_plot_is_a_png_and_its_figure_is_closed(tmp_path):
    fig = _figure()
    path = save_png(fig, tmp_path / "p.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]


def test_a_plot_that_cannot_be_written_leaves_what_was_there(tmp_path):
    target = tmp_path / "p.png"
    target.mkdir()  # a directory in the plot's place: the final move fails
    (target / "kept").write_text("x")
    fig = _figure()
    with pytest.raises(WriteError, match="p.png"):
        save_png(fig, target)
    assert (target / "kept").read_text() == "x" and not plt.fignum_exists(fig.number)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.png"]  # no temporary file left beside it
