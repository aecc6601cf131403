"""A model run in-process by vLLM's offline engine (``vllm.LLM``), on the visible GPUs.

vllm is an optional extra (``pip install 'rgd-router[vllm]'``, a CUDA build); it is imported only when a
backend is created, so this module imports without it.
"""

from __future__ import annotations

import math
import os
from typing import Any, Mapping, Sequence

from rgd.llm.backends.base import Generation, LLMBackend, SamplingConfig
from rgd.llm.backends.errors import BackendError


def visible_gpu_count(environ: Mapping[str, str] | None = None) -> int:
    """GPUs this process may use: the entries of ``CUDA_VISIBLE_DEVICES`` when it is set (``""`` or ``-1``
    hide every GPU), else the devices torch sees (0 without torch)."""
    environ = os.environ if environ is None else environ
    value = environ.get("CUDA_VISIBLE_DEVICES")
    if value is not None:
        devices = [d.strip() for d in value.split(",") if d.strip()]
        count = 0
        for d in devices:
            if d.startswith("-"):  # CUDA stops at the first invalid / negative id
                break
            count += 1
        return count
    try:
        import torch
    except ImportError:
        return 0
    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def mean_sampled_logprob(completion: Any) -> float | None:
    """Mean log-probability of the sampled tokens of a vLLM ``CompletionOutput``.

    With ``logprobs=1`` each position's dict holds the sampled token (and possibly the top-1 alternative):
    the sampled one is looked up by its id in ``token_ids``. Falls back to ``cumulative_logprob / n`` when
    the per-token dicts are absent; ``None`` when the output carries no log-probabilities.
    """
    token_ids = list(getattr(completion, "token_ids", None) or [])
    per_token = getattr(completion, "logprobs", None)
    if per_token and token_ids:
        values = []
        for token_id, candidates in zip(token_ids, per_token):
            entry = candidates.get(token_id) if candidates else None
            if entry is None:
                continue
            value = float(getattr(entry, "logprob", entry))
            if math.isfinite(value):
                values.append(value)
        if values:
            return sum(values) / len(values)
    cumulative = getattr(completion, "cumulative_logprob", None)
    if cumulative is not None and token_ids and math.isfinite(cumulative):
        return float(cumulative) / len(token_ids)
    return None


def _import_vllm():
    try:
        import vllm
    except ImportError as exc:
        raise ImportError(
            "VLLMBackend needs vLLM (a CUDA build): pip install 'rgd-router[vllm]' on a machine with GPUs, "
            "or use the 'openai' backend against a vLLM server"
        ) from exc
    return vllm


class VLLMBackend(LLMBackend):
    """One model loaded by ``vllm.LLM``; prompts go through the model's chat template (``llm.chat``)."""

    def __init__(
        self,
        model: str,
        tensor_parallel_size: int | None = None,
        download_dir: str | None = None,
        trust_remote_code: bool = False,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        dtype: str = "auto",
        use_chat_template: bool = True,
        name: str | None = None,
    ) -> None:
        vllm = _import_vllm()
        if tensor_parallel_size is None:
            tensor_parallel_size = visible_gpu_count()
            if tensor_parallel_size < 1:
                raise BackendError("VLLMBackend: no visible GPU (CUDA_VISIBLE_DEVICES hides them, or none exist)")
        self.model = name or model
        self.served_model = model
        self.use_chat_template = use_chat_template
        self._vllm = vllm
        kwargs: dict[str, Any] = dict(
            model=model,
            tensor_parallel_size=tensor_parallel_size,
            trust_remote_code=trust_remote_code,
            gpu_memory_utilization=gpu_memory_utilization,
            dtype=dtype,
        )
        if download_dir is not None:
            kwargs["download_dir"] = str(download_dir)
        if max_model_len is not None:
            kwargs["max_model_len"] = max_model_len
        self.llm = vllm.LLM(**kwargs)

    def sampling_params(self, sampling: SamplingConfig):
        return self._vllm.SamplingParams(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_tokens,
            seed=sampling.seed,
            logprobs=1,
        )

    def generate(self, prompts: Sequence[str], sampling: SamplingConfig | None = None) -> list[Generation]:
        params = self.sampling_params(sampling or SamplingConfig())
        prompts = list(prompts)
        if not prompts:
            return []
        if self.use_chat_template:
            conversations = [[{"role": "user", "content": p}] for p in prompts]
            outputs = self.llm.chat(conversations, params, use_tqdm=True)
        else:
            outputs = self.llm.generate(prompts, params, use_tqdm=True)
        if len(outputs) != len(prompts):
            raise BackendError(f"{self.model}: vLLM returned {len(outputs)} outputs for {len(prompts)} prompts")
        return [
            Generation(text=out.outputs[0].text, mean_logprob=mean_sampled_logprob(out.outputs[0])) for out in outputs
        ]
