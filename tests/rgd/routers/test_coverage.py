"""Out of distribution (issue 25, 3): a question far from every training question is flagged by the bundle, for
every router it can hold, in ``rgd route`` (a note line, fields in ``--json``) and, through
:meth:`RouterBundle.route`, in the pyfunc model; a bundle written before coverage never flags one."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from rgd.errors import ArtifactError
from rgd.routers.bundle import MANIFEST_FILE, RouterBundle, content_hash
from rgd.routers.coverage import QUANTILE, Coverage
from tests.rgd.tracking.synthetic import fit_bundle, synthetic_pool

KNOWN = "which enzyme binds the cell membrane protein?"
UNRELATED = "zebra xylophone saxophone"  # no term the TF-IDF embedder knows: an embedding of zeros


@pytest.fixture(scope="module")
def cascal() -> RouterBundle:
    return fit_bundle("cascal")


def test_training_like_questions_are_not_flagged_and_far_ones_are(cascal):
    texts, _ = synthetic_pool()
    x = cascal.embedder.embed(texts)
    train = cascal.out_of_distribution(x)
    assert train.out_of_distribution.mean() <= 2 * QUANTILE  # the threshold is a low held-out quantile
    fresh, _ = synthetic_pool(seed=3)  # new questions of the same subjects
    assert cascal.out_of_distribution(cascal.embedder.embed(fresh)).out_of_distribution.mean() <= 2 * QUANTILE
    far = np.vstack([-x.mean(axis=0), np.zeros(x.shape[1])])  # opposite the training questions; no term at all
    flagged = cascal.out_of_distribution(far)
    assert flagged.out_of_distribution.all() and (flagged.similarity < cascal.coverage.threshold).all()
    known, unrelated = cascal.route([KNOWN, UNRELATED])
    assert known["out_of_distribution"] is False and known["note"] is None
    assert known["training_similarity"] > cascal.coverage.threshold
    assert unrelated["out_of_distribution"] is True and unrelated["training_similarity"] == 0.0
    assert unrelated["note"].startswith("out of distribution: the question is far from every training question")


@pytest.mark.parametrize("name", ["truth_cluster", "best_single"])
def test_the_rule_is_the_same_for_routers_with_and_without_centroids(name):
    bundle = fit_bundle(name)
    assert [r["out_of_distribution"] for r in bundle.route([KNOWN, UNRELATED])] == [False, True]


def test_coverage_is_fitted_from_the_embeddings_alone_and_vectorised():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 32))
    x = np.repeat(centres, 100, axis=0) + rng.normal(scale=0.3, size=(400, 32))
    coverage = Coverage.fit(x)
    assert coverage.n_train == 400 and coverage.reference.shape == (400, 32) and coverage.quantile == QUANTILE
    assert coverage.of(x).out_of_distribution.mean() <= 2 * QUANTILE
    random = rng.normal(size=(200, 32))  # nowhere near the four clusters
    assert coverage.of(random).out_of_distribution.mean() > 0.9


def test_coverage_round_trips_and_an_old_bundle_never_flags(cascal, tmp_path):
    saved = cascal.save(tmp_path / "bundle")
    loaded = RouterBundle.load(saved)
    np.testing.assert_array_equal(loaded.coverage.reference, cascal.coverage.reference)
    assert loaded.coverage.threshold == cascal.coverage.threshold
    assert loaded.route([KNOWN, UNRELATED]) == cascal.route([KNOWN, UNRELATED])
    # a bundle written before coverage existed: no coverage/ files in it nor in its manifest
    old = tmp_path / "old"
    shutil.copytree(saved, old)
    shutil.rmtree(old / "coverage")
    manifest = json.loads((old / MANIFEST_FILE).read_text())
    manifest["files"] = {k: v for k, v in manifest["files"].items() if not k.startswith("coverage/")}
    manifest["content_sha256"] = content_hash(manifest["files"])
    (old / MANIFEST_FILE).write_text(json.dumps(manifest))
    legacy = RouterBundle.load(old)
    assert legacy.coverage is None
    routes = legacy.route([KNOWN, UNRELATED])
    assert [(r["out_of_distribution"], r["training_similarity"], r["note"]) for r in routes] == [(False, None, None)] * 2
    assert [r["models"] for r in routes] == [r["models"] for r in cascal.route([KNOWN, UNRELATED])]


def test_altered_coverage_is_refused(cascal, tmp_path):
    saved = cascal.save(tmp_path / "bundle")
    (saved / "coverage" / "coverage.json").write_text('{"format": "rgd.coverage", "version": 1}')
    with pytest.raises(ArtifactError, match="modified"):
        RouterBundle.load(saved)


def _route_cli(bundle, monkeypatch, tmp_path, *args):
    from rgd.cli import models as cli_models
    from rgd.cli.main import main
    from rgd.tracking.pyfunc_model import RouterModel

    monkeypatch.setenv("RGD_HOME", str(tmp_path))
    monkeypatch.setattr(cli_models, "_configure", lambda tracking_uri: "")  # no registry is read
    monkeypatch.setattr(cli_models, "_load_model", lambda name, version, alias: RouterModel(bundle))
    res = CliRunner().invoke(main, ["route", *args])
    assert res.exit_code == 0, res.output
    return res


def test_rgd_route_shows_the_note_and_json_has_the_fields(cascal, monkeypatch, tmp_path):
    far = _route_cli(cascal, monkeypatch, tmp_path, UNRELATED).stdout
    assert far.splitlines()[0].startswith("note: out of distribution: the question is far from every training")
    assert "note:" not in _route_cli(cascal, monkeypatch, tmp_path, KNOWN).stdout
    row = json.loads(_route_cli(cascal, monkeypatch, tmp_path, UNRELATED, "--json").stdout)
    assert row["out_of_distribution"] is True and row["training_similarity"] == 0.0
    assert row["note"].startswith("out of distribution")
    row = json.loads(_route_cli(cascal, monkeypatch, tmp_path, KNOWN, "--json").stdout)
    assert row["out_of_distribution"] is False and row["training_similarity"] > cascal.coverage.threshold
    assert row["note"] is None
