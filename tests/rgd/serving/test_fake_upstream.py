"""The fake upstream's recorded mode (benchmarks/live_monitoring.py): each question answered with its file's letter."""

from __future__ import annotations

import json

from rgd.serving.monitor import answer_key
from tests.rgd.serving.fake_upstream import FakeUpstream, recorded_key


def _request(question: str) -> dict:
    return {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": question}]}


def test_a_recorded_upstream_answers_each_question_with_its_letter_and_can_be_swapped(tmp_path):
    q1, q2 = "Which one?\nA. x\nB. y\nC. z", "And this one?\nA. u\nB. v"
    own, weak = tmp_path / "own.json", tmp_path / "weak.json"
    own.write_text(json.dumps({recorded_key(q1): "C", recorded_key(q2): None}))
    weak.write_text(json.dumps({recorded_key(q1): "A"}))
    up = FakeUpstream("m1", 0.0, None, str(own))
    assert answer_key(up.text(_request(q1)), 3) == "C"
    assert answer_key(up.text(_request(q2)), 2) is None  # the pack has no answer: none extracted
    assert answer_key(up.text(_request("never recorded\nA. a\nB. b")), 2) is None
    up.load_answers(str(weak))  # what POST /control {"answers_file": ...} does
    assert answer_key(up.text(_request(q1)), 3) == "A" and up.text(_request(q1)).startswith("m1 ")
    assert FakeUpstream("m2", 0.0, "B").text(_request(q1)) == "m2 thinks. The answer is (B)."
