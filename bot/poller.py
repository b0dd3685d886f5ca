"""The one background loop that owns every unfinished job, driven by the database."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

from bot import messages
from bot.config import Settings
from bot.delivery import Delivery
from bot.jobs import AT_PROVIDER, IllegalTransition, Job, JobStatus
from bot.metrics import Metrics
from bot.notices import Notices
from bot.ports import ChatPort
from bot.provider_steps import ProviderSteps
from bot.providers.base import Provider, TaskState
from bot.providers.throttle import SubmitThrottle
from bot.tasks import TaskSupervisor
from storage import Store

log = logging.getLogger(__name__)

S = JobStatus
CONCURRENT_STEPS = 32  # job steps (polls, downloads, uploads) under way at once


class Poller:
    """Decides which job step is due and runs it: submissions in fair order, polls, expiry, delivery."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        provider: Provider,
        ports: Mapping[str, ChatPort],
        supervisor: TaskSupervisor,
        *,
        throttle: SubmitThrottle | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.provider = provider
        self.ports = ports
        self.supervisor = supervisor
        self.throttle = throttle
        self.clock = clock
        self.metrics = metrics or Metrics()
        self.notices = Notices(settings, store, ports, clock=clock, wake=self.wake)
        self.steps = ProviderSteps(settings, store, provider, self.notices, throttle=throttle, metrics=self.metrics,
                                   clock=clock, rng=rng or random.Random(), wake=self.wake)
        self.delivery = Delivery(store, provider, ports, self.notices, media_dir=Path(settings.media_dir),
                                 attempts=settings.delivery_attempts, metrics=self.metrics, clock=clock)
        self._wake = asyncio.Event()
        self._busy: dict[str, asyncio.Task[Any]] = {}
        self._sem = asyncio.Semaphore(CONCURRENT_STEPS)
        self.heartbeat = 0.0

    @property
    def pushes(self) -> bool:
        """True when the provider pushes status changes, so polling can slow down."""
        return self.steps.pushes

    @pushes.setter
    def pushes(self, value: bool) -> None:
        self.steps.pushes = value

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Run the loop as a supervised background task."""
        self._loop_task = self.supervisor.start(self._run(), name="poller")

    async def stop(self, grace: float = 30.0) -> None:
        """Stop taking new steps and give the steps under way (uploads) up to `grace` seconds to finish.

        Whatever is cut off stays in the database and resumes on the next start.
        """
        task = getattr(self, "_loop_task", None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        busy = [t for t in self._busy.values() if not t.done()]
        if busy:
            log.info("waiting up to %.0f s for %d job step(s) under way", grace, len(busy))
            _, late = await asyncio.wait(busy, timeout=grace)
            # Cut off now, before connections close under them; the database says where each one was.
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    def wake(self) -> None:
        """Tell the loop something changed (a job was added or bound)."""
        self._wake.set()

    async def on_push(self, task_id: str, state: TaskState) -> bool:
        """Apply a status the provider pushed; False when no job has this task id."""
        return await self.steps.on_push(task_id, state, busy=lambda job_id: job_id in self._busy)

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("poller tick failed")
            self.heartbeat = self.clock()
            due, waiting = await self.store.next_due_at(self.ports.keys())
            # Jobs waiting for a slot are looked at again each second (or when a slot frees up).
            cap = 1.0 if waiting else 5.0
            delay = cap if due is None else min(cap, max(0.05, due - self.clock()))
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                pass

    async def drain(self) -> None:
        """Wait for the deliveries and polls started by earlier ticks to finish."""
        while self._busy:
            tasks = list(self._busy.items())
            await asyncio.gather(*(t for _, t in tasks), return_exceptions=True)
            for job_id, task in tasks:
                if self._busy.get(job_id) is task:
                    del self._busy[job_id]  # a task cancelled before it ran never cleans up after itself

    # -- one pass -----------------------------------------------------------------------

    async def tick(self) -> int:
        """Do every step that is due now; return how many jobs were touched."""
        now = self.clock()
        timeout = self.settings.job_timeout_minutes * 60
        due = [j for j in await self.store.due_jobs(now, self.ports.keys(), expire_before=now - timeout)
               if j.id not in self._busy]
        started = 0
        for job in due:
            if job.status in (S.QUEUED, S.SUBMITTING, *AT_PROVIDER) and now - job.created_at > timeout:
                started += self._spawn(job, self.notices.expire(job))
            elif job.status in AT_PROVIDER and job.provider != self.provider.name:
                started += self._spawn(job, self.notices.fail(job, messages.PROVIDER_CHANGED))
            elif job.status is S.SUBMITTING:
                started += self._spawn(job, self.steps.recover_submission(job))
            elif job.status in AT_PROVIDER:
                started += self._spawn(job, self.steps.poll(job))
            elif job.status in (S.SUCCEEDED, S.DELIVERING):
                started += self._spawn(job, self.delivery.run(job))
        # One step per job per tick: a job just handled above (say, put back in line) waits for the next.
        return started + await self._submit_some(now, skip={j.id for j in due})

    def _spawn(self, job: Job, coro: Coroutine[Any, Any, None]) -> int:
        async def guarded() -> None:
            try:
                async with self._sem:
                    await coro
            except IllegalTransition as exc:
                log.info("job %s moved on elsewhere: %s", job.id, exc)
            finally:
                self._busy.pop(job.id, None)

        self._busy[job.id] = self.supervisor.start(guarded(), name=f"job-{job.id}")
        return 1

    async def _submit_some(self, now: float, skip: set[str]) -> int:
        slots = self.settings.provider_max_in_flight - await self.store.count_in_flight()
        if slots <= 0:
            return 0
        # The whole line in fair order, as light keys (no request parsing); only the jobs that get
        # a slot are loaded in full.
        line = await self.store.queued_line()
        taken = skip | self._busy.keys()
        order = [e for e in line if e.platform in self.ports and e.next_poll_at <= now and e.id not in taken]
        started = 0
        for entry in order:
            if slots <= 0:
                break
            job = await self.store.get_job(entry.id)
            if job is None or job.status is not S.QUEUED:
                continue
            if self.throttle is not None and not self.throttle.try_acquire():
                break
            slots -= 1
            started += self._spawn(job, self.steps.submit(job))
        if started and started < len(order):
            # The ones just sent are out of the line.
            await self.notices.refresh_positions([e for e in line if e.id not in self._busy])
        return started
