"""A model behind an OpenAI-compatible HTTP server (vLLM serve, llama.cpp server, Ollama, TGI, hosted APIs).

The requests go through the official ``openai`` SDK (HTTP, JSON, timeouts, typed errors). Each prompt is retried
by :func:`rgd.llm.backends.retry.call_with_retries` (the loop the Gemini backend shares), not by the SDK, whose
own retries are off (``max_retries=0``): the SDK does not retry a 200 whose body is malformed, and one loop
gives one attempt count and one backoff per prompt. Retried: 408, 429, 5xx, timeouts, dropped connections,
malformed replies; not retried: any other 4xx. At most ``max_concurrency`` requests are in flight. The API key
is read from an environment variable at call time, sent per request, and never logged.
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any, Sequence

import openai
from pydantic import BaseModel

from rgd.errors import ParameterError
from rgd.llm.backends.base import Generation, LLMBackend, SamplingConfig
from rgd.llm.backends.errors import BackendError, RequestTimeout, TransientError
from rgd.llm.backends.parallel import map_in_order
from rgd.llm.backends.retry import call_with_retries, retry_after_s

_BODY_IN_ERRORS = 300  # characters of a server's reply quoted in an error message
# The SDK insists on a key at construction; every request sets (or omits) Authorization itself.
_PER_REQUEST_KEY = "set-per-request"


def _snippet(text: Any) -> str:
    text = str(text).strip().replace("\n", " ")
    return text if len(text) <= _BODY_IN_ERRORS else text[:_BODY_IN_ERRORS] + "..."


def _field(obj: Any, name: str) -> Any:
    """``obj.name`` for an SDK model, ``obj[name]`` for a dict (the SDK builds replies without validating them,
    so the parts of a server's reply that do not fit its types stay plain values), else ``None``."""
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None) if _is_object(obj) else None


def _is_object(obj: Any) -> bool:
    """A JSON object: a dict or one of the SDK's (pydantic) models."""
    return isinstance(obj, (dict, BaseModel))


def mean_logprob(values: Sequence[Any] | None) -> float | None:
    """Mean of the finite token log-probabilities, ``None`` when there are none."""
    if not values:
        return None
    finite = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


def _token_logprobs(choice: Any) -> list[Any] | None:
    """Token log-probabilities from a choice, in either of the two shapes servers use."""
    lp = _field(choice, "logprobs")
    content = _field(lp, "content")
    if isinstance(content, list):  # chat completions: [{"token", "logprob", ...}]
        return [_field(t, "logprob") for t in content]
    token_logprobs = _field(lp, "token_logprobs")
    if isinstance(token_logprobs, list):  # legacy completions
        return token_logprobs
    return None


def parse_reply(reply: Any, chat: bool) -> Generation:
    """The text and mean log-probability of the first choice of a ``ChatCompletion`` / ``Completion`` (or its
    JSON as a dict); :class:`TransientError` when the reply does not have the shape of a completion (a proxy's
    error page, a truncated body)."""
    choices = _field(reply, "choices")
    if not isinstance(choices, list) or not choices or not _is_object(choices[0]):
        raise TransientError(f"reply has no choices: {_snippet(reply)[:200]}")
    choice = choices[0]
    if chat:
        message = _field(choice, "message")
        if not _is_object(message):
            raise TransientError(f"chat reply has no message: {_snippet(choice)[:200]}")
        text = _field(message, "content")
    else:
        text = _field(choice, "text")
    if text is not None and not isinstance(text, str):
        raise TransientError(f"reply text is a {type(text).__name__}, not a string")
    return Generation(text=text or "", mean_logprob=mean_logprob(_token_logprobs(choice)))


class OpenAICompatibleBackend(LLMBackend):
    """One model served over the OpenAI protocol at ``base_url`` (e.g. ``http://127.0.0.1:8000/v1``).

    ``model`` is the name the server knows; ``name`` (default: ``model``) the name of this model in the pool.
    ``api_key_env`` names the environment variable holding the key (``None``: never send one); without the
    variable set, requests carry no ``Authorization`` header (local servers).
    """

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key_env: str | None = "OPENAI_API_KEY",
        max_concurrency: int = 8,
        timeout_s: float = 60,
        max_retries: int = 5,
        timeout_retries: int = 1,
        backoff_base_s: float = 0.5,
        use_chat: bool = True,
        logprobs: bool = True,
        name: str | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ParameterError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if timeout_s <= 0 or max_retries < 0 or timeout_retries < 0 or backoff_base_s < 0:
            raise ParameterError("timeout_s must be > 0, max_retries, timeout_retries and backoff_base_s >= 0")
        if not base_url.startswith(("http://", "https://")):
            raise ParameterError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.served_model = model
        self.model = name or model
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.max_concurrency = max_concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.timeout_retries = timeout_retries
        self.backoff_base_s = backoff_base_s
        self.use_chat = use_chat
        self.logprobs = logprobs
        self._client: openai.OpenAI | None = None  # made at the first call (thread-safe, pools connections)
        self._sleep = time.sleep  # tests replace it to run without waiting

    def __repr__(self) -> str:  # no key in here, ever
        return f"OpenAICompatibleBackend(model={self.served_model!r}, base_url={self.base_url!r})"

    # ------------------------------------------------------------------ requests
    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions" if self.use_chat else f"{self.base_url}/completions"

    def _get_client(self):
        if self._client is None:
            self._client = openai.OpenAI(
                api_key=_PER_REQUEST_KEY, base_url=self.base_url, timeout=self.timeout_s, max_retries=0
            )
        return self._client

    def _auth_headers(self) -> dict[str, Any]:
        """``Authorization`` for one request: the key in ``api_key_env`` now, or no header at all."""
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        return {"Authorization": f"Bearer {key}" if key else openai.Omit()}

    def request_body(self, prompt: str, sampling: SamplingConfig) -> dict[str, Any]:
        """The keyword arguments of ``chat.completions.create`` / ``completions.create`` for one prompt."""
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

    def _request(self, client: Any, body: dict[str, Any]) -> Generation:
        """One request, its failures sorted: :class:`TransientError` for what a retry may fix,
        :class:`BackendError` for what it cannot. Header values (the key) never appear in a message."""
        url = self.url
        endpoint = client.chat.completions if self.use_chat else client.completions
        try:
            reply = endpoint.create(**body, extra_headers=self._auth_headers())
        except openai.APITimeoutError:
            raise RequestTimeout(f"timed out after {self.timeout_s}s waiting for {url}") from None
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            if "Connect" in type(cause).__name__:  # httpx's ConnectError: nothing listens there
                raise TransientError(f"cannot connect to {url}: {cause}") from None
            raise TransientError(f"connection to {url} failed mid-request: {type(cause).__name__}: {cause}") from None
        except openai.APIStatusError as exc:
            code, detail = exc.status_code, _snippet(exc.response.text)
            if code in (408, 429) or code >= 500:
                raise TransientError(f"HTTP {code} from {url}: {detail}", retry_after_s(exc.response.headers)) from None
            hint = " (check the API key environment variable)" if code in (401, 403) else ""
            raise BackendError(f"{self.model}: HTTP {code} from {url}{hint}: {detail}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raw = exc.doc if isinstance(exc, json.JSONDecodeError) else exc.object
            raise TransientError(f"malformed JSON from {url} ({exc}): {_snippet(raw)}") from None
        except openai.OpenAIError as exc:
            raise BackendError(f"{self.model}: request to {url} failed: {type(exc).__name__}: {exc}") from None
        if isinstance(reply, str):  # the SDK hands back the text of a reply that is not JSON
            raise TransientError(f"malformed JSON from {url}: {_snippet(reply)}")
        return parse_reply(reply, self.use_chat)

    def _generate_one(self, client: Any, index: int, prompt: str, sampling: SamplingConfig) -> Generation:
        body = self.request_body(prompt, sampling)
        return call_with_retries(
            lambda: self._request(client, body),
            what=f"{self.model}: prompt {index}",
            max_retries=self.max_retries,
            backoff_base_s=self.backoff_base_s,
            sleep=self._sleep,
            max_timeout_retries=self.timeout_retries,
            timeout_hint=f"; raise params.timeout_s (now {self.timeout_s:g} s) or lower the call's max_tokens "
                         f"({sampling.max_tokens}: respond.max_tokens, generation.max_tokens or "
                         "generation.self_answer_max_tokens)",
        )

    def generate(self, prompts: Sequence[str], sampling: SamplingConfig | None = None) -> list[Generation]:
        """One generation per prompt, in the order of the prompts; :class:`BackendError` if any prompt still
        fails after its retries (the other requests in flight are abandoned: nothing partial is returned)."""
        sampling = sampling or SamplingConfig()
        prompts = list(prompts)
        if not prompts:
            return []
        client = self._get_client()
        results = map_in_order(
            lambda i, p: self._generate_one(client, i, p, sampling), prompts, self.max_concurrency, "openai-compat"
        )
        if len(results) != len(prompts):  # pragma: no cover - guards the contract
            raise BackendError(f"{self.model}: {len(results)} results for {len(prompts)} prompts")
        return results
