"""Status edits for rate-limited platforms: the newest per job, sent in order of importance under the budget.

Several edits of one message collapse into the latest. A job's final status goes first and is never
dropped; a change of stage or place comes next; an edit that would only move the elapsed time goes
when the budget has room, and is skipped when it is tight.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.budget import PlatformBudget, RateLimited
from bot.metrics import Metrics
from bot.ports import ChatPort, MessageRef, StatusView, ThreadRef

log = logging.getLogger(__name__)

FINAL, CHANGE, ELAPSED = 0, 1, 2  # ranks, most important first


@dataclass
class _Edit:
    port: ChatPort
    to: ThreadRef
    ref: MessageRef
    view: StatusView
    rank: int
    since: float


class StatusEdits:
    """Pending status edits, one per job; `pump` sends them when each scope's budget allows."""

    def __init__(self, budget: PlatformBudget, *, clock: Callable[[], float], metrics: Metrics,
                 on_final: Callable[[str], Awaitable[None]] | None = None) -> None:
        self.budget = budget
        self.on_final = on_final  # told when a job's final status has gone out (or cannot: message gone)
        self.clock = clock
        self.metrics = metrics
        self._pending: dict[str, _Edit] = {}
        self._shown: dict[str, tuple[str, int | None]] = {}  # job id -> (status, place) last sent
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # one pump at a time (the background task, a flush)
        self.sent = self.skipped = self.collapsed = 0

    @property
    def pending(self) -> int:
        """Edits waiting to be sent."""
        return len(self._pending)

    def want(self, port: ChatPort, to: ThreadRef, ref: MessageRef, view: StatusView, *, final: bool) -> None:
        """Ask for the status message to show `view`; an edit still pending for the job is replaced."""
        job_id = view.job_id
        changed = self._shown.get(job_id) != (view.status, view.queue_position)
        rank = FINAL if final else CHANGE if changed else ELAPSED
        old = self._pending.get(job_id)
        if old is not None:
            self.collapsed += 1
            self.metrics.status_edits.labels("collapsed").inc()
            rank = min(rank, old.rank)  # the newer view carries the older one's change too
        self._pending[job_id] = _Edit(port, to, ref, view, rank, old.since if old else self.clock())
        self._wake.set()

    async def run(self) -> None:
        """Send pending edits for as long as the process runs."""
        while True:
            try:
                nap = await self.pump()
            except Exception:
                log.exception("status edits: a pass failed; trying again")
                nap = 1.0
            self._wake.clear()
            if nap is None and not self._pending:
                await self._wake.wait()
            else:
                try:
                    await asyncio.wait_for(self._wake.wait(), nap or 0.05)
                except TimeoutError:
                    pass

    async def flush(self, timeout: float | None = None) -> None:
        """Send everything pending now (waiting for the budget), at most `timeout` seconds."""
        async with asyncio.timeout(timeout):
            while self._pending:
                nap = await self.pump()
                if self._pending:
                    await asyncio.sleep(nap or 0.01)

    async def pump(self) -> float | None:
        """Send what the budget allows now, most important first; how long until more may go (None: nothing)."""
        async with self._lock:
            return await self._pump()

    async def _pump(self) -> float | None:
        blocked: dict[tuple[tuple[str, ...], bool], float] = {}
        nap: float | None = None
        while self._pending:
            sent_one = False
            for job_id, edit in sorted(self._pending.items(), key=lambda kv: (kv[1].rank, kv[1].since)):
                rates = self.budget.rates(edit.port, "edit", edit.to)
                urgent = edit.rank == FINAL
                key = (tuple(r.scope for r in rates), urgent)
                wait = blocked.get(key) or (await self.budget.try_take(rates, urgent=urgent) if rates else 0.0)
                if wait > 0:
                    if edit.rank == ELAPSED and self._pending.get(job_id) is edit:
                        # The budget is tight: only a change of stage or place is worth an edit now.
                        del self._pending[job_id]
                        self.skipped += 1
                        self.metrics.status_edits.labels("skipped").inc()
                        continue
                    blocked[key] = wait
                    nap = wait if nap is None else min(nap, wait)
                    continue
                # A newer view may have come while the budget was asked: the token is the job's, send the newest.
                edit = self._pending.pop(job_id, edit)
                await self._send(job_id, edit)
                sent_one = True
                break  # what is most important may have changed while we sent
            if not sent_one:
                break
        return nap

    async def _send(self, job_id: str, edit: _Edit) -> None:
        try:
            await edit.port.edit_status(edit.ref, edit.view)
        except RateLimited as exc:
            await self.budget.refused(edit.port, "edit", edit.to, exc)
            if job_id not in self._pending:  # nothing newer came meanwhile: it goes again after the wait
                self._pending[job_id] = edit
            return
        except Exception as exc:
            log.warning("job %s: could not edit the status message: %s", job_id, type(exc).__name__)
        self.sent += 1
        self.metrics.status_edits.labels("sent").inc()
        if edit.rank == FINAL:
            self._shown.pop(job_id, None)
            if self.on_final is not None:
                await self.on_final(job_id)
        else:
            self._shown[job_id] = (edit.view.status, edit.view.queue_position)
