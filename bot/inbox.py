"""The inbox: each acknowledged command recorded before its work starts, and replayed after a crash.

An adapter records a command's verified payload with `record` (which waits for the write, batched
with every other command arriving at the same moment: one transaction for a burst), acknowledges
it, and runs its work under `run`, which marks it done. A process that dies leaves its unfinished
items leased to it; once the lease runs out, any process serving that platform (this one after a
restart) takes them over and replays them through the adapter's `serve` handler. A replayed command
makes the same job id (the core derives it from the key), so it is never charged twice; a resent
payload finds its key already recorded and is dropped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bot.store import InboxItem, Store
from bot.tasks import TaskSupervisor

log = logging.getLogger(__name__)

Replay = Callable[[InboxItem], Awaitable[object]]
MAX_BATCH = 500
MAX_ATTEMPTS = 3  # a payload whose work kills the process every time is given up after this many
KEEP_SECONDS = 86_400.0  # done keys refuse resends this long (Slack's own replay window is 5 minutes)
RENEW_CHUNK = 500


class InboxUnavailable(Exception):
    """The database could not record the command: the member is asked to try again."""


class Inbox:
    """Records acknowledged commands in batches, leases them while they run, replays the orphaned."""

    def __init__(self, store: Store, supervisor: TaskSupervisor, *, owner: str, lease_seconds: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.supervisor = supervisor
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.clock = clock
        self._pending: list[tuple[InboxItem, asyncio.Future[bool]]] = []
        self._wake = asyncio.Event()
        self._sweep = asyncio.Event()
        self._active: set[str] = set()
        self._handlers: dict[str, Replay] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.replayed = 0
        self.duplicates = 0

    def start(self) -> None:
        """Start the batch writer and the keeper (lease renewal, take-over, pruning)."""
        self._tasks = [self.supervisor.start(self._write_batches(), name="inbox-writer"),
                       self.supervisor.start(self._keep(), name="inbox-keeper")]

    async def aclose(self) -> None:
        """Stop, handing back whatever is unfinished so another process can replay it at once."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        try:
            await self.store.inbox_release(self.owner)
        except Exception:
            log.exception("could not hand back the unfinished inbox items")

    async def record(self, platform: str, kind: str, key: str, payload: Mapping[str, Any] | str) -> bool:
        """Durably record one acknowledged command; False when its key was seen before (a resend).

        Raises InboxUnavailable when the database cannot take it.
        """
        text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((InboxItem(key, platform, kind, text, self.clock()), future))
        self._wake.set()
        fresh = await future
        if not fresh:
            self.duplicates += 1
            log.info("a resent %s %s was dropped (already received)", platform, kind)
        return fresh

    async def run(self, key: str, work: Callable[[], Awaitable[object]]) -> None:
        """Run a recorded command's work, then mark it done (also when it failed: no endless replays)."""
        try:
            await work()
        except asyncio.CancelledError:
            raise  # stopping: left leased, and replayed once the lease is handed back or runs out
        except Exception:
            log.exception("a recorded command failed; it will not be replayed")
        if key in self._active:
            await self._done(key)

    async def mark_done(self, key: str) -> None:
        """Mark a recorded command done now, before its answer is sent (see the adapters' refusals)."""
        if key in self._active:
            await self._done(key)

    def serve(self, platform: str, replay: Replay) -> None:
        """The adapter for `platform` is ready: replay its orphaned commands through `replay`."""
        self._handlers[platform] = replay
        self._sweep.set()

    def unserve(self, platform: str) -> None:
        """Stop taking over `platform`'s commands (its adapter is stopping)."""
        self._handlers.pop(platform, None)

    async def _done(self, key: str) -> None:
        try:
            await self.store.inbox_done(key)
            self._active.discard(key)
        except Exception:
            log.exception("could not mark a recorded command done; it may be replayed")

    async def _write_batches(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                # Everything that arrived while the last batch was being written goes in the next one.
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    fresh = await self.store.inbox_add([item for item, _ in batch], self.owner,
                                                       self.clock() + self.lease_seconds)
                except Exception as exc:
                    log.error("could not record %d command(s): %s", len(batch), type(exc).__name__)
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(InboxUnavailable())
                    continue
                for (item, future), new in zip(batch, fresh, strict=True):
                    if new:
                        self._active.add(item.key)
                    if not future.done():
                        future.set_result(new)

    async def _keep(self) -> None:
        last_prune = 0.0
        while True:
            try:
                await asyncio.wait_for(self._sweep.wait(), self.lease_seconds / 3)
            except TimeoutError:
                pass
            self._sweep.clear()
            try:
                now = self.clock()
                await self._renew(now + self.lease_seconds)
                await self._take_over(now)
                if now - last_prune > 3600:
                    last_prune = now
                    await self.store.inbox_prune(now - KEEP_SECONDS)
            except Exception:
                log.exception("the inbox keeper failed; trying again")

    async def _renew(self, until: float) -> None:
        if self._active:
            await self.store.inbox_renew(self.owner, until)

    async def _take_over(self, now: float) -> None:
        if not self._handlers:
            return
        items = await self.store.inbox_claim(self.owner, list(self._handlers), now, now + self.lease_seconds)
        for item in items:
            self._active.add(item.key)
            if item.attempts > MAX_ATTEMPTS:
                log.error("a %s %s was tried %d times without finishing; given up", item.platform, item.kind,
                          item.attempts - 1)
                await self._done(item.key)
                continue
            handler = self._handlers[item.platform]
            self.replayed += 1
            log.info("replaying a %s %s acknowledged %.0f s ago by a process that stopped", item.platform,
                     item.kind, now - item.received_at)
            self.supervisor.start(self.run(item.key, lambda item=item, handler=handler: handler(item)),
                                  name=f"inbox-replay-{item.key[-12:]}")
        if len(items) >= 100:
            self._sweep.set()  # more are waiting
