"""A key that moved still loads from its old place, with a warning naming the new one (configs written before
the move keep working); the same setting at both places must agree."""

from __future__ import annotations

import pytest

from rgd.config.run_config import parse_run_config
from rgd.errors import DataError


def test_filter_consensus_temperature_is_read_as_consensus_temperature():
    with pytest.warns(FutureWarning, match=r"filter\.consensus_temperature is deprecated: write consensus\.temperature"):
        old = parse_run_config({"generators": ["strong"], "filter": {"consensus_temperature": 2.0,
                                                                     "min_answer_entropy": 0.2}})
    new = parse_run_config({"generators": ["strong"], "filter": {"min_answer_entropy": 0.2},
                            "consensus": {"temperature": 2.0}})
    assert old == new and old.consensus.temperature == 2.0
    assert "consensus_temperature" not in old.filter.model_dump()


def test_the_same_setting_at_both_places_must_agree():
    with pytest.warns(FutureWarning):
        both = parse_run_config({"generators": ["strong"], "filter": {"consensus_temperature": 2.0},
                                 "consensus": {"temperature": 2.0}})
    assert both.consensus.temperature == 2.0
    with pytest.raises((DataError, ValueError), match=r"filter\.consensus_temperature \(2\.0\) and consensus\.temperature"):
        parse_run_config({"generators": ["strong"], "filter": {"consensus_temperature": 2.0},
                          "consensus": {"temperature": 0.5}})
