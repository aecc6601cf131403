"""Running one call per item on a bounded thread pool, results in the items' order."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Skipped(Exception):
    """A call not started because another one had already failed."""


def map_in_order(fn: Callable[[int, T], R], items: Sequence[T], max_concurrency: int, name: str = "backend") -> list[R]:
    """``[fn(0, items[0]), fn(1, items[1]), ...]`` with at most ``max_concurrency`` calls at once.

    The first failure (in the items' order among those that failed) is re-raised, and once a call has failed
    no further call starts (a worker that frees up does not pick the next item): a caller gets every result or
    none, never a partial list, and a failing endpoint is not asked again for the rest of the batch.
    """
    items = list(items)
    if not items:
        return []
    failed = threading.Event()

    def call(i: int, item: T) -> R:
        if failed.is_set():
            raise _Skipped
        try:
            return fn(i, item)
        except BaseException:
            failed.set()
            raise

    pool = ThreadPoolExecutor(max_workers=max(1, min(max_concurrency, len(items))), thread_name_prefix=name)
    futures = [pool.submit(call, i, item) for i, item in enumerate(items)]
    results: list[R] = []
    error: BaseException | None = None
    for f in futures:
        try:
            results.append(f.result())
        except _Skipped:
            continue  # explained by the failure of another call, raised below
        except BaseException as exc:  # noqa: BLE001 - re-raised as it is
            error = exc
            break
    if error is None and len(results) < len(items):  # every failure came after a skipped item: find it
        error = next(exc for f in futures if (exc := f.exception()) is not None and not isinstance(exc, _Skipped))
    if error is not None:
        pool.shutdown(wait=False, cancel_futures=True)
        raise error
    pool.shutdown(wait=True)
    return results
