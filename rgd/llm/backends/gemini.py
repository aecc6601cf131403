"""A Gemini model through the ``google-genai`` SDK (optional extra ``gemini``); key from ``GEMINI_API_KEY``."""

from __future__ import annotations

import math
import os
import time
from typing import Any, Sequence

from rgd.llm.backends.base import Generation, LLMBackend, SamplingConfig
from rgd.llm.backends.errors import BackendError, TransientError
from rgd.llm.backends.parallel import map_in_order
from rgd.llm.backends.retry import call_with_retries


def _import_genai():
    try:
        from google import genai
        from google.genai import errors, types
    except ImportError as exc:
        raise ImportError("GeminiBackend needs google-genai: pip install 'rgd-router[gemini]'") from exc
    return genai, types, errors


def response_generation(response: Any) -> Generation:
    """Text and mean token log-probability of a ``GenerateContentResponse``'s first candidate.

    The mean comes from the chosen tokens' log-probabilities when the response has them
    (``response_logprobs=True``), else from the candidate's ``avg_logprobs``; ``None`` when neither is there.
    A response without candidates (a blocked prompt) has empty text.
    """
    candidates = getattr(response, "candidates", None) or []
    if not candidates:
        return Generation(text="", mean_logprob=None)
    cand = candidates[0]
    parts = getattr(getattr(cand, "content", None), "parts", None) or []
    text = "".join(p.text for p in parts if getattr(p, "text", None) and not getattr(p, "thought", False))
    mean = None
    chosen = getattr(getattr(cand, "logprobs_result", None), "chosen_candidates", None) or []
    values = [c.log_probability for c in chosen if c.log_probability is not None and math.isfinite(c.log_probability)]
    if values:
        mean = sum(values) / len(values)
    elif cand.avg_logprobs is not None and math.isfinite(cand.avg_logprobs):
        mean = float(cand.avg_logprobs)
    return Generation(text=text, mean_logprob=mean)


class GeminiBackend(LLMBackend):
    """One Gemini model. ``client`` (a ``google.genai.Client`` or anything with ``models.generate_content``)
    is made from the key in ``api_key_env`` at the first call when not given."""

    def __init__(
        self,
        model: str,
        api_key_env: str = "GEMINI_API_KEY",
        max_concurrency: int = 4,
        max_retries: int = 5,
        backoff_base_s: float = 1.0,
        logprobs: bool = True,
        client: Any = None,
        name: str | None = None,
    ) -> None:
        self._genai, self._types, self._errors = _import_genai()
        self.served_model = model
        self.model = name or model
        self.api_key_env = api_key_env
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.logprobs = logprobs
        self._client = client
        self._sleep = time.sleep

    def __repr__(self) -> str:
        return f"GeminiBackend(model={self.served_model!r})"

    def _get_client(self):
        if self._client is None:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise BackendError(f"GeminiBackend: environment variable {self.api_key_env} is not set")
            self._client = self._genai.Client(api_key=key)
        return self._client

    def config(self, sampling: SamplingConfig):
        return self._types.GenerateContentConfig(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_output_tokens=sampling.max_tokens,
            seed=sampling.seed,
            response_logprobs=self.logprobs or None,
        )

    def _generate_one(self, index: int, prompt: str, config: Any) -> Generation:
        client = self._get_client()

        def attempt() -> Generation:
            try:
                response = client.models.generate_content(model=self.served_model, contents=prompt, config=config)
            except self._errors.APIError as exc:
                code = getattr(exc, "code", None) or 0
                if code == 429 or code >= 500:
                    raise TransientError(f"Gemini API error {code}: {exc.message or exc.status}") from None
                raise BackendError(f"{self.model}: Gemini API error {code}: {exc.message or exc.status}") from None
            except (TimeoutError, ConnectionError) as exc:
                raise TransientError(f"{type(exc).__name__}: {exc}") from None
            return response_generation(response)

        return call_with_retries(
            attempt,
            what=f"{self.model}: prompt {index}",
            max_retries=self.max_retries,
            backoff_base_s=self.backoff_base_s,
            sleep=self._sleep,
        )

    def generate(self, prompts: Sequence[str], sampling: SamplingConfig | None = None) -> list[Generation]:
        config = self.config(sampling or SamplingConfig())
        return map_in_order(lambda i, p: self._generate_one(i, p, config), list(prompts), self.max_concurrency, "gemini")
