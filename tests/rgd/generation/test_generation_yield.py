"""A generator that yields no or too few usable questions stops generation with the parse errors and a sample
of its output (issue 13, class 12), instead of a run that goes on to answer and fails in the filter."""

from __future__ import annotations

import pytest

from rgd.errors import DataError
from rgd.generation import generate_questions
from tests.rgd.generation.test_generate_questions import SUBJECTS, ScriptedGenerator


def test_nothing_parseable_stops_early_with_reasons_and_a_sample():
    backend = ScriptedGenerator(garbage_subjects={"biology", "law", "math"})
    with pytest.raises(DataError, match=r"(?s)no usable question in its first 6 calls.*unterminated_block: 6"
                                        r".*sample of its output.*I'd rather not"):
        generate_questions(backend, SUBJECTS, n_per_subject=4, questions_per_call=2, seed=0, progress=False,
                           batch_size=6, abort_after_empty_calls=6)
    assert len(backend.batches) == 1  # stopped after the first batch, not at the call budget


def test_too_few_usable_questions_is_an_error_at_the_end():
    backend = ScriptedGenerator(garbage_subjects={"biology", "law"})
    with pytest.raises(DataError, match=r"(?s)4 usable questions of the 12 asked for \(33%.*at least 50%"
                                        r".*shortfall.*'biology': 4.*unterminated_block"):
        generate_questions(backend, SUBJECTS, n_per_subject=4, questions_per_call=2, seed=0, progress=False,
                           max_calls=20, min_kept_fraction=0.5)


def test_enough_usable_questions_pass_and_the_report_keeps_samples_of_failures():
    backend = ScriptedGenerator(garbage_subjects={"law"})
    questions, report = generate_questions(backend, SUBJECTS, n_per_subject=4, questions_per_call=2, seed=0,
                                           progress=False, max_calls=20, min_kept_fraction=0.5,
                                           abort_after_empty_calls=6)
    assert len(questions) == 8
    assert report.failed_samples and "I'd rather not" in report.failed_samples[0]


class Shifted(ScriptedGenerator):
    """Writes other questions than ScriptedGenerator for the same prompts (a non-deterministic server)."""

    def __init__(self, crash_after_batches=None, **kw):
        super().__init__(**kw)
        self.crash_after_batches = crash_after_batches
        self.written.update({s: 1000 for s in ("biology", "law", "math")})

    def generate(self, prompts, sampling=None):
        if self.crash_after_batches is not None and len(self.batches) >= self.crash_after_batches:
            raise ConnectionError("server went away")
        return super().generate(prompts, sampling)


def test_generation_is_checkpointed_per_batch_and_replayed(tmp_path):
    path = tmp_path / "gen.jsonl"
    kw = dict(n_per_subject=4, questions_per_call=2, seed=0, progress=False, batch_size=2, checkpoint_path=path)
    first, report = generate_questions(ScriptedGenerator(), SUBJECTS, **kw)
    assert report.replayed_batches == 0 and len(path.read_text().splitlines()) == report.batches
    again = Shifted()
    replayed, report2 = generate_questions(again, SUBJECTS, **kw)
    assert [q.text for q in replayed] == [q.text for q in first] and [q.id for q in replayed] == [q.id for q in first]
    assert again.batches == [] and report2.replayed_batches == report.batches
    fresh, _ = generate_questions(Shifted(), SUBJECTS, **{**kw, "resume": False})
    assert [q.text for q in fresh] != [q.text for q in first]


def test_a_crash_keeps_the_batches_generated_so_far(tmp_path):
    path = tmp_path / "gen.jsonl"
    kw = dict(n_per_subject=4, questions_per_call=2, seed=0, progress=False, batch_size=2, checkpoint_path=path)
    with pytest.raises(ConnectionError):
        generate_questions(Shifted(crash_after_batches=2), SUBJECTS, **kw)
    assert len(path.read_text().splitlines()) == 2
    with open(path, "ab") as fh:
        fh.write(b'{"batch": 2, "prom')  # a torn line left by the crash
    backend = Shifted()
    questions, report = generate_questions(backend, SUBJECTS, **kw)
    assert report.replayed_batches == 2 and len(questions) == 12
    assert len(path.read_text().splitlines()) == report.batches
