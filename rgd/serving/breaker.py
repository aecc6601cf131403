"""A per-upstream circuit breaker: after N consecutive failures an endpoint gets no traffic for a while.

Closed (normal) -> open after ``failure_threshold`` consecutive failures -> after ``open_s`` seconds one
trial request is let through (half-open): its success closes the circuit, its failure opens it again.
Time comes from ``clock`` (``time.monotonic``), so tests can drive it. Not thread-safe by design: the gateway
uses it from its one event loop.
"""

from __future__ import annotations

import time
from typing import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    def __init__(self, failure_threshold: int = 3, open_s: float = 10.0, clock: Callable[[], float] = time.monotonic):
        if failure_threshold < 1 or open_s <= 0:
            raise ValueError("failure_threshold must be >= 1 and open_s > 0")
        self.failure_threshold = failure_threshold
        self.open_s = open_s
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self.trial_in_flight = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return CLOSED
        return HALF_OPEN if self.clock() - self.opened_at >= self.open_s else OPEN

    def allow(self) -> bool:
        """May a request go to this upstream now? (In half-open state only one trial at a time.)"""
        state = self.state
        if state == CLOSED:
            return True
        if state == HALF_OPEN and not self.trial_in_flight:
            self.trial_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.trial_in_flight = False

    def record_failure(self) -> bool:
        """Count a failure; True when this failure opened (or re-opened) the circuit."""
        self.failures += 1
        was_trial = self.trial_in_flight
        self.trial_in_flight = False
        if was_trial or (self.opened_at is None and self.failures >= self.failure_threshold):
            self.opened_at = self.clock()
            return True
        return False
