"""Running one call per item on a bounded thread pool, results in the items' order."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_in_order(fn: Callable[[int, T], R], items: Sequence[T], max_concurrency: int, name: str = "backend") -> list[R]:
    """``[fn(0, items[0]), fn(1, items[1]), ...]`` with at most ``max_concurrency`` calls at once.

    The first exception is re-raised and the calls not yet started are cancelled: a caller gets every result
    or none, never a partial list.
    """
    items = list(items)
    if not items:
        return []
    pool = ThreadPoolExecutor(max_workers=max(1, min(max_concurrency, len(items))), thread_name_prefix=name)
    try:
        futures = [pool.submit(fn, i, item) for i, item in enumerate(items)]
        results = [f.result() for f in futures]
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results
