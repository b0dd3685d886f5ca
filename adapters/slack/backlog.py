"""The work each Slack request starts after its acknowledgement: a few at a time, urgent items first."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable

from bot.tasks import TaskSupervisor

log = logging.getLogger(__name__)

Work = Callable[[], Awaitable[object]]
URGENT, NORMAL = 0, 1
QUIET = 0.005  # work starts once no request has come in for this long...
MAX_HOLD = 0.5  # ...or once it has waited this long, so a steady stream of requests cannot starve it


class AfterAck:
    """A bounded pool for follow-up work, so a burst of requests is all acknowledged first.

    Slack waits 3 s for each acknowledgement. If the follow-up work of every request in a burst
    ran at once, it would share the event loop with the acknowledgements still to be sent; with
    a few workers the loop stays free for them. Work bound to a trigger_id (opening a modal, valid
    3 s) is urgent and goes before the queue.
    """

    def __init__(self, supervisor: TaskSupervisor, workers: int = 16) -> None:
        self._supervisor = supervisor
        self._count = workers
        self._queue: asyncio.PriorityQueue[tuple[int, int, float, Work]] = asyncio.PriorityQueue()
        self._last_arrival = 0.0
        self._order = itertools.count()
        self._workers: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Start the workers."""
        self._workers = [self._supervisor.start(self._work(), name=f"slack-after-ack-{i}")
                         for i in range(self._count)]

    def arrived(self) -> None:
        """Note that a request has just come in (its acknowledgement is on the way)."""
        self._last_arrival = asyncio.get_running_loop().time()

    def put(self, work: Work, *, urgent: bool = False) -> None:
        """Queue `work` (a coroutine function) to run after the acknowledgements pending now."""
        now = asyncio.get_running_loop().time()
        self._queue.put_nowait((URGENT if urgent else NORMAL, next(self._order), now, work))

    @property
    def waiting(self) -> int:
        """Items queued and not yet taken by a worker."""
        return self._queue.qsize()

    async def drain(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for everything queued to finish; True if it did."""
        try:
            await asyncio.wait_for(self._queue.join(), timeout)
            return True
        except TimeoutError:
            return False

    async def aclose(self) -> None:
        """Stop the workers (whatever is still queued is dropped)."""
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    async def _work(self) -> None:
        while True:
            _, _, queued_at, work = await self._queue.get()
            try:
                await self._quiet(queued_at)
                await work()
            except Exception:
                log.exception("work after a Slack acknowledgement failed")
            finally:
                self._queue.task_done()

    async def _quiet(self, queued_at: float) -> None:
        # A burst arrives over a few milliseconds: let it be acknowledged before any follow-up work runs.
        # (This waits for the absence of arrivals, which no Event can signal: hence the timed re-check.)
        loop = asyncio.get_running_loop()
        while (now := loop.time()) - self._last_arrival < QUIET and now - queued_at < MAX_HOLD:  # noqa: ASYNC110
            await asyncio.sleep(QUIET)
