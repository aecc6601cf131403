"""Micro-batching: concurrent questions are ranked in one embedder call instead of one call each.

One worker per batcher takes the first waiting question, waits up to ``window_s`` for more (or until
``max_batch`` are waiting), and ranks them all in one call: on a worker thread for an embedder that releases
the GIL (torch: the event loop keeps serving while it embeds), or ``inline`` on the event loop for one that
would hold the GIL anyway (TF-IDF: a thread only adds a handoff and GIL switches; measured in
benchmarks/README.md). Questions that arrive while a batch is being ranked form the next batch, so under load
batches grow without any extra wait.
"""

from __future__ import annotations

import asyncio
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Generic, Sequence, TypeVar

T = TypeVar("T")

#: the default batching window: long enough for concurrent questions to join, short beside one embedding call
WINDOW_S = 0.002


class MicroBatcher(Generic[T]):
    def __init__(
        self,
        fn: Callable[[Sequence[str]], list[T]],
        window_s: float = WINDOW_S,
        max_batch: int = 64,
        on_batch: Callable[[int, float], None] | None = None,
        inline: bool = False,
    ) -> None:
        self.fn = fn
        self.inline = inline
        self.window_s = window_s
        self.max_batch = max_batch
        self.on_batch = on_batch
        self._pending: deque[tuple[str, asyncio.Future]] = deque()
        self._wakeup: asyncio.Future | None = None  # set while the worker waits for a first question
        self._worker: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rgd-router")

    async def submit(self, text: str) -> T:
        loop = asyncio.get_running_loop()
        if self._worker is None:
            self._worker = loop.create_task(self._run())
        future = loop.create_future()
        self._pending.append((text, future))
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        pending = self._pending
        while True:
            if not pending:
                self._wakeup = loop.create_future()
                await self._wakeup
                self._wakeup = None
            if self.window_s > 0 and len(pending) < self.max_batch:
                await asyncio.sleep(self.window_s)  # let concurrent questions join this batch
            batch = [pending.popleft() for _ in range(min(self.max_batch, len(pending)))]
            texts = [t for t, _ in batch]
            start = loop.time()
            try:
                if self.inline:
                    results = self.fn(texts)
                else:
                    results = await loop.run_in_executor(self._executor, self.fn, texts)
            except Exception as exc:  # noqa: BLE001 - handed to every waiting request
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            if self.on_batch is not None:
                self.on_batch(len(batch), loop.time() - start)
            for (_, fut), result in zip(batch, results):
                if not fut.done():
                    fut.set_result(result)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
