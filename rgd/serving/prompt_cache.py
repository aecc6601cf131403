"""The served router's results for questions it has seen: a repeated prompt is not embedded again.

What a router version computes for a question (its scores, correctness scores, warning and coverage) depends on
the text alone, so it is kept per version (:class:`~rgd.serving.reload.LoadedRouter` owns one; a new version
starts empty), least recently used out first, ``routing.prompt_cache_size`` entries (0: off). Only a request's
own ranking at its cost weight is computed again. Keys are the question texts and stay in the process's memory,
never in logs or metrics.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Generic, Hashable, TypeVar

V = TypeVar("V")

#: entries kept by default: a few MB for MiniLM (two score rows of the pool a question, and its text)
PROMPT_CACHE_SIZE = 4096


class PromptCache(Generic[V]):
    """An LRU map of ``size`` entries; ``on_lookup(hit)`` is told of every :meth:`get` (the metrics)."""

    def __init__(self, size: int = PROMPT_CACHE_SIZE, on_lookup: Callable[[bool], None] | None = None) -> None:
        self.size = size
        self.on_lookup = on_lookup
        self._items: OrderedDict[Hashable, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> V | None:
        if self.size <= 0:
            return None
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        if self.on_lookup is not None:
            self.on_lookup(value is not None)
        return value

    def put(self, key: Hashable, value: V) -> None:
        if self.size <= 0:
            return
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
