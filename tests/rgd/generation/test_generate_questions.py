"""The generator loop, driven through the LLMBackend interface by a scripted generator model."""

import json
from collections import Counter

import pytest

from rgd.data.schema import LETTERS, Question
from rgd.errors import RGDError
from rgd.generation import PROMPT_VERSION, generate_questions, load_subjects, read_generation_request
from rgd.generation.format import render_question_block
from rgd.llm.backends.base import Generation, LLMBackend, SamplingConfig


class ScriptedGenerator(LLMBackend):
    """Writes numbered questions per subject in the tagged format; knobs for repeats, garbage and shortfalls.

    ``repeat_every``: every n-th question repeats an earlier one of its subject (a duplicate);
    ``garbage_subjects``: subjects for which it answers with unusable text;
    ``per_call``: how many questions it writes per call regardless of the request (None: as asked).
    """

    def __init__(self, model="acme/gen-1", repeat_every=0, garbage_subjects=(), per_call=None):
        self.model = model
        self.repeat_every = repeat_every
        self.garbage_subjects = set(garbage_subjects)
        self.per_call = per_call
        self.written = Counter()
        self.batches: list[tuple[list[str], SamplingConfig]] = []

    def generate(self, prompts, sampling=None):
        self.batches.append(([read_generation_request(p).subject for p in prompts], sampling))
        out = []
        for prompt in prompts:
            req = read_generation_request(prompt)
            if req.subject in self.garbage_subjects:
                out.append(Generation("I'd rather not. <question><text>half a quest"))
                continue
            blocks = []
            for _ in range(self.per_call or req.n_questions):
                k = self.written[req.subject]
                self.written[req.subject] += 1
                if self.repeat_every and k and k % self.repeat_every == 0:
                    k -= 1  # same text as the previous one: a duplicate
                q = Question(
                    id="draft",
                    subject=req.subject,
                    text=f"In {req.subject}, what follows from premise number {k}?",
                    options=[f"consequence {k}-{i}" for i in range(req.n_options)],
                    answer=LETTERS[k % req.n_options],
                )
                blocks.append(render_question_block(q))
            out.append(Generation("Here they are.\n\n" + "\n\n".join(blocks)))
        return out


SUBJECTS = load_subjects("mmlu_pro").select(["biology", "law", "math"])


def test_quotas_met_with_provenance_and_stable_ids():
    backend = ScriptedGenerator()
    questions, report = generate_questions(backend, SUBJECTS, n_per_subject=7, questions_per_call=3, seed=11,
                                           progress=False)
    assert report.stop_reason == "quotas_met"
    assert report.per_subject == {"biology": 7, "law": 7, "math": 7}
    assert report.kept == len(questions) == 21
    assert not report.shortfall and not report.skipped
    # 3 calls per subject yield 9 questions; 2 of each are beyond the quota
    assert report.calls == 9 and report.parsed == 27 and report.surplus == 6
    assert len({q.id for q in questions}) == 21
    for q in questions:
        assert q.provenance.kind == "generated"
        assert q.provenance.source == "acme/gen-1"
        assert q.provenance.prompt_version == PROMPT_VERSION
        assert q.provenance.seed == 11
        assert q.id.startswith("gen-acme_gen-1-")
        assert len(q.options) == 10 and q.answer is not None
    again, _ = generate_questions(ScriptedGenerator(), SUBJECTS, 7, 3, seed=11, progress=False)
    assert [q.id for q in again] == [q.id for q in questions]
    json.loads(report.model_dump_json())


def test_batches_cover_subjects_round_robin():
    backend = ScriptedGenerator()
    generate_questions(backend, SUBJECTS, n_per_subject=6, questions_per_call=2, seed=0, progress=False, batch_size=4)
    first_subjects, _ = backend.batches[0]
    assert first_subjects == ["biology", "law", "math", "biology"]
    counts = Counter(s for subjects, _ in backend.batches for s in subjects)
    assert counts == {"biology": 3, "law": 3, "math": 3}
    seeds = [sampling.seed for _, sampling in backend.batches]
    assert len(set(seeds)) == len(seeds)


def test_duplicates_across_calls_are_dropped_and_counted():
    backend = ScriptedGenerator(repeat_every=4, per_call=2)
    questions, report = generate_questions(backend, SUBJECTS, n_per_subject=5, questions_per_call=2, seed=1,
                                           progress=False)
    assert report.stop_reason == "quotas_met"
    assert report.duplicates > 0
    texts = [q.text for q in questions]
    assert len(texts) == len(set(texts)) == 15


def test_garbage_output_stops_at_the_call_budget_and_says_so():
    backend = ScriptedGenerator(garbage_subjects={"law"})
    questions, report = generate_questions(backend, SUBJECTS, n_per_subject=4, questions_per_call=2, seed=0,
                                           progress=False, max_calls=20)
    assert report.stop_reason == "max_calls"
    assert report.calls == 20
    assert report.per_subject == {"biology": 4, "law": 0, "math": 4}
    assert report.shortfall == {"law": 4}
    law_calls = report.calls - 4  # biology and math needed two calls each
    assert report.skipped == {"unterminated_block": law_calls}
    assert all(q.subject != "law" for q in questions)


def test_default_budget_is_bounded():
    backend = ScriptedGenerator(garbage_subjects={"biology", "law", "math"})
    _, report = generate_questions(backend, SUBJECTS, n_per_subject=4, questions_per_call=2, seed=0, progress=False)
    assert report.stop_reason == "max_calls" and report.calls == report.max_calls == 3 * 3 * 2


def test_a_backend_that_loses_generations_is_an_error():
    class Lossy(ScriptedGenerator):
        def generate(self, prompts, sampling=None):
            return super().generate(prompts, sampling)[:-1]

    with pytest.raises(RGDError, match="returned 2 generations for 3 prompts"):
        generate_questions(Lossy(), SUBJECTS, 2, 2, seed=0, progress=False)


def test_bad_arguments():
    with pytest.raises(ValueError):
        generate_questions(ScriptedGenerator(), SUBJECTS, 0, 2, seed=0, progress=False)
    with pytest.raises(ValueError, match="no subjects"):
        generate_questions(ScriptedGenerator(), [], 1, 1, seed=0, progress=False)
