"""vLLM backend: pure helpers without vllm; the engine itself only where vllm is installed."""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field

import pytest

from rgd.llm.backends.vllm_backend import VLLMBackend, mean_sampled_logprob, visible_gpu_count


@dataclass
class Logprob:  # the shape of vllm.sequence.Logprob
    logprob: float
    rank: int | None = None
    decoded_token: str | None = None


@dataclass
class CompletionOutput:  # the fields of vllm.outputs.CompletionOutput that the backend reads
    text: str
    token_ids: list[int]
    logprobs: list[dict[int, Logprob]] | None
    cumulative_logprob: float | None = None
    index: int = 0
    extra: dict = field(default_factory=dict)


def test_mean_logprob_uses_the_sampled_token_not_the_top_alternative():
    out = CompletionOutput(
        text="x y z",
        token_ids=[5, 7, 9],
        logprobs=[
            {5: Logprob(-0.5, 2), 6: Logprob(-0.1, 1)},  # sampled token 5 was not the top-1
            {7: Logprob(-1.0, 1)},
            {9: Logprob(-1.5, 1)},
        ],
    )
    assert math.isclose(mean_sampled_logprob(out), -1.0)


def test_mean_logprob_fallbacks():
    assert math.isclose(mean_sampled_logprob(CompletionOutput("a b", [1, 2], None, cumulative_logprob=-3.0)), -1.5)
    assert mean_sampled_logprob(CompletionOutput("", [], None)) is None
    assert mean_sampled_logprob(CompletionOutput("a", [1], None, cumulative_logprob=None)) is None
    inf = CompletionOutput("a b", [1, 2], [{1: Logprob(-math.inf)}, {2: Logprob(-2.0)}])
    assert mean_sampled_logprob(inf) == -2.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 1), ("0,1,2,3", 4), ("2, 5", 2), ("", 0), ("-1", 0), ("0,1,-1,3", 2), ("GPU-abc,GPU-def", 2)],
)
def test_visible_gpu_count_from_cuda_visible_devices(value, expected):
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": value}) == expected


def test_visible_gpu_count_without_variable_asks_torch():
    torch = pytest.importorskip("torch")
    expected = torch.cuda.device_count() if torch.cuda.is_available() else 0
    assert visible_gpu_count({}) == expected


def test_clear_error_without_vllm(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` raise ImportError
    with pytest.raises(ImportError, match=r"rgd-router\[vllm\]"):
        VLLMBackend("some/model")


def test_real_engine_when_installed():
    """Runs only with vllm, a GPU and RGD_VLLM_TEST_MODEL naming a local (small) model directory."""
    pytest.importorskip("vllm", reason="vllm not installed (optional extra 'vllm', needs CUDA)")
    model = os.environ.get("RGD_VLLM_TEST_MODEL")
    if not model or visible_gpu_count() < 1:
        pytest.skip("needs a visible GPU and RGD_VLLM_TEST_MODEL set to a local model directory")
    from rgd.data.schema import Question
    from rgd.llm.backends.base import SamplingConfig

    backend = VLLMBackend(model, max_model_len=2048, gpu_memory_utilization=0.5)
    questions = [Question(id=f"q{i}", subject="math", text=f"What is {i} + {i}?", options=["1", str(2 * i), "7"]) for i in range(3)]
    responses = backend.answer(questions, SamplingConfig(max_tokens=128))
    assert [r.question_id for r in responses] == ["q0", "q1", "q2"]
    assert all(r.confidence is not None and r.confidence <= 0 for r in responses)
    assert all(r.choice in (None, "A", "B", "C") for r in responses)
