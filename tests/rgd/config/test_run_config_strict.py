"""The run config is strict: no bool-to-int or str-to-number coercion anywhere, and duplicate YAML keys are
an error naming the key and its line (issue 13, class 3)."""

from __future__ import annotations

import pytest

from rgd.config.run_config import RunConfig, parse_run_config, read_yaml
from rgd.errors import DataError
from rgd.workflow.sources import source_for


@pytest.mark.parametrize("section, field, value", [
    ("generation", "n_per_subject", True),
    ("generation", "n_per_subject", "12"),
    ("generation", "seed", False),
    ("respond", "max_tokens", "256"),
    ("respond", "temperature", "0.5"),
    ("filter", "min_self_consistency", "0.5"),
    ("filter", "require_consensus_agreement", "yes"),
    ("filter", "require_consensus_agreement", 1),
    ("registry", "margin", True),
])
def test_no_type_coercion(section, field, value):
    with pytest.raises(DataError, match=rf"{section}\.{field}"):
        parse_run_config({"generators": ["strong"], section: {field: value}})


def test_nested_simulated_world_is_strict_too():
    with pytest.raises(DataError, match=r"simulated\.world\.n_subjects"):
        parse_run_config({"generators": ["strong"], "simulated": {"world": {"n_subjects": "3"}}})
    with pytest.raises(DataError, match=r"seed"):
        parse_run_config({"generators": ["strong"], "seed": True})


def test_int_for_a_float_field_and_defaults_still_validate():
    config = parse_run_config({"generators": ["strong"], "respond": {"temperature": 1},
                               "registry": {"margin": 0}, "consensus": {"n_voters": 3}})
    assert config.respond.temperature == 1.0 and config.consensus.n_voters == 3
    # a data step's view, as ZenML stores it and validates it again, keeps working under strict validation
    view = source_for(config).respond_view()
    assert RunConfig.model_validate(view.model_dump(mode="json"), strict=True).respond.temperature == 1.0
    assert config.with_generator_preset("weak").generators[0].preset == "weak"
    assert RunConfig(generators=["strong"]).generation.n_per_subject == 100


def test_duplicate_yaml_key_is_an_error_naming_key_and_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: a\ngeneration:\n  n_per_subject: 5\n  seed: 1\n  n_per_subject: 50\n")
    with pytest.raises(DataError, match=r"duplicate key 'n_per_subject'.*line 5.*line 3"):
        read_yaml(path)


def test_yaml_merge_keys_are_not_duplicates(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("x-base: &base {seed: 1, n_per_subject: 5}\ngeneration:\n  <<: *base\n  seed: 2\n")
    data = read_yaml(path)
    assert data["generation"] == {"seed": 2, "n_per_subject": 5}


@pytest.mark.parametrize("kind", ["simulated", "openai"])
def test_a_pool_of_one_model_is_refused(kind):
    pool = {"kind": kind, "models": ["only-one"]}
    if kind == "openai":
        pool["params"] = {"base_url": "http://127.0.0.1:9/v1"}
    with pytest.raises((DataError, ValueError), match=rf"a {kind} pool needs at least two models"):
        parse_run_config({"generators": ["strong"], "pool": pool})
