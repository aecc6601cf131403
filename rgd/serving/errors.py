"""OpenAI-style error responses: ``{"error": {"message", "type", "param", "code"}}`` with the HTTP status."""

from __future__ import annotations

import json
from typing import Any

from rgd.errors import RGDError


class GatewayError(RGDError):
    """A request the gateway answers with an OpenAI-style error (its HTTP status, type and code)."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type, code, param
        self.headers = headers or {}

    def body(self) -> bytes:
        return error_body(self.message, self.type, self.code, self.param)


def error_body(message: str, type: str, code: str | None = None, param: str | None = None) -> bytes:
    doc: dict[str, Any] = {"error": {"message": message, "type": type, "param": param, "code": code}}
    return json.dumps(doc).encode("utf-8")
