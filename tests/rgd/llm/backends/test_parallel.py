"""map_in_order: results in order, the first failure raised, nothing started after a failure."""

from __future__ import annotations

import threading
import time

import pytest

from rgd.llm.backends.parallel import map_in_order


def test_results_keep_the_items_order():
    assert map_in_order(lambda i, x: (time.sleep(0.01 * (5 - i)), x * 2)[1], [1, 2, 3, 4, 5], 3) == [2, 4, 6, 8, 10]


def test_no_call_starts_after_one_failed():
    started = []

    def fn(i, x):
        started.append(i)
        if i == 0:
            raise RuntimeError("first one fails")
        return x

    for _ in range(20):  # the race it closes: a freed worker picking the next item before the caller sees the error
        started.clear()
        with pytest.raises(RuntimeError, match="first one fails"):
            map_in_order(fn, list(range(6)), max_concurrency=1)
        assert started == [0]


def test_a_worker_freed_by_a_failure_starts_nothing_new():
    started = []

    def fn(i, x):
        started.append(i)
        if i == 0:
            time.sleep(0.3)  # the caller waits on this one while item 1 fails and frees its worker
            return x
        raise RuntimeError(f"item {i} fails")

    with pytest.raises(RuntimeError, match="item 1 fails"):
        map_in_order(fn, list(range(6)), max_concurrency=2)
    assert sorted(started) == [0, 1]


def test_the_failure_raised_is_a_real_one_even_when_earlier_items_were_skipped():
    gate = threading.Event()

    def fn(i, x):
        if i == 1:
            raise ValueError("second fails first")
        gate.wait(0.2)  # item 0 is still running when item 1 fails
        return x

    with pytest.raises(ValueError, match="second fails first"):
        map_in_order(fn, [0, 1, 2, 3], max_concurrency=2)
