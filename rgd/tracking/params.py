"""Turning configs into MLflow params and tags: flattened, sanitised, truncated, secrets dropped.

Secret-looking keys and values are dropped, as :mod:`rgd.secrets` (the one secret detector) decides: keys
naming a credential (``api_key``, ``hf_token``; not ``max_tokens``), values that look like one (``sk-...``,
``hf_...``, bearer headers, private keys, URLs with credentials). Dropped entries are reported by name only,
never by value.
"""

from __future__ import annotations

import json
import logging
import math
import re
from typing import Any, Mapping

from rgd.secrets import is_secret_key, looks_like_secret_value

log = logging.getLogger(__name__)

MAX_PARAM_LENGTH = 500  # well under MLflow's limit, so params stay readable in the UI
MAX_TAG_LENGTH = 5000  # MLflow's limit for model version tags
_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_\-. /]")


def safe_name(key: str) -> str:
    """An MLflow-legal param/metric/tag name (letters, digits, ``_ - . / space``)."""
    return _BAD_NAME_CHARS.sub("_", str(key)).strip() or "_"


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings to dotted keys; lists of scalars stay one value, lists of mappings get indices."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            if value:
                out.update(flatten(value, name))
            else:
                out[name] = "{}"
        elif isinstance(value, (list, tuple)) and any(isinstance(v, Mapping) for v in value):
            for i, v in enumerate(value):
                if isinstance(v, Mapping):
                    out.update(flatten(v, f"{name}.{i}"))
                else:
                    out[f"{name}.{i}"] = v
        else:
            out[name] = value
    return out


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def clean_entries(entries: Mapping[str, Any], *, limit: int, what: str) -> dict[str, str]:
    """Flatten, drop secrets, sanitise names, stringify and truncate values."""
    flat = flatten(entries)
    dropped = [k for k, v in flat.items() if is_secret_key(k) or looks_like_secret_value(v)]
    if dropped:
        log.warning("not logging %d secret-looking %s: %s", len(dropped), what, sorted(dropped))
    return {
        _truncate(safe_name(k), 250): _truncate(_as_text(v), limit)
        for k, v in flat.items()
        if k not in dropped
    }


def clean_params(params: Mapping[str, Any]) -> dict[str, str]:
    return clean_entries(params, limit=MAX_PARAM_LENGTH, what="params")


def clean_tags(tags: Mapping[str, Any]) -> dict[str, str]:
    return clean_entries(tags, limit=MAX_TAG_LENGTH, what="tags")


def clean_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Flatten nested metric dicts (``per_subject.algebra.top1``), keep numbers only, sanitise names."""
    out: dict[str, float] = {}
    for k, v in flatten(metrics).items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        v = float(v)
        if math.isfinite(v):
            out[safe_name(k)] = v
    return out
