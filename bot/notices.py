"""What a requester sees of a job after it was accepted: its status message, notices, and why it ended."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot import messages
from bot.budget import PlatformBudget
from bot.config import Settings
from bot.days import utc_day
from bot.i18n import render
from bot.job_history import JobHistory
from bot.jobs import Job, JobStatus
from bot.ports import ChatPort, MessageRef
from bot.providers.base import Fault, ProviderError
from bot.status_edits import StatusEdits
from bot.store import Store
from bot.views import status_view, thread_of

log = logging.getLogger(__name__)

REFRESH_PLACES = 50  # when the line moves, waiting jobs up to this place get their status edited


class Notices:
    """Edits status messages (at most every few seconds per job) and tells requesters how their job ended."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        ports: Mapping[str, ChatPort],
        *,
        clock: Callable[[], float],
        wake: Callable[[], None],
        budget: PlatformBudget | None = None,
        edits: StatusEdits | None = None,
        history: JobHistory | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.ports = ports
        self.clock = clock
        self.wake = wake
        self._last_edit: dict[str, float] = {}
        self.budget = budget  # the platforms' shared rate budget (None: ports are not limited)
        self.edits = edits  # where a rate-limited platform's status edits wait their turn
        self.history = history  # how long jobs of each kind take: the status message's time left

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
        if not force and last is not None and now - last < self.settings.status_edit_seconds:
            return
        self._last_edit[job.id] = now
        if job.status.terminal:
            self._last_edit.pop(job.id, None)
        usage = await self.store.usage(
            job.platform, job.workspace_id, job.user_id, day=utc_day(now),
            user_limit=self.settings.quota_user_daily_credits,
            workspace_limit=self.settings.quota_workspace_daily_credits,
        )
        if job.status is JobStatus.QUEUED and position is None:
            position = await self.store.queue_position(job)
        left = None if self.history is None else self.history.time_left(job, now)
        view = status_view(job, now, credits_left=usage.user_left, position=position, time_left=left)
        ref = MessageRef(job.thread_id or job.channel_id, job.status_message_id)
        if self.edits is not None and self.edits.budget.rates(port, "edit", thread_of(job)):
            # Sent by the edits' own task, in order of importance and within the platform's limits; a final
            # status is owed in the database until it is sent, so another process sends it if this one dies.
            if job.status.terminal:
                await self.store.owe_final_status(job.id, now)
            self.edits.want(port, thread_of(job), ref, view, final=job.status.terminal)
            return
        try:
            await port.edit_status(ref, view)
        except Exception as exc:
            log.warning("job %s: could not edit the status message: %s", job.id, type(exc).__name__)

    async def refresh_positions(self, line: Sequence[Any]) -> None:
        """The line moved: show the first waiting jobs (in fair order) their new place; the rest see it later."""
        for place, entry in enumerate(line[:REFRESH_PLACES], start=1):
            if entry.status_message_id:
                job = await self.store.get_job(entry.id)
                if job is not None and job.status is JobStatus.QUEUED:
                    await self.show(job, position=place)

    async def tell(self, job: Job, text: str) -> None:
        """Tell the requester something in the job's thread; failures are logged, not raised."""
        port = self.ports.get(job.platform)
        if port is None:
            return
        to = thread_of(job)
        text = render(text, job.locale)  # in the language of the member who asked
        try:
            if self.budget is None:
                await port.notify(to, job.user_id, text)
            else:  # urgent: it may use the whole bucket, and a 429 is waited out
                await self.budget.send(port, "notify", to, lambda: port.notify(to, job.user_id, text))
        except Exception as exc:
            log.warning("job %s: could not notify the requester: %s", job.id, type(exc).__name__)

    async def fail(self, job: Job, reason: str, **changes: Any) -> None:
        """End a job as failed (its credits are released), and tell the requester why."""
        job = await self.store.transition(job, JobStatus.FAILED, detail=reason, error=reason, **changes)
        self.wake()  # a provider slot may be free
        await self.show(job, force=True)
        await self.tell(job, messages.JOB_FAILED_REFUNDED.format(reason=reason, cost=job.cost))

    async def expire(self, job: Job) -> None:
        """End a job that took longer than JOB_TIMEOUT_MINUTES (its credits are released), and say so."""
        minutes = self.settings.job_timeout_minutes
        job = await self.store.transition(job, JobStatus.EXPIRED, error=messages.EXPIRED_SHORT)
        log.info("job %s expired after %g minutes and %d polls", job.id, minutes, job.polls)
        await self.show(job, force=True)
        await self.tell(job, messages.JOB_EXPIRED_REFUNDED.format(minutes=minutes, cost=job.cost))


def failure_reason(exc: ProviderError | None) -> str:
    """The words a requester gets for a provider failure: whose fault it was, never the provider's raw text."""
    if exc is None:
        return messages.PROVIDER_FAILED
    if exc.fault is Fault.OPERATOR:
        return messages.PROVIDER_UNAVAILABLE
    if exc.fault is Fault.USER:
        return {1026: messages.PROVIDER_REJECTED_INPUT, 1027: messages.PROVIDER_REJECTED_OUTPUT}.get(
            exc.code, messages.PROVIDER_BAD_INPUT  # type: ignore[arg-type]
        )
    return messages.PROVIDER_GAVE_UP
