"""A video job, its statuses and the one table of transitions allowed between them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

from bot.contract import VideoRequest


class JobStatus(StrEnum):
    """Where a job is; the provider's own states are PREPARING, QUEUEING and PROCESSING."""

    QUEUED = "queued"  # accepted and charged (held), waiting for a provider slot
    SUBMITTING = "submitting"  # the submit call is on the wire; no task id yet
    SUBMITTED = "submitted"
    PREPARING = "preparing"
    QUEUEING = "queueing"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"  # the provider has the video; download and delivery follow
    DELIVERING = "delivering"  # a post to the chat may be on the wire
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"  # called off by the requester or an admin; refunded or not, see cancel_refunded

    @property
    def terminal(self) -> bool:
        """True once nothing more will happen to the job."""
        return self in TERMINAL

    @property
    def at_provider(self) -> bool:
        """True while the provider is working on the job."""
        return self in AT_PROVIDER


S = JobStatus
TERMINAL = frozenset({S.DELIVERED, S.FAILED, S.EXPIRED, S.CANCELLED})
AT_PROVIDER = frozenset({S.SUBMITTED, S.PREPARING, S.QUEUEING, S.PROCESSING})
# Where a cancel is still taken: not once a post may be on the wire (DELIVERING) or the job has ended.
CANCELLABLE = frozenset({S.QUEUED, S.SUBMITTING, *AT_PROVIDER, S.SUCCEEDED})
_ENDS = {S.FAILED, S.EXPIRED}
# A cancel ends a job anywhere before its post may be on the wire: DELIVERING and later cannot be called off.
_CANCEL = {S.CANCELLED}

ALLOWED: dict[JobStatus, frozenset[JobStatus]] = {
    S.QUEUED: frozenset({S.SUBMITTING, *_ENDS, *_CANCEL}),
    # back to QUEUED when a submission failed in a way worth retrying
    S.SUBMITTING: frozenset({S.SUBMITTED, S.QUEUED, *_ENDS, *_CANCEL}),
    S.SUBMITTED: frozenset({S.PREPARING, S.QUEUEING, S.PROCESSING, S.SUCCEEDED, S.QUEUED, *_ENDS, *_CANCEL}),
    S.PREPARING: frozenset({S.QUEUEING, S.PROCESSING, S.SUCCEEDED, S.QUEUED, *_ENDS, *_CANCEL}),
    S.QUEUEING: frozenset({S.PROCESSING, S.SUCCEEDED, S.QUEUED, *_ENDS, *_CANCEL}),
    S.PROCESSING: frozenset({S.SUCCEEDED, S.QUEUED, *_ENDS, *_CANCEL}),
    S.SUCCEEDED: frozenset({S.DELIVERING, *_ENDS, *_CANCEL}),
    # back to SUCCEEDED when a post was cut off and the platform does not show it
    S.DELIVERING: frozenset({S.DELIVERED, S.SUCCEEDED, *_ENDS}),
    S.DELIVERED: frozenset(),
    S.FAILED: frozenset(),
    S.EXPIRED: frozenset(),
    S.CANCELLED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A status change the transition table does not allow, or one that lost a race."""


def allowed(old: JobStatus, new: JobStatus) -> bool:
    """True when the table allows `old -> new`."""
    return new in ALLOWED[old]


def check_transition(old: JobStatus, new: JobStatus) -> None:
    """Raise IllegalTransition unless `old -> new` is in the table."""
    if not allowed(old, new):
        raise IllegalTransition(f"{old} -> {new} is not allowed")


@dataclass(frozen=True)
class Job:
    """A job as stored: identifiers and plain values only, never platform objects."""

    id: str
    platform: str
    workspace_id: str
    channel_id: str
    user_id: str
    request: VideoRequest
    cost: int
    provider: str
    status: JobStatus = JobStatus.QUEUED
    user_name: str = ""
    thread_id: str | None = None
    status_message_id: str | None = None
    upload_limit: int | None = None
    task_id: str | None = None
    video_url: str | None = None
    video_path: str | None = None
    video_bytes: int | None = None
    delivered_ref: str | None = None
    error: str | None = None
    attempts: int = 0
    submit_attempts: int = 0
    polls: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0
    next_poll_at: float = 0.0
    regenerated_from: str | None = None
    day: str = ""  # the quota day (UTC) the job was accepted on
    price_usd: float = 0.0  # the provider's list price, for spend reports and the budget
    provider_place: int | None = None  # the job's place in the provider's own line, when it says (fal)
    locale: str | None = None  # the language of the member who asked: later messages use it
    cancel_requested_at: float | None = None  # set once, by compare-and-set, when someone asked to cancel
    cancel_requested_by: str | None = None  # who asked (the requester's or an admin's user id)
    cancel_refunded: bool | None = None  # for a CANCELLED job: True when its credits were released
    chain_parent: str | None = None  # Extend: the clip this one continues from its last frame
    chain_root: str | None = None  # the first clip of its chain (None: nothing was continued to make it)
    chain_index: int = 1  # the clip's place in its chain, 1 for the first
    submitted_at: float | None = None  # when the provider took it (its task id came back): time there

    def advance(self, new: JobStatus, **changes: object) -> Job:
        """Return this job in `new` status, or raise IllegalTransition."""
        check_transition(self.status, new)
        return dataclasses.replace(self, status=new, **changes)  # type: ignore[arg-type]

    def replace(self, **changes: object) -> Job:
        """Return a copy with other fields changed (status changes go through advance)."""
        if "status" in changes:
            raise ValueError("use advance() to change status")
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
