"""A model behind an OpenAI-compatible HTTP server (vLLM serve, llama.cpp server, Ollama, TGI, hosted APIs).

Plain HTTP with the standard library: bounded concurrency (a thread pool), a timeout per request, retries
with exponential backoff and jitter on 429 / 5xx / timeouts / dropped connections / malformed replies, and
no retry on other 4xx. The API key is read from an environment variable at call time and never logged.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any, Sequence

from rgd.llm.backends.base import Generation, LLMBackend, SamplingConfig
from rgd.llm.backends.errors import BackendError, TransientError
from rgd.llm.backends.http_json import post_json
from rgd.llm.backends.parallel import map_in_order
from rgd.llm.backends.retry import call_with_retries


def mean_logprob(values: Sequence[Any] | None) -> float | None:
    """Mean of the finite token log-probabilities, ``None`` when there are none."""
    if not values:
        return None
    finite = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


def _token_logprobs(choice: dict[str, Any]) -> list[Any] | None:
    """Token log-probabilities from a choice, in either of the two shapes servers use."""
    lp = choice.get("logprobs")
    if not isinstance(lp, dict):
        return None
    if isinstance(lp.get("content"), list):  # chat completions: [{"token", "logprob", ...}]
        return [t.get("logprob") for t in lp["content"] if isinstance(t, dict)]
    if isinstance(lp.get("token_logprobs"), list):  # legacy completions
        return lp["token_logprobs"]
    return None


def parse_reply(reply: dict[str, Any], chat: bool) -> Generation:
    """The text and mean log-probability of the first choice; :class:`TransientError` when the reply does not
    have the shape of a completion (a proxy's error page, a truncated body)."""
    choices = reply.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise TransientError(f"reply has no choices: {str(reply)[:200]}")
    choice = choices[0]
    if chat:
        message = choice.get("message")
        if not isinstance(message, dict):
            raise TransientError(f"chat reply has no message: {str(choice)[:200]}")
        text = message.get("content")
    else:
        text = choice.get("text")
    if text is not None and not isinstance(text, str):
        raise TransientError(f"reply text is a {type(text).__name__}, not a string")
    return Generation(text=text or "", mean_logprob=mean_logprob(_token_logprobs(choice)))


class OpenAICompatibleBackend(LLMBackend):
    """One model served over the OpenAI protocol at ``base_url`` (e.g. ``http://127.0.0.1:8000/v1``).

    ``model`` is the name the server knows; ``name`` (default: ``model``) the name of this model in the pool.
    """

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key_env: str | None = "OPENAI_API_KEY",
        max_concurrency: int = 8,
        timeout_s: float = 60,
        max_retries: int = 5,
        backoff_base_s: float = 0.5,
        use_chat: bool = True,
        logprobs: bool = True,
        name: str | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if timeout_s <= 0 or max_retries < 0 or backoff_base_s < 0:
            raise ValueError("timeout_s must be > 0, max_retries and backoff_base_s >= 0")
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.served_model = model
        self.model = name or model
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.max_concurrency = max_concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.use_chat = use_chat
        self.logprobs = logprobs
        self._sleep = time.sleep  # tests replace it to run without waiting

    def __repr__(self) -> str:  # no key in here, ever
        return f"OpenAICompatibleBackend(model={self.served_model!r}, base_url={self.base_url!r})"

    # ------------------------------------------------------------------ requests
    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions" if self.use_chat else f"{self.base_url}/completions"

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        return {"Authorization": f"Bearer {key}"} if key else {}

    def request_body(self, prompt: str, sampling: SamplingConfig) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.served_model,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
        }
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        if self.use_chat:
            body["messages"] = [{"role": "user", "content": prompt}]
            if self.logprobs:
                body["logprobs"] = True
        else:
            body["prompt"] = prompt
            if self.logprobs:
                body["logprobs"] = 1
        return body

    def _generate_one(self, index: int, prompt: str, sampling: SamplingConfig) -> Generation:
        body = self.request_body(prompt, sampling)

        def attempt() -> Generation:
            return parse_reply(post_json(self.url, body, self._headers(), self.timeout_s), self.use_chat)

        return call_with_retries(
            attempt,
            what=f"{self.model}: prompt {index}",
            max_retries=self.max_retries,
            backoff_base_s=self.backoff_base_s,
            sleep=self._sleep,
        )

    def generate(self, prompts: Sequence[str], sampling: SamplingConfig | None = None) -> list[Generation]:
        """One generation per prompt, in the order of the prompts; :class:`BackendError` if any prompt still
        fails after its retries (the other requests in flight are abandoned: nothing partial is returned)."""
        sampling = sampling or SamplingConfig()
        prompts = list(prompts)
        results = map_in_order(
            lambda i, p: self._generate_one(i, p, sampling), prompts, self.max_concurrency, "openai-compat"
        )
        if len(results) != len(prompts):  # pragma: no cover - guards the contract
            raise BackendError(f"{self.model}: {len(results)} results for {len(prompts)} prompts")
        return results
