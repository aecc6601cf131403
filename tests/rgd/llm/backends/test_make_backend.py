"""make_backend builds each kind from configuration, importing optional extras only when asked."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from rgd.data.response_table import ResponseTable
from rgd.data.schema import Question, Response
from rgd.llm.backends import make_backend
from rgd.llm.backends.openai_compat import OpenAICompatibleBackend
from rgd.llm.backends.recorded import RecordedBackend


def test_openai_kind():
    b = make_backend("openai", model="m", base_url="http://127.0.0.1:1/v1", max_concurrency=2, name="pool-m")
    assert isinstance(b, OpenAICompatibleBackend) and b.model == "pool-m" and b.max_concurrency == 2


def test_recorded_kind():
    qs = [Question(id="q", subject="s", text="t", options=["a", "b"])]
    table = ResponseTable.from_records(qs, [Response(model="m", question_id="q", choice="B")])
    b = make_backend("recorded", model="m", table_or_dataset=table)
    assert isinstance(b, RecordedBackend) and b.answer(qs)[0].choice == "B"


def test_gemini_kind_when_installed():
    pytest.importorskip("google.genai", reason="google-genai not installed (optional extra 'gemini')")
    from rgd.llm.backends.gemini import GeminiBackend

    assert isinstance(make_backend("gemini", model="gemini-2.5-flash"), GeminiBackend)


def test_vllm_kind_without_vllm_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)
    with pytest.raises(ImportError, match="rgd-router\\[vllm\\]"):
        make_backend("vllm", model="some/model")


def test_simulated_kind_when_available():
    if importlib.util.find_spec("rgd.simulated") is None or importlib.util.find_spec("rgd.simulated.pool") is None:
        pytest.skip("rgd.simulated.pool not written yet")
    with pytest.raises(ValueError, match="bad parameters for backend 'simulated'"):
        make_backend("simulated", no_such_parameter=1)


def test_unknown_kind_and_bad_parameters():
    with pytest.raises(ValueError, match="unknown backend kind 'nope'.*openai"):
        make_backend("nope")
    with pytest.raises(ValueError, match="bad parameters for backend 'openai'"):
        make_backend("openai", model="m", base_url="http://x", colour="blue")
