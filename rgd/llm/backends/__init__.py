"""LLM backends behind one interface (see :mod:`rgd.llm.backends.base`).

``make_backend(kind, **params)`` builds one from configuration; every backend module is imported only when
its kind is asked for, so optional extras (vllm, google-genai) are needed only by those who use them.
"""

from __future__ import annotations

import importlib
from typing import Any

from rgd.errors import ParameterError
from rgd.llm.backends.base import Generation, LLMBackend, SamplingConfig
from rgd.llm.backends.errors import BackendError
from rgd.params import check_param_types

# kind -> (module, class)
BACKENDS: dict[str, tuple[str, str]] = {
    "vllm": ("rgd.llm.backends.vllm_backend", "VLLMBackend"),
    "openai": ("rgd.llm.backends.openai_compat", "OpenAICompatibleBackend"),
    "gemini": ("rgd.llm.backends.gemini", "GeminiBackend"),
    "recorded": ("rgd.llm.backends.recorded", "RecordedBackend"),
    "simulated": ("rgd.simulated.pool", "SimulatedModel"),
}

#: backend parameters that change how a model is reached, never what it answers: they are left out of the
#: identity that keys answer checkpoints (a longer timeout reuses the answers; another base_url does not)
TRANSPORT_PARAMS = frozenset({"timeout_s", "max_retries", "timeout_retries", "backoff_base_s", "max_concurrency",
                              "api_key_env", "download_dir", "gpu_memory_utilization", "client"})


def backend_class(kind: str) -> type:
    """The class of a backend kind (its module imported now)."""
    if kind not in BACKENDS:
        raise ParameterError(f"unknown backend kind {kind!r}; choose one of {sorted(BACKENDS)}")
    module_name, class_name = BACKENDS[kind]
    return getattr(importlib.import_module(module_name), class_name)


def make_backend(kind: str, **params: Any) -> LLMBackend:
    """A backend of the given kind (``vllm``, ``openai``, ``gemini``, ``recorded``, ``simulated``), built
    with ``params`` as keyword arguments of its class."""
    cls = backend_class(kind)
    class_name = cls.__name__
    check_param_types(cls, params, f"backend {kind!r} ({class_name})")
    try:
        return cls(**params)
    except TypeError as exc:
        raise ParameterError(f"bad parameters for backend {kind!r} ({class_name}): {exc}") from None


def check_backend(kind: str, model: str, params: dict[str, Any], what: str) -> None:
    """The parameters of a backend, checked without loading a model: they must fit its constructor, and a
    backend that is cheap to construct (the OpenAI-compatible one: no connection is made) is constructed."""
    import inspect

    cls = backend_class(kind)
    check_param_types(cls, {"model": model, **params}, f"{what}: {kind} backend")
    try:
        inspect.signature(cls).bind(model=model, **params)
    except TypeError as exc:
        allowed = [p for p in inspect.signature(cls).parameters if p not in ("self", "model")]
        raise ParameterError(f"{what}: bad {kind} backend parameters ({exc}); allowed: {', '.join(allowed)}") from None
    if kind == "openai":
        try:
            cls(model=model, **params)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"{what}: {exc}") from None


__all__ = ["BACKENDS", "TRANSPORT_PARAMS", "BackendError", "Generation", "LLMBackend", "SamplingConfig", "backend_class",
           "check_backend", "make_backend"]
