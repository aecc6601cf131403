"""Config -> MLflow params/tags/metrics: flattened, sanitised, truncated, and never a secret."""

from __future__ import annotations

from rgd.tracking.params import (
    MAX_PARAM_LENGTH,
    clean_metrics,
    clean_params,
    flatten,
    is_secret_key,
    safe_name,
)


def test_flatten_nests_with_dots_and_indexes_lists_of_mappings():
    flat = flatten({"a": {"b": 1, "c": {"d": "x"}}, "pool": ["m1", "m2"], "steps": [{"n": 1}, {"n": 2}], "e": {}})
    assert flat == {"a.b": 1, "a.c.d": "x", "pool": ["m1", "m2"], "steps.0.n": 1, "steps.1.n": 2, "e": "{}"}


def test_secret_keys_are_recognised_but_token_counts_are_not():
    for key in ("api_key", "backend.openai.API_KEY", "hf_token", "gemini.token", "db.password", "client_secret",
                "aws.secret_access_key", "passwd", "auth_header", "credentials.file"):
        assert is_secret_key(key), key
    for key in ("max_tokens", "sampling.max_new_tokens", "tokenizer", "temperature", "pool.models", "n_tokens"):
        assert not is_secret_key(key), key


def test_clean_params_drops_secrets_by_key_and_by_value(caplog):
    params = {
        "generator": {"model": "gemma", "api_key": "abc123", "max_tokens": 512},
        "backend": {"headers": "Bearer eyJhbGciOi"},
        "openai_base": "sk-proj-0123456789abcdef",
        "threshold": 0.5,
    }
    out = clean_params(params)
    assert out == {"generator.model": "gemma", "generator.max_tokens": "512", "threshold": "0.5"}
    logged = caplog.text
    assert "generator.api_key" in logged and "abc123" not in logged and "sk-proj" not in logged


def test_long_values_are_truncated_and_names_sanitised():
    out = clean_params({"subjects": ["x" * 40] * 50, "weird name (µ)": [1, 2]})
    assert len(out["subjects"]) == MAX_PARAM_LENGTH and out["subjects"].endswith("...")
    assert out["weird name ___"] == "[1, 2]"
    assert safe_name("a:b/c d") == "a_b/c d"


def test_clean_metrics_flattens_and_keeps_finite_numbers():
    m = clean_metrics({"top1": 0.61, "per_subject": {"law (US)": {"top1": 0.5, "n": 12}}, "ok": True,
                       "nan": float("nan"), "name": "x"})
    assert m == {"top1": 0.61, "per_subject.law _US_.top1": 0.5, "per_subject.law _US_.n": 12.0}
