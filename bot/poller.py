"""The one background loop that owns every unfinished job, driven by the database."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

from bot import messages
from bot.budget import PlatformBudget
from bot.config import Settings
from bot.delivery import Delivery
from bot.job_history import JobHistory
from bot.jobs import AT_PROVIDER, IllegalTransition, Job, JobStatus
from bot.metrics import Metrics
from bot.notices import Notices
from bot.ports import ChatPort
from bot.provider_steps import ProviderSteps
from bot.providers.base import Provider, TaskState
from bot.providers.failover import ProviderSet
from bot.status_edits import StatusEdits
from bot.store import Store
from bot.tasks import TaskSupervisor

log = logging.getLogger(__name__)

S = JobStatus
CONCURRENT_STEPS = 32  # job steps (polls, submissions) under way at once
DELIVERY_STEPS = 8  # deliveries (download, post) under way at once, on slots of their own: never behind polls
OWED_CHECK_SECONDS = 60.0  # how often, and how late, final statuses left unsent are picked up


class Poller:
    """Decides which job step is due and runs it: submissions in fair order, polls, expiry, delivery."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        provider: Provider | ProviderSet,
        ports: Mapping[str, ChatPort],
        supervisor: TaskSupervisor,
        *,
        submits_per_minute: int | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.providers = provider if isinstance(provider, ProviderSet) else ProviderSet(provider)
        self.ports = ports
        self.supervisor = supervisor
        self.submits_per_minute = submits_per_minute  # None: the provider has no rate limit (local)
        self.clock = clock
        # Who holds a lease: unique per process, and readable in the database when debugging.
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease_seconds = settings.lease_seconds
        self.metrics = metrics or Metrics()
        self.budget = PlatformBudget(store, clock=clock, metrics=self.metrics)  # Slack's and Discord's limits
        self.edits = StatusEdits(self.budget, clock=clock, metrics=self.metrics, on_final=store.final_status_shown)
        self._owed_check_at = 0.0
        # How long recent jobs of each kind took, shared through the database: for pacing and the time left.
        self.history = JobHistory(store, model_of=lambda job: job.request.model, clock=clock)
        self.notices = Notices(settings, store, ports, clock=clock, wake=self.wake, budget=self.budget,
                               edits=self.edits, history=self.history)
        self.steps = ProviderSteps(settings, store, self.providers, self.notices,
                                   rate_limited=submits_per_minute is not None, metrics=self.metrics, clock=clock,
                                   rng=rng or random.Random(), wake=self.wake, history=self.history)
        self.delivery = Delivery(store, self.providers, ports, self.notices, media_dir=Path(settings.media_dir),
                                 attempts=settings.delivery_attempts, metrics=self.metrics, clock=clock,
                                 budget=self.budget)
        self._wake = asyncio.Event()
        self._busy: dict[str, asyncio.Task[Any]] = {}
        self._sem = asyncio.Semaphore(CONCURRENT_STEPS)
        self._delivering = asyncio.Semaphore(DELIVERY_STEPS)
        self._then: dict[str, Job] = {}  # jobs a poll just saw done: delivered next, under the same lease
        self.steps.succeeded = lambda job: self._then.__setitem__(job.id, job)
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
        """Run the loop, and the renewal of this process's leases, as supervised background tasks."""
        self._loop_task = self.supervisor.start(self._run(), name="poller")
        self._renew_task = self.supervisor.start(self._renew(), name="poller-leases")
        self._edits_task = self.supervisor.start(self.edits.run(), name="status-edits")

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
        # Final statuses first: whatever the budget lets out within a few seconds goes.
        try:
            await self.edits.flush(timeout=min(grace, 5.0))
        except TimeoutError:
            log.info("%d status edit(s) not sent before stopping", self.edits.pending)
        edits_task = getattr(self, "_edits_task", None)
        if edits_task is not None:
            edits_task.cancel()
            await asyncio.gather(edits_task, return_exceptions=True)
        renewal = getattr(self, "_renew_task", None)
        if renewal is not None:
            renewal.cancel()
            await asyncio.gather(renewal, return_exceptions=True)
        # Hand every step back at once, so another process need not wait for the leases to run out.
        if released := await self.store.release_leases(self.owner):
            log.info("handed back %d job step(s) to the other processes", released)

    def wake(self) -> None:
        """Tell the loop something changed (a job was added or bound)."""
        self._wake.set()

    async def on_push(self, task_id: str, state: TaskState) -> bool:
        """Poll the job a pushed status names at once (the push decides nothing); False for an unknown task."""
        job = await self.store.job_by_task(task_id)
        if job is None:
            return False
        if job.id in self._busy or not await self._lease(job):
            return True  # a step of it is under way here or elsewhere, and will see the same
        try:
            await self.steps.on_push(job, state)
        finally:
            await self.store.release_lease(job.id, self.owner)
        return True

    async def _lease(self, job: Job) -> bool:
        now = self.clock()
        return await self.store.take_lease(job, self.owner, now + self.lease_seconds, now)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                await self.store.renew_leases(self.owner, list(self._busy), self.clock() + self.lease_seconds)
            except Exception:
                log.exception("could not renew this process's leases")

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("poller tick failed")
            self.heartbeat = self.clock()
            if self.heartbeat >= self._owed_check_at:
                await self._send_owed_statuses()
            due, waiting = await self.store.next_due_at(self.ports.keys())
            # Jobs waiting for a slot are looked at again each second (or when a slot frees up).
            cap = 1.0 if waiting else 5.0
            delay = cap if due is None else min(cap, max(0.05, due - self.clock()))
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                pass

    async def _send_owed_statuses(self) -> None:
        """Final statuses another process (or an earlier run of this one) queued and never sent: send them."""
        now = self.clock()
        self._owed_check_at = now + OWED_CHECK_SECONDS
        try:
            for job_id in await self.store.final_statuses_owed(self.ports.keys(), before=now - OWED_CHECK_SECONDS):
                if (job := await self.store.get_job(job_id)) is not None:
                    await self.notices.show(job, force=True)
        except Exception:
            log.exception("could not look for final statuses still owed")

    async def drain(self) -> None:
        """Wait for the deliveries and polls started by earlier ticks to finish."""
        while self._busy:
            tasks = list(self._busy.items())
            await asyncio.gather(*(t for _, t in tasks), return_exceptions=True)
            for job_id, task in tasks:
                if self._busy.get(job_id) is task:
                    del self._busy[job_id]  # a task cancelled before it ran never cleans up after itself
        await self.edits.flush()

    # -- one pass -----------------------------------------------------------------------

    async def tick(self) -> int:
        """Do every step that is due now; return how many jobs were touched."""
        now = self.clock()
        timeout = self.settings.job_timeout_minutes * 60
        due = [j for j in await self.store.due_jobs(now, self.ports.keys(), expire_before=now - timeout)
               if j.id not in self._busy]
        started = 0
        for job in due:
            step = self._step_for(job, now, timeout)
            if step is not None:
                started += await self._spawn(job, step)
        # One step per job per tick: a job just handled above (say, put back in line) waits for the next.
        return started + await self._submit_some(now, skip={j.id for j in due})

    def _for_provider(self, job: Job) -> Job:
        """The job as it is to be claimed: for the provider new jobs go to, with that provider's price.

        One that may have reached a provider already (a submission cut off) stays with it, so no job
        is ever sent to two providers.
        """
        name = self.providers.name
        if job.submit_attempts > 0 and self.providers.get(job.provider) is not None:
            name = job.provider
        usd = self.settings.usd_of(job.request.resolution, job.request.duration, provider=name,
                                   model=job.request.model)
        return job.replace(provider=name, price_usd=usd)

    def _step_for(self, job: Job, now: float, timeout: float) -> Callable[[], Coroutine[Any, Any, None]] | None:
        """The step a due job needs; found with no lease held, so a SUBMITTING or DELIVERING one was cut off."""
        if job.status in (S.QUEUED, S.SUBMITTING, *AT_PROVIDER) and now - job.created_at > timeout:
            return lambda: self.notices.expire(job)
        if job.platform not in self.ports:
            return None  # only expiry is done for a platform this process cannot talk to
        if job.status in AT_PROVIDER and self.providers.get(job.provider) is None:
            return lambda: self.notices.fail(job, messages.PROVIDER_CHANGED)
        if job.status is S.SUBMITTING:
            return lambda: self.steps.recover_submission(job)
        if job.status in AT_PROVIDER:
            return lambda: self.steps.poll(job)
        if job.status in (S.SUCCEEDED, S.DELIVERING):
            return lambda: self.delivery.run(job)
        return None

    async def _spawn(self, job: Job, step: Callable[[], Coroutine[Any, Any, None]], *, leased: bool = False) -> int:
        """Run one step of a job in the background, under this process's lease on it (taken here if need be)."""
        if not leased and not await self._lease(job):
            return 0  # another process took it first

        slots = self._delivering if job.status in (S.SUCCEEDED, S.DELIVERING) else self._sem

        async def guarded() -> None:
            try:
                async with slots:
                    await step()
                if (done := self._then.pop(job.id, None)) is not None:  # the video goes out now, not a tick later
                    async with self._delivering:
                        await self.delivery.run(done)
            except IllegalTransition as exc:
                log.info("job %s moved on elsewhere: %s", job.id, exc)
            except Exception:
                log.exception("job %s: step failed; it is tried again when due", job.id)
            finally:
                self._busy.pop(job.id, None)
                self._then.pop(job.id, None)
            # Not reached when cancelled (a stop): stop() hands back every lease at once.
            await self.store.release_lease(job.id, self.owner)
            self.wake()  # the job's next step may be due already (a quick retry)

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
        sent: set[str] = set()
        for entry in order:
            if slots <= 0:
                break
            job = await self.store.get_job(entry.id)
            if job is None or job.status is not S.QUEUED:
                continue
            now = self.clock()
            claimed, why = await self.store.claim_submission(
                self._for_provider(job), owner=self.owner, until=now + self.lease_seconds, now=now,
                max_in_flight=self.settings.provider_max_in_flight, per_minute=self.submits_per_minute)
            if claimed is None:
                if why == "taken":
                    continue
                break  # the provider's shared budget is spent for now
            slots -= 1
            sent.add(claimed.id)
            started += await self._spawn(claimed, lambda job=claimed: self.steps.submit(job), leased=True)
        if started and started < len(order):
            # The ones just sent are out of the line.
            await self.notices.refresh_positions([e for e in line if e.id not in sent])
        return started
