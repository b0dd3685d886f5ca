"""The one background loop that owns every unfinished job, driven by the database."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot import messages
from bot.config import Settings
from bot.days import utc_day
from bot.delivery import Delivery
from bot.fairness import fair_order
from bot.jobs import AT_PROVIDER, IllegalTransition, Job, JobStatus
from bot.metrics import Metrics
from bot.ports import ChatPort, MessageRef
from bot.providers.base import Fault, Provider, ProviderError, TaskLost, TaskState, TaskStatus
from bot.providers.http import RATE_LIMIT_CODES
from bot.tasks import TaskSupervisor
from bot.views import status_view, thread_of
from storage import QueueEntry, Store

log = logging.getLogger(__name__)

S = JobStatus
_PROVIDER_STATES = {
    TaskStatus.PREPARING: S.PREPARING,
    TaskStatus.QUEUEING: S.QUEUEING,
    TaskStatus.PROCESSING: S.PROCESSING,
}
MAX_SUBMIT_TRIES = 2  # a submission cut off mid-flight is resent once, never more
MAX_RETRIES = 12  # transient provider errors in a row before a job is given up
STATUS_EDIT_INTERVAL = 3.0  # seconds between status-message edits of one job
REFRESH_PLACES = 50  # when the line moves, waiting jobs up to this place get their status edited


class Poller:
    """Submits queued jobs in fair order, polls the provider, and hands finished videos to delivery."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        provider: Provider,
        ports: Mapping[str, ChatPort],
        supervisor: TaskSupervisor,
        *,
        throttle: Any | None = None,
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
        self.rng = rng or random.Random()
        self.metrics = metrics or Metrics()
        self.delivery = Delivery(self, Path(settings.media_dir))
        self._wake = asyncio.Event()
        self._busy: dict[str, asyncio.Task[Any]] = {}
        self._last_edit: dict[str, float] = {}
        self._sem = asyncio.Semaphore(32)
        self.heartbeat = 0.0
        self.pushes = False  # set when the provider pushes status changes (MiniMax callbacks)

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
                started += self._spawn(job, self._expire(job))
            elif job.status in AT_PROVIDER and job.provider != self.provider.name:
                started += self._spawn(job, self.fail(job, messages.PROVIDER_CHANGED))
            elif job.status is S.SUBMITTING:
                started += self._spawn(job, self._recover_submission(job))
            elif job.status in AT_PROVIDER:
                started += self._spawn(job, self._poll(job))
            elif job.status in (S.SUCCEEDED, S.DELIVERING):
                started += self._spawn(job, self.delivery.run(job))
        # One step per job per tick: a job just handled above (say, put back in line) waits for the next.
        return started + await self._submit_some(now, skip={j.id for j in due})

    def _spawn(self, job: Job, coro: Any) -> int:
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
        # The whole line, as light keys (no request parsing): fair order needs only who and when.
        # Only the jobs that get a slot are loaded in full.
        line = await self.store.queued_keys()
        taken = skip | self._busy.keys()
        order = [e for e in fair_order(line)
                 if e.platform in self.ports and e.next_poll_at <= now and e.id not in taken]
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
            started += self._spawn(job, self._submit(job))
        if started and started < len(order):
            await self._refresh_positions(line)
        return started

    # -- steps --------------------------------------------------------------------------

    async def _submit(self, job: Job) -> None:
        job = await self.store.transition(
            job, S.SUBMITTING, submit_attempts=job.submit_attempts + 1, provider=self.provider.name
        )
        try:
            with self.metrics.provider_call("submit"):
                task_id = await self.provider.submit(job.request)
        except ProviderError as exc:
            await self._provider_trouble(job, exc, back_to=S.QUEUED)
            return
        except Exception as exc:
            log.exception("job %s: unexpected error submitting", job.id)
            await self._provider_trouble(job, ProviderError(Fault.RETRY, type(exc).__name__), back_to=S.QUEUED)
            return
        finally:
            if self.throttle is not None:
                self.throttle.release()
        now = self.clock()
        job = await self.store.transition(
            job, S.SUBMITTED, detail=task_id, task_id=task_id, attempts=0, next_poll_at=now + self._interval(0)
        )
        log.info("job %s submitted to %s as %s", job.id, self.provider.name, task_id)
        await self.show(job, force=True)

    async def _recover_submission(self, job: Job) -> None:
        # Found mid-submission with no task id: the process died while the call was on the wire.
        if job.submit_attempts >= MAX_SUBMIT_TRIES:
            await self.fail(job, messages.SUBMISSION_INTERRUPTED)
        else:
            log.warning("job %s: submission was interrupted; sending it once more", job.id)
            await self.store.transition(job, S.QUEUED, detail="resubmit after restart", next_poll_at=self.clock())
            self.wake()

    async def _poll(self, job: Job) -> None:
        try:
            with self.metrics.provider_call("status"):
                state = await self.provider.status(job.task_id or "")
        except TaskLost as exc:
            if job.submit_attempts >= MAX_SUBMIT_TRIES:
                await self.fail(job, messages.SUBMISSION_INTERRUPTED)
            else:
                log.warning("job %s: %s; sending it once more", job.id, exc)
                await self.store.transition(job, S.QUEUED, detail=str(exc), task_id=None, next_poll_at=self.clock())
                self.wake()
            return
        except ProviderError as exc:
            await self._provider_trouble(job, exc, back_to=None)
            return
        except Exception as exc:
            log.exception("job %s: unexpected error polling", job.id)
            await self._provider_trouble(job, ProviderError(Fault.RETRY, type(exc).__name__), back_to=None)
            return
        await self.apply(job, state)

    async def apply(self, job: Job, state: TaskState) -> None:
        """Record what the provider said about a job (from a poll or a pushed callback)."""
        now = self.clock()
        polls = job.polls + 1
        if state.status is TaskStatus.SUCCESS:
            job = await self.store.transition(
                job, S.SUCCEEDED, video_url=state.video_url, polls=polls, attempts=0, next_poll_at=now
            )
            log.info("job %s succeeded after %d polls", job.id, polls)
            await self.show(job, force=True)
            self.wake()  # its delivery is due, and a provider slot is free
        elif state.status is TaskStatus.FAIL and state.error is not None and state.error.fault is Fault.RETRY:
            # The provider dropped the task for a passing reason (e.g. a rate limit): send it again.
            await self._provider_trouble(job.replace(polls=polls), state.error, back_to=S.QUEUED, sent=True)
        elif state.status is TaskStatus.FAIL:
            log.info("job %s failed at the provider after %d polls", job.id, polls)
            await self.fail(job, _reason(state.error) if state.error else messages.PROVIDER_FAILED, polls=polls)
        else:
            new = _PROVIDER_STATES[state.status]
            changes = {"polls": polls, "attempts": 0, "next_poll_at": now + self._interval(polls)}
            if new != job.status and new in _forward(job.status):
                job = await self.store.transition(job, new, **changes)
                await self.show(job)
            else:
                job = await self.store.update(job, **changes)
                await self.show(job, only_if_pending=True)

    async def on_push(self, task_id: str, state: TaskState) -> bool:
        """Apply a status the provider pushed; False when no job has this task id."""
        job = await self.store.job_by_task(task_id)
        if job is None:
            return False
        if job.status.terminal or not job.status.at_provider or job.id in self._busy:
            return True  # nothing to do, or a poll of it is under way and will see the same
        try:
            if state.status is TaskStatus.SUCCESS:
                # The push carries no download address: poll at once to fetch it.
                await self.store.update(job, next_poll_at=self.clock())
                self.wake()
            else:
                await self.apply(job, state)
        except IllegalTransition:
            pass
        return True

    async def _provider_trouble(
        self, job: Job, exc: ProviderError, *, back_to: JobStatus | None, sent: bool = False
    ) -> None:
        if exc.fault is Fault.OPERATOR:
            log.error("provider %s refused job %s (code %s): %s: the operator must fix this",
                      self.provider.name, job.id, exc.code, exc)
        if exc.fault is not Fault.RETRY or job.attempts + 1 >= MAX_RETRIES:
            await self.fail(job, _reason(exc))
            return
        if exc.code in RATE_LIMIT_CODES and self.throttle is not None:
            self.throttle.penalize(exc.retry_after)
        delay = exc.retry_after or self._backoff(job.attempts)
        changes = {"attempts": job.attempts + 1, "next_poll_at": self.clock() + delay, "error": None}
        log.warning("job %s: provider trouble (%s), retrying in %.0f s", job.id, exc.code or exc, delay)
        if back_to is not None:
            # A submission the provider refused outright never counts toward the resend limit.
            changes["submit_attempts"] = max(0, job.submit_attempts - 1)
            changes["task_id"] = None
            if sent:
                changes["polls"] = job.polls
            await self.store.transition(job, back_to, detail=f"retry: {exc.code or exc}", **changes)
        else:
            await self.store.update(job, **changes)

    async def _expire(self, job: Job) -> None:
        minutes = self.settings.job_timeout_minutes
        job = await self.store.transition(job, S.EXPIRED, error=messages.EXPIRED_SHORT)
        log.info("job %s expired after %g minutes and %d polls", job.id, minutes, job.polls)
        await self.show(job, force=True)
        await self.tell(job, messages.JOB_EXPIRED_REFUNDED.format(minutes=minutes, cost=job.cost))

    async def fail(self, job: Job, reason: str, **changes: Any) -> None:
        """End a job as failed, release its credits, and tell the requester why."""
        job = await self.store.transition(job, S.FAILED, detail=reason, error=reason, **changes)
        self.wake()  # a provider slot may be free
        await self.show(job, force=True)
        await self.tell(job, messages.JOB_FAILED_REFUNDED.format(reason=reason, cost=job.cost))

    # -- talking to the chat ------------------------------------------------------------

    async def show(
        self, job: Job, *, force: bool = False, only_if_pending: bool = False, position: int | None = None
    ) -> None:
        """Edit the job's status message, at most once every few seconds unless forced."""
        port = self.ports.get(job.platform)
        if port is None or not job.status_message_id:
            return
        now = self.clock()
        last = self._last_edit.get(job.id)
        if only_if_pending and last is None:
            return
        if not force and last is not None and now - last < STATUS_EDIT_INTERVAL:
            return
        self._last_edit[job.id] = now
        if job.status.terminal:
            self._last_edit.pop(job.id, None)
        usage = await self.store.usage(
            job.platform, job.workspace_id, job.user_id, day=utc_day(now),
            user_limit=self.settings.quota_user_daily_credits,
            workspace_limit=self.settings.quota_workspace_daily_credits,
        )
        if job.status is S.QUEUED and position is None:
            position = await self.store.queue_position(job)
        view = status_view(job, now, credits_left=usage.user_left, position=position)
        try:
            await port.edit_status(MessageRef(job.thread_id or job.channel_id, job.status_message_id), view)
        except Exception as exc:
            log.warning("job %s: could not edit the status message: %s", job.id, type(exc).__name__)

    async def _refresh_positions(self, line: list[QueueEntry]) -> None:
        """The line moved: show the first waiting jobs their new place (the rest see it on their next edit)."""
        line = [e for e in line if e.id not in self._busy]  # the ones just sent are out of the line
        for place, entry in enumerate(fair_order(line)[:REFRESH_PLACES], start=1):
            if entry.status_message_id:
                job = await self.store.get_job(entry.id)
                if job is not None and job.status is S.QUEUED:
                    await self.show(job, position=place)

    async def tell(self, job: Job, text: str) -> None:
        """Tell the requester something in the job's thread; failures are logged, not raised."""
        port = self.ports.get(job.platform)
        if port is None:
            return
        try:
            await port.notify(thread_of(job), job.user_id, text)
        except Exception as exc:
            log.warning("job %s: could not notify the requester: %s", job.id, type(exc).__name__)

    # -- timing -------------------------------------------------------------------------

    def _interval(self, polls: int) -> float:
        first, cap = self.settings.poll_first_seconds, self.settings.poll_max_seconds
        if self.pushes:
            cap *= 4  # pushes carry the news; polling is only the fallback for a push that never comes
        base = min(cap, first * (1.5**polls))
        return base * self.rng.uniform(0.8, 1.2)

    def _backoff(self, attempts: int) -> float:
        return min(300.0, 5.0 * (2**attempts)) * self.rng.uniform(0.8, 1.2)


def _forward(status: JobStatus) -> tuple[JobStatus, ...]:
    order = (S.SUBMITTED, S.PREPARING, S.QUEUEING, S.PROCESSING)
    return order[order.index(status) + 1:] if status in order else ()


def _reason(exc: ProviderError | None) -> str:
    if exc is None:
        return messages.PROVIDER_FAILED
    if exc.fault is Fault.OPERATOR:
        return messages.PROVIDER_UNAVAILABLE
    if exc.fault is Fault.USER:
        return {1026: messages.PROVIDER_REJECTED_INPUT, 1027: messages.PROVIDER_REJECTED_OUTPUT}.get(
            exc.code, messages.PROVIDER_BAD_INPUT  # type: ignore[arg-type]
        )
    return messages.PROVIDER_GAVE_UP
