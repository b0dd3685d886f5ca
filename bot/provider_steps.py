"""The steps of a job that talk to the provider: submit, recover a cut-off submission, poll, apply a status."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot import messages
from bot.cancel import CancelSteps
from bot.config import Settings
from bot.frames import frame_here
from bot.job_history import JobHistory
from bot.jobs import Job, JobStatus, allowed
from bot.metrics import Metrics
from bot.notices import Notices, failure_reason
from bot.pacing import PollPlan
from bot.providers.base import Fault, ProviderError, TaskLost, TaskState, TaskStatus
from bot.providers.failover import ProviderSet
from bot.providers.http import RATE_LIMIT_CODES
from bot.store import Store

log = logging.getLogger(__name__)

S = JobStatus
_PROVIDER_STATES = {
    TaskStatus.PREPARING: S.PREPARING,
    TaskStatus.QUEUEING: S.QUEUEING,
    TaskStatus.PROCESSING: S.PROCESSING,
}
MAX_SUBMIT_TRIES = 2  # a submission cut off mid-flight is resent once, never more
MAX_RETRIES = 12  # transient provider errors in a row before a job is given up
RATE_PAUSE_SECONDS = 20.0  # no submissions this long after a rate-limit answer without Retry-After...
RATE_SLOW_SECONDS = 300.0  # ...and half the rate for this long


class ProviderSteps:
    """One step of one job at the provider each call; what the provider said goes to the store and the chat."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        providers: ProviderSet,
        notices: Notices,
        *,
        rate_limited: bool,
        metrics: Metrics,
        clock: Callable[[], float],
        rng: random.Random,
        wake: Callable[[], None],
        history: JobHistory,
    ) -> None:
        self.settings = settings
        self.store = store
        self.providers = providers
        self.notices = notices
        self.rate_limited = rate_limited  # the provider's submissions count against a shared budget
        self.metrics = metrics
        self.clock = clock
        self.rng = rng
        self.wake = wake
        self.pushes = False  # set when the provider pushes status changes (MiniMax callbacks)
        self.succeeded: Callable[[Job], None] = lambda job: None  # told of a job just done: its delivery follows
        self.cancels = CancelSteps(store, providers, notices)
        # When to poll, learnt from how long recent jobs of each kind took (shared by every process).
        self.history = history
        self.plan = PollPlan(settings.poll_first_seconds, settings.poll_max_seconds,
                             jitter=lambda: rng.uniform(0.9, 1.1), clock=clock)

    async def submit(self, job: Job) -> None:
        """Send a job claimed for submission to the provider; record its task id the moment it comes back."""
        if self.cancels.asked(job):
            await self.cancels.end(job)  # cancelled while it waited for its slot: never sent, refunded
            return
        request = await frame_here(self.store, job.request, Path(self.settings.media_dir) / "frames")
        if request is None:
            await self.notices.fail(job, messages.FRAME_GONE)
            return
        try:
            with self.metrics.provider_call("submit"):
                task_id = await self.providers.submit_to(job.provider, request)
        except ProviderError as exc:
            await self.trouble(job, exc, back_to=S.QUEUED)
            return
        except Exception as exc:
            log.exception("job %s: unexpected error submitting", job.id)
            await self.trouble(job, ProviderError(Fault.RETRY, type(exc).__name__), back_to=S.QUEUED)
            return
        now = self.clock()
        job = await self.store.transition(job, S.SUBMITTED, detail=task_id, task_id=task_id, attempts=0,
                                          submitted_at=now, next_poll_at=now + await self.gap(job, 0, 0.0))
        # A cancel that came while the call was on the wire is in the row now, so the job is due at once:
        # the next tick's poll step cancels the task at the provider (whichever process takes it).
        log.info("job %s submitted to %s as %s", job.id, job.provider, task_id)
        await self.notices.show(job, force=True)

    async def recover_submission(self, job: Job) -> None:
        """A job found mid-submission with no task id: the process died while the call was on the wire."""
        if self.cancels.asked(job):
            await self.cancels.end(job)  # not sent again; refunded, as an interrupted submission is
            return
        if job.submit_attempts >= MAX_SUBMIT_TRIES:
            await self.notices.fail(job, messages.SUBMISSION_INTERRUPTED)
        else:
            log.warning("job %s: submission was interrupted; sending it once more", job.id)
            await self.store.transition(job, S.QUEUED, detail="resubmit after restart", next_poll_at=self.clock())
            self.wake()

    async def poll(self, job: Job) -> None:
        """Ask the provider where a job is, and apply the answer."""
        if self.cancels.asked(job):
            await self.cancels.end(job)  # asked while it was at the provider (maybe through another process)
            return
        try:
            with self.metrics.provider_call("status"):
                state = await self.providers[job.provider].status(job.task_id or "")
        except TaskLost as exc:
            if job.submit_attempts >= MAX_SUBMIT_TRIES:
                await self.notices.fail(job, messages.SUBMISSION_INTERRUPTED)
            else:
                log.warning("job %s: %s; sending it once more", job.id, exc)
                await self.store.transition(job, S.QUEUED, detail=str(exc), task_id=None, next_poll_at=self.clock())
                self.wake()
            return
        except ProviderError as exc:
            await self.trouble(job, exc, back_to=None)
            return
        except Exception as exc:
            log.exception("job %s: unexpected error polling", job.id)
            await self.trouble(job, ProviderError(Fault.RETRY, type(exc).__name__), back_to=None)
            return
        await self.apply(job, state)

    async def apply(self, job: Job, state: TaskState) -> None:
        """Record what the provider said about a job (from a poll or a pushed callback)."""
        now = self.clock()
        polls = job.polls + 1
        if state.status is TaskStatus.SUCCESS and job.submitted_at is not None:
            # Learnt for every process: it finished, on average, half the last gap before this poll saw it (a
            # long planned first wait counts as POLL_MAX_SECONDS: jobs rarely finish early in it).
            gap = min(max(0.0, now - job.updated_at), self.settings.poll_max_seconds)
            await self.history.record(job, now - job.submitted_at - gap / 2)
        if state.status is TaskStatus.SUCCESS:
            job = await self.store.transition(
                job, S.SUCCEEDED, video_url=state.video_url, polls=polls, attempts=0, next_poll_at=now
            )
            log.info("job %s succeeded after %d polls", job.id, polls)
            self.succeeded(job)
            await self.notices.show(job, force=True)
            self.wake()  # its delivery is due, and a provider slot is free
        elif state.status is TaskStatus.FAIL and state.error is not None and state.error.fault is Fault.RETRY:
            # The provider dropped the task for a passing reason (e.g. a rate limit): send it again.
            await self.trouble(job.replace(polls=polls), state.error, back_to=S.QUEUED, sent=True)
        elif state.status is TaskStatus.FAIL:
            log.info("job %s failed at the provider after %d polls", job.id, polls)
            await self.notices.fail(job, failure_reason(state.error), polls=polls)
        else:
            new = _PROVIDER_STATES[state.status]
            elapsed = None if job.submitted_at is None else now - job.submitted_at
            changes = {"polls": polls, "attempts": 0, "next_poll_at": now + await self.gap(job, polls, elapsed),
                       "provider_place": state.queue_position}
            if new != job.status and allowed(job.status, new):
                job = await self.store.transition(job, new, **changes)
                await self.notices.show(job)
            else:
                job = await self.store.update(job, **changes)
                await self.notices.show(job, only_if_pending=True)

    async def on_push(self, job: Job, state: TaskState) -> None:
        """Poll a job at once because the provider pushed news of it; the push itself decides nothing."""
        if job.status.terminal or not job.status.at_provider:
            return
        # Anyone who learns the callback URL can push, so a push is only a hint: what the job becomes
        # (and whether it is refunded) is settled by the provider's own status endpoint.
        log.info("job %s: pushed status %s; polling the provider now", job.id, state.status.name.lower())
        if job.next_poll_at > self.clock():
            await self.store.update(job, next_poll_at=self.clock())
        self.wake()

    async def trouble(self, job: Job, exc: ProviderError, *, back_to: JobStatus | None, sent: bool = False) -> None:
        """A provider error: retry later (back in line when `back_to` is QUEUED), or fail the job."""
        if exc.fault is Fault.OPERATOR:
            log.error("provider %s refused job %s (code %s): %s: the operator must fix this",
                      job.provider, job.id, exc.code, exc)
        if exc.fault is not Fault.RETRY or job.attempts + 1 >= MAX_RETRIES:
            await self.notices.fail(job, failure_reason(exc))
            return
        if exc.code in RATE_LIMIT_CODES and self.rate_limited:
            # Every process slows down: the budget is the provider account's, kept in the database.
            await self.store.slow_down(job.provider, self.clock(), pause=exc.retry_after or RATE_PAUSE_SECONDS,
                                       slow_for=RATE_SLOW_SECONDS)
        delay = exc.retry_after or self.backoff(job.attempts)
        changes: dict[str, Any] = {"attempts": job.attempts + 1, "next_poll_at": self.clock() + delay, "error": None}
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

    async def gap(self, job: Job, polls: int, elapsed: float | None) -> float:
        """Seconds until a job's next poll: when jobs of its kind are likely done (pushes: the slow fallback)."""
        if self.pushes:
            return self.interval(polls)
        await self.history.fresh()  # a query only when the copy is stale
        took, running = self.history.spread(job)
        return self.plan.gap(self.history.kind(job), took, elapsed, polls, running)

    def interval(self, polls: int) -> float:
        """Seconds until the next poll of a job polled `polls` times: growing, capped, jittered."""
        first, cap = self.settings.poll_first_seconds, self.settings.poll_max_seconds
        if self.pushes:
            cap *= 4  # pushes carry the news; polling is only the fallback for a push that never comes
        base = min(cap, first * (1.5**polls))
        return base * self.rng.uniform(0.8, 1.2)

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after `attempts` transient errors in a row."""
        return min(300.0, 5.0 * (2**attempts)) * self.rng.uniform(0.8, 1.2)
