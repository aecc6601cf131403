"""The filter: self-consistency of the generator's keys and separation of the pool."""

import json

import numpy as np
import pytest

from rgd.data.response_table import ResponseTable
from rgd.data.schema import Provenance, Question, Response
from rgd.errors import DataError
from rgd.filtering import FilterConfig, answer_entropy, filter_questions

PROV = Provenance(kind="generated", source="gen", prompt_version="v", seed=0)
POOL = ("m1", "m2", "m3", "m4")


def q(i, answer="A", subject="s", k=4):
    return Question(id=f"q{i}", subject=subject, text=f"question {i}", options=[str(j) for j in range(k)],
                    answer=answer, provenance=PROV)


def pool_table(questions, choices):
    """choices: one string per question, the letters of m1..m4 ('.' = no answer)."""
    responses = [
        Response(model=m, question_id=qu.id, choice=None if c == "." else c)
        for qu, col in zip(questions, choices)
        for m, c in zip(POOL, col)
    ]
    return ResponseTable.from_records(questions, responses, models=POOL)


# q0: good (key A, majority A, some wrong); q1: everyone right (too easy); q2: nobody picks the key (too hard,
# consensus disagrees); q3: key B but pool majority A; q4: good, subject t
QUESTIONS = [q(0), q(1), q(2), q(3, answer="B"), q(4, subject="t")]
CHOICES = ["AABC", "AAAA", "BBCD", "AAAB", "AAB."]


def test_separation_and_consensus_checks_drop_the_right_questions():
    questions = QUESTIONS
    table = pool_table(questions, CHOICES)
    kept, kept_table, report = filter_questions(questions, table, None, FilterConfig(min_answer_entropy=0.0))
    assert [x.id for x in kept] == ["q0", "q4"]
    assert kept_table.question_ids == ("q0", "q4")
    np.testing.assert_array_equal(kept_table.choices, table.take([0, 4]).choices)
    reasons = {d.id: d.reasons for d in report.dropped}
    assert reasons == {
        "q1": ["too_easy"],
        "q2": ["consensus_disagrees", "too_hard"],
        "q3": ["consensus_disagrees"],
    }
    assert report.failures == {"no_key": 0, "consensus_disagrees": 2, "low_answer_entropy": 0, "too_hard": 1, "too_easy": 1}
    assert "self_consistency" in report.checks_skipped and "low_score_spread" in report.checks_skipped
    assert report.per_subject == {"s": {"input": 4, "kept": 1}, "t": {"input": 1, "kept": 1}}
    assert (report.n_input, report.n_kept, report.n_dropped) == (5, 2, 3)
    assert json.loads(report.model_dump_json())["config"]["min_answer_entropy"] == 0.0


def test_entropy_is_normalised_and_ignores_unanswered():
    columns = [[0, 0, 0, 0], [0, 1, 2, 3], [0, 2, 3, -1], [1, -1, -1, -1]]  # one list per question
    h = answer_entropy(np.array(columns, dtype=np.int8).T, np.array([4, 4, 4, 2]))
    assert h[0] == 0.0  # unanimous
    assert h[1] == pytest.approx(1.0)  # spread over all four options
    assert h[2] == pytest.approx(np.log(3) / np.log(4))  # three answers, one model silent
    assert h[3] == 0.0  # a single answer has no spread


def test_entropy_floor():
    questions = [q(0), q(1)]
    table = pool_table(questions, ["AAAB", "ABCD"])  # entropy 0.41 and 1.0
    cfg = FilterConfig(min_answer_entropy=0.5, require_consensus_agreement=False, min_pool_correct=0, min_pool_wrong=0)
    kept, _, report = filter_questions(questions, table, None, cfg)
    assert [x.id for x in kept] == ["q1"]
    assert report.dropped[0].reasons == ["low_answer_entropy"]
    assert report.metric_means["answer_entropy"] == pytest.approx((answer_entropy(table.choices, table.n_options)).mean())


def test_score_spread_floor_uses_consensus_scores():
    questions = [q(0), q(1)]
    table = pool_table(questions, ["AAAA", "AAAB"])
    cfg = FilterConfig(min_score_std=0.1, min_answer_entropy=None, require_consensus_agreement=False,
                       min_pool_correct=0, min_pool_wrong=0)
    kept, _, report = filter_questions(questions, table, None, cfg)
    assert [x.id for x in kept] == ["q1"]  # unanimous: every score is the same
    assert report.failures == {"no_key": 0, "low_score_spread": 1}


def test_self_consistency_from_several_samples_of_the_generator():
    questions = [q(0), q(1), q(2)]
    # three re-answers per question: q0 all match the key, q1 one of three, q2 two of three
    samples = {"gen#0": "AAA", "gen#1": "ABA", "gen#2": "ABB"}
    responses = [Response(model=m, question_id=f"q{i}", choice=c) for m, cs in samples.items() for i, c in enumerate(cs)]
    cfg = FilterConfig(min_self_consistency=0.6)
    kept, kept_table, report = filter_questions(questions, None, responses, cfg)
    assert [x.id for x in kept] == ["q0", "q2"]
    assert kept_table is None
    assert report.failures == {"no_key": 0, "self_consistency": 1}
    assert report.metric_means["self_consistency"] == pytest.approx((1 + 1 / 3 + 2 / 3) / 3)
    assert set(report.checks_skipped) == {"consensus_disagrees", "low_answer_entropy", "low_score_spread", "too_hard", "too_easy"}


def test_generator_row_taken_from_the_pool_by_name():
    questions = [q(0), q(1)]
    table = pool_table(questions, ["ABCA", "BBCA"])  # m1 is the generator: right on q0, wrong on q1
    cfg = FilterConfig(min_answer_entropy=None, require_consensus_agreement=False, min_pool_correct=0, min_pool_wrong=0)
    kept, _, report = filter_questions(questions, table, "m1", cfg)
    assert [x.id for x in kept] == ["q0"] and report.dropped[0].reasons == ["self_consistency"]
    with pytest.raises(DataError, match="not a model of the pool"):
        filter_questions(questions, table, "gen-x", cfg)


def test_pool_table_may_hold_more_questions_in_another_order():
    questions = QUESTIONS
    table = pool_table(questions, CHOICES)
    reordered = table.take([4, 3, 2, 1, 0])
    subset = [QUESTIONS[0], QUESTIONS[4]]
    kept, kept_table, _ = filter_questions(subset, reordered, None, FilterConfig(min_answer_entropy=0.0))
    assert [x.id for x in kept] == ["q0", "q4"] and kept_table.question_ids == ("q0", "q4")


def test_questions_without_key_are_dropped():
    questions = [q(0), q(1, answer=None)]
    table = pool_table(questions, ["AABC", "AABC"])
    kept, _, report = filter_questions(questions, table, None, FilterConfig(min_answer_entropy=0.0))
    assert [x.id for x in kept] == ["q0"]
    assert "no_key" in report.dropped[0].reasons


def test_everything_switched_off_keeps_everything():
    cfg = FilterConfig(min_self_consistency=None, require_consensus_agreement=False, min_answer_entropy=None,
                       min_score_std=None, min_pool_correct=0, min_pool_wrong=0)
    kept, _, report = filter_questions(QUESTIONS, pool_table(QUESTIONS, CHOICES), None, cfg)
    assert len(kept) == 5 and report.checks_applied == ["no_key"]


def test_missing_answers_and_mismatched_tables_are_errors():
    table = pool_table(QUESTIONS[:2], CHOICES[:2])
    with pytest.raises(DataError, match="pool table has no answers to 1 of the questions"):
        filter_questions(QUESTIONS[:3], table, None)
    other = [q(0, k=5), q(1)]
    with pytest.raises(DataError, match="number of options of 'q0'"):
        filter_questions(other, table, None)
    with pytest.raises(ValueError):
        FilterConfig(min_self_consistency=1.5)


def test_vectorised_filter_is_fast_on_a_large_pool():
    rng = np.random.default_rng(0)
    n_q, n_m = 20_000, 12
    questions = [Question(id=f"g{i}", subject=f"s{i % 7}", text="t", options=list("0123"), answer="ABCD"[i % 4])
                 for i in range(n_q)]
    keys = np.arange(n_q) % 4
    right = rng.random((n_m, n_q)) < 0.6
    choices = np.where(right, keys[None, :], rng.integers(0, 4, (n_m, n_q))).astype(np.int8)
    table = ResponseTable(models=tuple(f"m{i}" for i in range(n_m)), question_ids=tuple(x.id for x in questions),
                          subjects=np.array([x.subject for x in questions]), n_options=np.full(n_q, 4, np.int16),
                          choices=choices, confidence=np.full((n_m, n_q), np.nan, np.float32),
                          answers=keys.astype(np.int8))
    import time
    start = time.perf_counter()
    kept, kept_table, report = filter_questions(questions, table, "m0", FilterConfig())
    assert time.perf_counter() - start < 10
    assert 0 < report.n_kept < n_q and kept_table.n_questions == report.n_kept
    # the filter keeps the questions where the pool mostly agrees with the key
    assert kept_table.correct().mean() > table.correct().mean()


def test_generate_then_filter_removes_wrong_keys():
    """End to end: a generator whose keys are wrong on every third question; a pool that knows the truth."""
    from rgd.generation import generate_questions, load_subjects, read_generation_request, render_question_block
    from rgd.llm.backends.base import Generation, LLMBackend

    truth: dict[str, int] = {}

    class SloppyGenerator(LLMBackend):
        model = "sloppy"

        def __init__(self):
            self.n = 0

        def generate(self, prompts, sampling=None):
            out = []
            for p in prompts:
                req = read_generation_request(p)
                blocks = []
                for _ in range(req.n_questions):
                    self.n += 1
                    right = self.n % req.n_options
                    key = (right + 1) % req.n_options if self.n % 3 == 0 else right
                    text = f"{req.subject} puzzle {self.n}"
                    truth[text] = right
                    blocks.append(render_question_block(Question(
                        id="d", subject=req.subject, text=text, options=[f"o{i}" for i in range(req.n_options)],
                        answer="ABCD"[key])))
                out.append(Generation("\n".join(blocks)))
            return out

    subjects = load_subjects("medmcqa").select(["Anatomy", "Surgery"])
    questions, _ = generate_questions(SloppyGenerator(), subjects, 30, 5, seed=0, progress=False)
    rng = np.random.default_rng(1)
    responses = []
    for skill, name in zip((0.9, 0.7, 0.5, 0.4, 0.3), ("p1", "p2", "p3", "p4", "p5")):
        for qu in questions:
            right = truth[qu.text]
            choice = right if rng.random() < skill else int(rng.integers(0, 4))
            responses.append(Response(model=name, question_id=qu.id, choice="ABCD"[choice]))
    table = ResponseTable.from_records(questions, responses)
    true_keys = np.array([truth[x.text] for x in questions])
    key_accuracy = (table.answers == true_keys).mean()
    kept, kept_table, report = filter_questions(questions, table, None, FilterConfig())
    kept_accuracy = (kept_table.answers == np.array([truth[x.text] for x in kept])).mean()
    assert key_accuracy == pytest.approx(2 / 3, abs=0.05)
    assert kept_accuracy > 0.9 and report.failures["consensus_disagrees"] >= 15
