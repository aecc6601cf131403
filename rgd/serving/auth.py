"""Client API keys: ``Authorization: Bearer <key>`` checked in constant time against every configured key."""

from __future__ import annotations

import hashlib
import hmac


class KeyChecker:
    def __init__(self, keys: list[str]) -> None:
        # compare digests of equal length: the time taken does not depend on where a guess goes wrong
        self._digests = [(hashlib.sha256(k.encode("utf-8")).digest(), f"key{i}") for i, k in enumerate(keys)]

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def identify(self, authorization: str | None) -> str | None:
        """The matching key's id (``key0``, ``key1``...; never the key itself) or None."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        given = hashlib.sha256(authorization[7:].strip().encode("utf-8")).digest()
        found = None
        for digest, key_id in self._digests:  # no early exit: every key is compared
            if hmac.compare_digest(digest, given):
                found = key_id
        return found
