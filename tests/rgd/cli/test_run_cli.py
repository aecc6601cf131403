"""rgd run / lineage: one spelling of the model-name option, the end-of-run hint for any model name, and
--generator with several generators (issue 13, class 14)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from rgd.cli.main import main
from rgd.cli.run import where_to_look
from rgd.config.run_config import RunConfig
from rgd.errors import ParameterError


def test_end_of_run_hint_names_a_non_default_model_everywhere():
    assert where_to_look({"model_name": "rgd-router", "version": "3"}) == "rgd models; rgd lineage --version 3"
    hint = where_to_look({"model_name": "rgd-router-mmlu-pro", "version": "2"})
    assert hint == "rgd models --name rgd-router-mmlu-pro; rgd lineage --version 2 --name rgd-router-mmlu-pro"
    runner = CliRunner()
    for cmd in (["models", "--help"], ["lineage", "--help"], ["promote", "--help"]):
        assert "--name" in runner.invoke(main, cmd).output  # the hint's option exists on both commands


def test_lineage_model_name_is_a_deprecated_alias_of_name():
    runner = CliRunner()
    assert "--model-name" not in runner.invoke(main, ["lineage", "--help"]).output
    result = runner.invoke(main, ["lineage", "--name", "a", "--model-name", "b", "--version", "1"])
    assert result.exit_code == 2 and "give the model name once" in result.output
    result = runner.invoke(main, ["lineage", "--model-name", "a"])  # stops at the usage check
    assert "deprecated; use --name" in result.output and "exactly one of --version" in result.output


def test_generator_preset_with_several_generators_is_an_error():
    config = RunConfig(generators=[{"kind": "simulated", "preset": "strong"},
                                   {"kind": "simulated", "preset": "medium"}])
    with pytest.raises(ParameterError, match=r"has 2 \(sim-gen-strong, sim-gen-medium\)"):
        config.with_generator_preset("weak")
    assert RunConfig(generators=["strong"]).with_generator_preset("weak").generators[0].preset == "weak"
