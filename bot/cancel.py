"""Cancel: the requester (or an admin) calls a job off; the database decides who ends it and how it is settled.

A cancel is first recorded on the job by compare-and-set (`Store.request_cancel`). What happens next
depends on where the job is, and never on which process took the command:

- waiting in the bot's own line (QUEUED), or finished at the provider and not yet being posted
  (SUCCEEDED): nothing at the provider needs doing, so the command itself ends the job with a
  compare-and-set on its status; a submitter or a delivery that moved it first wins, and then sees
  the request under its own lease;
- being sent (SUBMITTING) or at the provider: the process holding the job's lease sees the request
  in the job's row before it submits, on each poll and before it posts, and ends the job there,
  calling the provider's own cancel where one exists (`CancelSteps`). A job asked to cancel is due
  at once (`Store.due_jobs`), so a request made while a step was under way (a submission on the
  wire, say) is taken up by the next tick: the task id that came back is cancelled at the provider.

Whether the credits come back is `refunded_on_cancel`, per provider; the README has the table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Protocol

from bot import messages
from bot.budget import PlatformBudget
from bot.commands import CommandRequest, Reply
from bot.config import Settings
from bot.jobs import CANCELLABLE, IllegalTransition, Job, JobStatus
from bot.notices import Notices
from bot.ports import ChatPort
from bot.providers.base import ProviderError
from bot.providers.failover import ProviderSet
from bot.store import Store
from bot.views import thread_of

log = logging.getLogger(__name__)

S = JobStatus
# Providers with a cancel call (Replicate `POST /predictions/{id}/cancel`, fal `PUT .../cancel`).
PROVIDER_CANCELS = frozenset({"replicate", "fal"})
# Still in the provider's own line, before its model ran: Replicate's `starting`, fal's IN_QUEUE.
NOT_STARTED = frozenset({S.SUBMITTED, S.PREPARING, S.QUEUEING})
FREE = frozenset({"local"})  # the offline renderer costs nothing, so every cancel of its jobs is refunded


def refunded_on_cancel(provider: str, status: JobStatus, cancelled_there: bool = False) -> bool:
    """Whether a job cancelled in `status` gets its credits back: only when the provider did not charge for it.

    - Not yet sent (QUEUED), or a send whose task id never came back (SUBMITTING): refunded, as an
      interrupted submission is (the bot cannot show a charge it never saw).
    - Replicate and fal: refunded when their cancel was accepted while the job was still in their line
      (Replicate bills a prediction for the time it runs and this model per output; fal bills a
      completed request); not refunded once the model was running.
    - MiniMax and Cloudflare have no cancel call: a submitted task runs to the end and is billed, so
      not refunded. A finished video (SUCCEEDED) is paid for everywhere.
    """
    if status in (S.QUEUED, S.SUBMITTING) or provider in FREE:
        return True
    if provider in PROVIDER_CANCELS:
        return cancelled_there and status in NOT_STARTED
    return False


class CoreParts(Protocol):
    """What the cancel command needs of the core (bot.core.Core has all of it)."""

    settings: Settings
    store: Store
    ports: Mapping[str, ChatPort]
    clock: Callable[[], float]
    wake: Callable[[], None]
    budget: PlatformBudget | None


async def cancel_command(core: CoreParts, req: CommandRequest) -> Reply:
    """`cancel JOB`: the requester's (or an admin's) request to call a job off, answered in plain words."""
    if not req.job_id:
        return _refusal(messages.CANCEL_WHICH)
    job = await core.store.get_job(req.job_id)
    if job is None or job.platform != req.platform:
        return _refusal(messages.JOB_NOT_FOUND.format(job=req.job_id))
    if job.user_id != req.user_id and not req.is_admin:
        return _refusal(messages.CANCEL_NOT_YOURS)
    now = core.clock()
    if not await core.store.request_cancel(job.id, req.user_id, now):
        return _not_taken(await core.store.get_job(job.id) or job)
    job = await core.store.get_job(job.id) or job
    log.info("job %s: cancel asked by %s while %s", job.id, req.user_id, job.status)
    if job.status in (S.QUEUED, S.SUCCEEDED):
        notices = Notices(core.settings, core.store, core.ports, clock=core.clock, wake=core.wake, budget=core.budget)
        try:
            job = await end_cancelled(core.store, notices, job, refund=refunded_on_cancel(job.provider, job.status))
        except IllegalTransition:
            pass  # taken to the provider (or to the chat) meanwhile: its lease holder sees the request
        else:
            port = core.ports.get(job.platform)
            if core.budget is not None and port is not None and core.budget.rates(port, "edit", thread_of(job)):
                # Edited at once from here, outside the pollers' queue of edits, where an older view of the
                # job may still wait: owing the final status has a poller send it again a minute later.
                await core.store.owe_final_status(job.id, core.clock())
            done = messages.CANCEL_DONE_REFUNDED if job.cancel_refunded else messages.CANCEL_DONE_CHARGED
            return Reply(done.format(job=job.id, cost=job.cost), ephemeral=True)
    core.wake()  # the job's next step is due now: whoever takes it ends the job
    return Reply(messages.CANCEL_ASKED.format(job=job.id), ephemeral=True)


def _not_taken(job: Job) -> Reply:
    """Why a cancel was not recorded: asked already, too late, or over."""
    if job.status is S.CANCELLED or (job.cancel_requested_at is not None and not job.status.terminal):
        return Reply(messages.CANCEL_ALREADY.format(job=job.id), ephemeral=True)
    if job.status in (S.DELIVERING, S.DELIVERED):
        return _refusal(messages.CANCEL_TOO_LATE.format(job=job.id))
    return _refusal(messages.CANCEL_ENDED.format(job=job.id, status=messages.STATUS_LABELS[job.status.value]))


async def end_cancelled(store: Store, notices: Notices, job: Job, *, refund: bool) -> Job:
    """End a job someone asked to cancel (compare-and-set on its status), settle it, and say so."""
    reason = messages.CANCELLED_REFUNDED if refund else messages.CANCELLED_CHARGED
    job = await store.transition(job, S.CANCELLED, detail=f"cancelled by {job.cancel_requested_by}",
                                 error=reason, cancel_refunded=refund)
    log.info("job %s cancelled (%s)", job.id, "refunded" if refund else "not refunded: the provider charged")
    notices.wake()  # a provider slot may be free
    await notices.show(job, force=True)
    told = messages.JOB_CANCELLED_REFUNDED if refund else messages.JOB_CANCELLED_CHARGED
    await notices.tell(job, told.format(cost=job.cost))
    return job


class CancelSteps:
    """What the holder of a job's lease does about a cancel: checked before submitting, on each poll, before posting."""

    def __init__(self, store: Store, providers: ProviderSet, notices: Notices) -> None:
        self.store = store
        self.providers = providers
        self.notices = notices

    @staticmethod
    def asked(job: Job) -> bool:
        """True when someone asked to cancel this job and it can still be called off.

        The job is the row as the step's caller read it (due_jobs, the line): no read of its own,
        since a job asked to cancel is due at once (`Store.due_jobs`), the next tick sees a request
        that came in while a step was under way.
        """
        return job.cancel_requested_at is not None and job.status in CANCELLABLE

    async def end(self, job: Job) -> None:
        """End a job whose cancel was asked for: the provider's cancel first, where it has one and a task exists.

        Its answer settles the refund: a task the provider already finished is not cancelled there
        (Replicate and fal say so), and so is paid for.
        """
        cancelled_there = False
        if job.task_id and job.status.at_provider:
            cancelled_there = await self._cancel_at_provider(job)
        await end_cancelled(self.store, self.notices, job,
                            refund=refunded_on_cancel(job.provider, job.status, cancelled_there))

    async def _cancel_at_provider(self, job: Job) -> bool:
        """Ask the provider to drop the task; True when it says it did (False: none exists, or it refused)."""
        cancel = getattr(self.providers.get(job.provider), "cancel", None)
        if cancel is None:
            return False  # MiniMax and Cloudflare have no cancel call: the task runs to its end
        try:
            accepted = bool(await cancel(job.task_id))
        except ProviderError as exc:
            log.warning("job %s: %s would not cancel task %s: %s", job.id, job.provider, job.task_id, exc)
            return False
        log.info("job %s: %s %s the cancel of %s", job.id, job.provider, "accepted" if accepted else "refused",
                 job.task_id)
        return accepted


def _refusal(text: str) -> Reply:
    return Reply(text, ok=False, ephemeral=True)
