"""The one secret detector: which keys name a credential, which values look like one, which URLs carry one.

Used by the run config (a plain-text secret is refused, with the field and the environment variable to use
instead), by the MLflow layer (secret-looking params and tags are never logged) and by ``rgd k8s check``
(literal secrets in Kubernetes run configs). Secrets come from the environment or Kubernetes Secrets only.

A key looks secret when any part of its dotted path contains ``key``, ``token``, ``secret``, ``password``,
``passwd``, ``credential`` or ``auth``; counts such as ``max_tokens`` and words such as ``tokenizer`` or
``keywords`` are not secrets, and a key ending in ``_env`` names an environment variable, not a value.
A value looks secret when it matches a known token format (``sk-...``, ``hf_...``, GitHub, Google, Slack, AWS
access key ids, bearer headers, private keys) or is a URL with credentials in it (``https://user:pass@host``,
or a ``?api_key=``/``token=``/``password=`` query parameter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

SECRET_WORDS = frozenset({"key", "apikey", "token", "secret", "password", "passwd", "passphrase", "credential",
                          "credentials", "auth", "privatekey"})
VALUE_PATTERNS = {
    "an OpenAI-style API key": re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"),
    "a Hugging Face token": re.compile(r"\bhf_[A-Za-z0-9]{8,}"),
    "a GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{8,}"),
    "a Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{20,}"),
    "a Slack token": re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{8,}"),
    "an AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "a bearer token": re.compile(r"^\s*Bearer\s+\S+", re.IGNORECASE),
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "credentials inside a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@?#]*:[^/\s@?#]+@", re.IGNORECASE),
    "a secret in a URL's query": re.compile(
        r"\b[a-z][a-z0-9+.-]*://\S*[?&](api[_-]?key|key|token|access[_-]?token|secret|password|passwd|sig)=[^&\s]+",
        re.IGNORECASE),
}
# "{{ secret_name.key }}": resolved by ZenML from its secret store at run time, or "$(VAR)"/"${VAR}": by the shell
# or Kubernetes from the environment; not plain-text values
_REFERENCE = re.compile(r"^\s*(\{\{\s*[\w.-]+\s*\}\}|\$\(?\{?[A-Za-z_][A-Za-z0-9_]*\}?\)?)\s*$")


def _words(part: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", part)  # camelCase -> camel_Case
    return [w for w in re.split(r"[_\-\s]+", spaced.lower()) if w]


def is_secret_key(key: str) -> bool:
    """True when a word of any dotted part of ``key`` names a credential (``api_key``, ``HF_TOKEN``,
    ``client_secret``, ``auth_header``); ``max_tokens``, ``tokenizer`` and ``api_key_env`` (the name of an
    environment variable) are not secrets."""
    for part in re.split(r"[./\[\]]", str(key)):
        words = _words(part)
        if words and words[-1] == "env":
            continue
        if SECRET_WORDS & set(words):
            return True
    return False


def secret_value_kind(value: Any) -> str | None:
    """What kind of credential ``value`` looks like ("an OpenAI-style API key", "credentials inside a URL"...)."""
    if not isinstance(value, str) or _REFERENCE.match(value):
        return None
    for what, pattern in VALUE_PATTERNS.items():
        if pattern.search(value):
            return what
    return None


def key_shaped(value: Any) -> bool:
    """True when a value given as an environment variable's *name* (``api_key_env``) looks like the key itself: a
    known token format, or a part between underscores of 16 or more letters and digits mixing both
    (``sk_live_4eC39HqLyjWDarjtT1zdp7dc``), which names made of words joined by ``_`` do not have."""
    if not isinstance(value, str):
        return False
    if secret_value_kind(value):
        return True
    return any(len(part) >= 16 and re.search(r"\d", part) and re.search(r"[A-Za-z]", part)
               for part in value.split("_"))


def looks_like_secret_value(value: Any) -> bool:
    return secret_value_kind(value) is not None


def is_reference(value: Any) -> bool:
    """A ZenML secret reference or an environment variable reference, not a literal."""
    return isinstance(value, str) and bool(_REFERENCE.match(value))


@dataclass(frozen=True)
class SecretFinding:
    path: tuple[Any, ...]
    reason: str
    instead: str

    @property
    def field(self) -> str:
        return dotted(self.path)

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}; {self.instead}"


def dotted(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or "(top level)"


#: the environment variable each known secret field is read from instead (rgd.llm backends, MLflow)
ENV_FOR = {
    "api_key": "OPENAI_API_KEY (or the variable named by `api_key_env`; Gemini: GEMINI_API_KEY)",
    "hf_token": "HF_TOKEN",
    "token": "HF_TOKEN (Hugging Face) or the backend's key variable, named by `api_key_env`",
}


def env_instead(path: tuple[Any, ...], reason: str) -> str:
    """Where the secret belongs: the environment variable to set instead of the literal."""
    key = str(path[-1]).lower() if path else ""
    if reason.startswith(("credentials inside a URL", "a secret in a URL")):
        if "tracking_uri" in key:
            return ("remove them from the URL and set MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD (or "
                    "MLFLOW_TRACKING_TOKEN) in the environment")
        return ("remove them from the URL and set the key in an environment variable (OPENAI_API_KEY, or the one "
                "named by the backend's `api_key_env`)")
    if key in ENV_FOR:
        return f"set it in the environment instead: {ENV_FOR[key]}"
    if "gemini" in dotted(path).lower():
        return "set it in the environment instead: GEMINI_API_KEY"
    return ("set it in an environment variable instead (for a backend key: OPENAI_API_KEY, or the variable "
            "named by `api_key_env`) and leave it out of the file")


def find_plaintext_secrets(data: Any, path: tuple[Any, ...] = ()) -> list[SecretFinding]:
    """Every literal secret in a config tree: a secret-named key with a literal value, or a secret-looking value."""
    out: list[SecretFinding] = []
    if isinstance(data, dict):
        for key, value in data.items():
            where = path + (key,)
            if (is_secret_key(str(key)) and isinstance(value, (str, int, float)) and not isinstance(value, bool)
                    and str(value).strip() and not is_reference(value)):
                reason = f"{key!r} holds a secret in plain text"
                out.append(SecretFinding(where, reason, env_instead(where, reason)))
            else:
                out.extend(find_plaintext_secrets(value, where))
    elif isinstance(data, (list, tuple)):
        for i, value in enumerate(data):
            out.extend(find_plaintext_secrets(value, path + (i,)))
    else:
        kind = secret_value_kind(data)
        if kind:
            reason = f"this value looks like {kind}"
            out.append(SecretFinding(path, reason, env_instead(path, kind)))
    return out
