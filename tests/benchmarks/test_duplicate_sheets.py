"""benchmarks/duplicate_sheets.py: its pools hold a model under a second name, answer for answer."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import duplicate_sheets
from rgd.data.recorded import load_recorded
from rgd.truth import duplicate_weights
from tests.paths import SHARED_MMLU


@pytest.mark.skipif(not SHARED_MMLU.is_dir(), reason="needs the shared MMLU-Pro pack (../shared/data/mmlu_pro)")
def test_a_model_answering_again_under_another_name_is_an_identical_sheet(tmp_path):
    ds = load_recorded(duplicate_sheets.pool(SHARED_MMLU, tmp_path / "p", [duplicate_sheets.GEMINI,
                                                                          duplicate_sheets.MISTRAL],
                                             [duplicate_sheets.MISTRAL]))
    models = list(ds.table.models)
    assert sorted(models) == sorted([duplicate_sheets.GEMINI, duplicate_sheets.MISTRAL,
                                     f"{duplicate_sheets.MISTRAL}~again1"])  # gemini read from generators/
    weights = dict(zip(models, duplicate_weights(ds.table.choices)))
    assert weights[duplicate_sheets.GEMINI] == 1.0
    assert weights[duplicate_sheets.MISTRAL] == weights[f"{duplicate_sheets.MISTRAL}~again1"] == 0.5
    assert np.array_equal(*ds.table.choices[[models.index(duplicate_sheets.MISTRAL),
                                             models.index(f"{duplicate_sheets.MISTRAL}~again1")]])
