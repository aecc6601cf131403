"""Resumable answering: crashes (an exception, a SIGKILL, a torn last line) lose nothing and repeat nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from rgd.data.schema import Question, Response
from rgd.errors import DataError
from rgd.llm.answering import answer_all
from rgd.llm.backends.base import Generation, LLMBackend

ROOT = Path(__file__).resolve().parents[3]  # the repository
QUESTIONS = [Question(id=f"q{i:03d}", subject="s", text=f"question {i}", options=["a", "b", "c", "d"]) for i in range(50)]


class CountingBackend(LLMBackend):
    """Answers 'ABCD'[i % 4]; counts answers per question id; fails on batch number ``fail_on_batch``."""

    def __init__(self, model: str = "m", fail_on_batch: int | None = None) -> None:
        self.model = model
        self.fail_on_batch = fail_on_batch
        self.batches = 0
        self.calls: Counter[str] = Counter()

    def generate(self, prompts, sampling=None):  # pragma: no cover - answer() is overridden
        return [Generation("The answer is (A)") for _ in prompts]

    def answer(self, questions, sampling=None):
        self.batches += 1
        if self.fail_on_batch is not None and self.batches == self.fail_on_batch:
            raise RuntimeError("backend crashed")
        self.calls.update(q.id for q in questions)
        return [
            Response(model=self.model, question_id=q.id, choice="ABCD"[int(q.id[1:]) % 4], confidence=-0.5)
            for q in questions
        ]


def expected_choices(questions=QUESTIONS):
    return ["ABCD"[int(q.id[1:]) % 4] for q in questions]


def checkpoint_ids(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["checkpoint"] == "rgd.answers"
    return [json.loads(line)["question_id"] for line in lines[1:]]


def test_without_checkpoint_answers_all_in_order():
    backend = CountingBackend()
    out = answer_all(backend, QUESTIONS, checkpoint_every=7, progress=False)
    assert [r.question_id for r in out] == [q.id for q in QUESTIONS]
    assert [r.choice for r in out] == expected_choices()
    assert backend.batches == 8 and set(backend.calls.values()) == {1}


def test_crash_then_restart_answers_each_question_exactly_once(tmp_path):
    ckpt = tmp_path / "answers.jsonl"
    first = CountingBackend(fail_on_batch=4)  # three batches of 8 complete, the fourth raises
    with pytest.raises(RuntimeError, match="backend crashed"):
        answer_all(first, QUESTIONS, checkpoint_path=ckpt, checkpoint_every=8, progress=False)
    assert sum(first.calls.values()) == 24 and len(checkpoint_ids(ckpt)) == 24

    second = CountingBackend()
    out = answer_all(second, QUESTIONS, checkpoint_path=ckpt, checkpoint_every=8, progress=False)
    total = first.calls + second.calls
    assert set(total) == {q.id for q in QUESTIONS} and set(total.values()) == {1}
    assert [r.choice for r in out] == expected_choices()
    assert sorted(checkpoint_ids(ckpt)) == sorted(q.id for q in QUESTIONS)

    third = CountingBackend()  # a finished run restarts to nothing
    assert answer_all(third, QUESTIONS, checkpoint_path=ckpt, progress=False) == out
    assert third.batches == 0


def test_torn_last_line_is_dropped_and_reanswered(tmp_path):
    ckpt = tmp_path / "answers.jsonl"
    answer_all(CountingBackend(), QUESTIONS[:10], checkpoint_path=ckpt, checkpoint_every=5, progress=False)
    full = ckpt.read_bytes()
    last_line_start = full.rstrip(b"\n").rfind(b"\n") + 1
    ckpt.write_bytes(full[: last_line_start + 17])  # the 10th answer cut mid-write
    backend = CountingBackend()
    out = answer_all(backend, QUESTIONS[:10], checkpoint_path=ckpt, progress=False)
    assert list(backend.calls) == ["q009"]
    assert [r.choice for r in out] == expected_choices(QUESTIONS[:10])
    assert checkpoint_ids(ckpt) == [q.id for q in QUESTIONS[:10]]


def test_refuses_checkpoint_of_another_model_or_other_questions(tmp_path):
    ckpt = tmp_path / "answers.jsonl"
    answer_all(CountingBackend("m"), QUESTIONS[:10], checkpoint_path=ckpt, progress=False)
    with pytest.raises(DataError, match="belongs to model 'm', not 'other'"):
        answer_all(CountingBackend("other"), QUESTIONS[:10], checkpoint_path=ckpt, progress=False)
    with pytest.raises(DataError, match="'q000', which is not among the questions"):
        answer_all(CountingBackend("m"), QUESTIONS[20:30], checkpoint_path=ckpt, progress=False)
    (tmp_path / "junk.jsonl").write_text('{"hello": 1}\n')
    with pytest.raises(DataError, match="not an answers checkpoint"):
        answer_all(CountingBackend("m"), QUESTIONS, checkpoint_path=tmp_path / "junk.jsonl", progress=False)


def test_duplicate_question_ids_are_refused():
    with pytest.raises(DataError, match="more than once"):
        answer_all(CountingBackend(), [QUESTIONS[0], QUESTIONS[0]], progress=False)


CHILD = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, {root!r})
    from rgd.llm.answering import answer_all
    from rgd.llm.backends.base import LLMBackend
    from rgd.data.schema import Question, Response

    class Slow(LLMBackend):
        model = "m"
        def generate(self, prompts, sampling=None):
            raise NotImplementedError
        def answer(self, questions, sampling=None):
            time.sleep(0.05)
            with open({log!r}, "a") as fh:  # which questions the backend answered, durably
                fh.write("".join(q.id + "\\n" for q in questions)); fh.flush(); os.fsync(fh.fileno())
            return [Response(model="m", question_id=q.id, choice="ABCD"[int(q.id[1:]) % 4]) for q in questions]

    qs = [Question(id=f"q{{i:03d}}", subject="s", text=f"question {{i}}", options=["a", "b", "c", "d"]) for i in range(50)]
    answer_all(Slow(), qs, checkpoint_path={ckpt!r}, checkpoint_every=4, progress=False)
    """
)


def test_sigkilled_run_restarts_without_loss_or_repeats(tmp_path):
    ckpt, calls_log = tmp_path / "answers.jsonl", tmp_path / "calls.log"
    code = CHILD.format(root=str(ROOT), log=str(calls_log), ckpt=str(ckpt))
    child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if ckpt.exists() and ckpt.read_bytes().count(b"\n") >= 1 + 20:
                break
            assert child.poll() is None, "child finished before it could be killed"
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL

    killed_at = set(checkpoint_ids_tolerant(ckpt))
    answered_before = Counter(calls_log.read_text().split())
    assert 20 <= len(killed_at) < 50
    assert set(answered_before.values()) == {1}

    backend = CountingBackend()
    out = answer_all(backend, QUESTIONS, checkpoint_path=ckpt, checkpoint_every=4, progress=False)
    assert [r.choice for r in out] == expected_choices()
    assert sorted(checkpoint_ids(ckpt)) == sorted(q.id for q in QUESTIONS)  # each answer stored exactly once
    # nothing checkpointed is asked again; the only repeats are the batch in flight when the kill came
    assert not killed_at & set(backend.calls)
    repeated = set(answered_before) & set(backend.calls)
    assert len(repeated) <= 4
    total = answered_before + backend.calls
    assert set(total) == {q.id for q in QUESTIONS}
    assert all(total[q] == 1 for q in total if q not in repeated)


def checkpoint_ids_tolerant(path: Path) -> list[str]:
    """Ids in a checkpoint that may end in a torn line (the child was killed mid-write)."""
    out = []
    for line in path.read_bytes().split(b"\n")[1:]:
        try:
            out.append(json.loads(line)["question_id"])
        except (json.JSONDecodeError, KeyError):
            pass
    return out
