"""What the core asks of storage: the Store protocol and the plain values it answers with.

The core and the poller depend on this alone; `storage/` implements it (SQLite today), and the
wiring in `bot/cli/` opens the implementation DATABASE_URL names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.jobs import Job, JobStatus
from bot.presets import PresetStore


class StoreUnavailable(Exception):
    """The database cannot be opened or brought up to date; the message names DATABASE_URL and the fix."""


@dataclass(frozen=True)
class Reservation:
    """The outcome of trying to reserve credits for a new job."""

    ok: bool
    refused_by: str | None = None  # "user", "workspace", "in_flight", "budget", "workspace_budget" or "duplicate"
    limit: int = 0
    used: int = 0
    spent_usd: float = 0.0
    budget_usd: float = 0.0  # the dollar cap that refused it ("budget": the bot-wide one, "workspace_budget": its own)


@dataclass(frozen=True)
class WorkspaceBudget:
    """A workspace's own daily dollar cap (None: it has only the bot-wide one) and what it spent today."""

    usd: float | None
    spent_usd: float
    set_by: str | None = None
    set_at: float | None = None


@dataclass(frozen=True)
class InboxItem:
    """An acknowledged command, kept as the platform sent it until it has become a job or an answer."""

    key: str  # fixed by the platform: a resend carries the same key
    platform: str
    kind: str
    payload: str  # the verified payload, as JSON
    received_at: float
    attempts: int = 1


@dataclass(frozen=True)
class QuotaUsage:
    """A user's and their workspace's credits for one day."""

    user_used: int
    user_held: int
    user_limit: int
    workspace_used: int
    workspace_limit: int

    @property
    def user_left(self) -> int:
        """Credits the user can still spend today."""
        return max(0, min(self.user_limit - self.user_used, self.workspace_limit - self.workspace_used))

    @property
    def workspace_left(self) -> int:
        """Credits left in the workspace pool today."""
        return max(0, self.workspace_limit - self.workspace_used)


@dataclass(frozen=True)
class QueueEntry:
    """A waiting job as the fair order needs it: who asked, and when."""

    id: str
    platform: str
    user_id: str
    created_at: float
    status_message_id: str | None
    next_poll_at: float


@dataclass(frozen=True)
class UsageRow:
    """Credits and dollars for one day, user, workspace and provider."""

    day: str
    platform: str
    workspace_id: str
    user_id: str
    jobs: int
    delivered: int
    failed: int
    credits_captured: int
    credits_held: int
    credits_released: int
    usd: float
    provider: str = ""  # the host that ran these jobs (its price is what `usd` adds up)


@dataclass(frozen=True)
class WebLogin:
    """Whom a one-time web login link signs in as."""

    platform: str
    workspace_id: str
    user_id: str
    is_admin: bool = False


class Store(PresetStore, Protocol):
    """Jobs, their leases, the quota ledger, the provider's shared budget, admin controls and presets."""

    # -- jobs
    async def create_job(self, job: Job, *, day: str, user_limit: int, workspace_limit: int,
                         max_in_flight: int | None = None, budget_usd: float | None = None) -> Reservation:
        """Check every limit and, if all hold, reserve the job's cost and record it, in one transaction.

        The limits: jobs in flight, the bot-wide `budget_usd`, the workspace's own dollar cap (kept in the
        store, see set_workspace_budget), then the user's and the workspace's credits.
        """
    async def get_job(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
    async def job_by_task(self, task_id: str) -> Job | None:
        """The job the provider knows by this task id."""
    async def transition(self, job: Job, new: JobStatus, *, detail: str | None = None, **changes: Any) -> Job:
        """Move a job to `new`, guarded at the database; raises IllegalTransition when it lost a race."""
    async def update(self, job: Job, **changes: Any) -> Job:
        """Change a job's non-status fields."""
    async def withdraw(self, job: Job) -> bool:
        """Remove a job that never left the line, with its hold; False when it has moved on."""
    async def request_cancel(self, job_id: str, by: str, now: float) -> bool:
        """Record, by compare-and-set, that `by` asked to cancel a job still cancellable; False if it was not recorded.

        Not recorded when someone asked before or the job is past CANCELLABLE (delivering or ended).
        The job's next step is brought forward so that whoever holds it sees the request soon.
        """
    async def due_jobs(self, now: float, platforms: Iterable[str], expire_before: float,
                       limit: int = 500) -> list[Job]:
        """Unfinished jobs whose next step is due and that no live process holds."""
    async def next_due_at(self, platforms: Iterable[str]) -> tuple[float | None, bool]:
        """When the earliest step not held by anyone is due, and whether any job waits in line."""
    async def count_in_flight(self) -> int:
        """Jobs at the provider (or being sent to it)."""
    async def history(self, platform: str, user_id: str, limit: int = 10) -> list[Job]:
        """A user's newest jobs."""
    async def finished_before(self, cutoff: float) -> list[Job]:
        """Jobs that ended before `cutoff`."""
    # -- leases: one process per job step
    async def take_lease(self, job: Job, owner: str, until: float, now: float) -> bool:
        """Hold the job's next step for `owner` until `until`, if nobody else holds it and its status is unchanged."""
    async def renew_leases(self, owner: str, job_ids: Iterable[str], until: float) -> int:
        """Extend the leases `owner` still holds on these jobs; how many it still holds."""
    async def release_lease(self, job_id: str, owner: str) -> None:
        """Give a job's step back at once."""
    async def release_leases(self, owner: str) -> int:
        """Give back every lease `owner` holds (a clean stop); how many there were."""
    # -- the line
    async def queued_line(self) -> list[QueueEntry]:
        """Every waiting job, in fair order."""
    async def queue_position(self, job: Job) -> int:
        """A waiting job's 1-based place in the fair line."""
    # -- the provider's budget, shared by every process
    async def claim_submission(self, job: Job, *, owner: str, until: float, now: float, max_in_flight: int,
                               per_minute: int | None) -> tuple[Job | None, str]:
        """Move a waiting job to SUBMITTING under `owner`'s lease if the shared in-flight cap and rate allow.

        Returns the job and "ok", or None and "taken", "full" or "budget".
        """
    async def slow_down(self, provider: str, now: float, pause: float, slow_for: float) -> None:
        """The provider said `rate limit`: no submissions for `pause` s, then half the rate for `slow_for` s."""
    async def submit_rate(self, provider: str, per_minute: int, now: float) -> int:
        """Submissions allowed in the current minute (halved while slowed down)."""
    # -- the platforms' rate budgets (Slack, Discord), shared by every process
    async def take_platform_budget(self, scope: str, *, per_second: float, burst: float, now: float,
                                   keep: float = 0.0) -> float:
        """Take one request from the scope's shared token bucket if more than `keep` stays; else seconds to wait."""
    async def block_platform_scope(self, scope: str, until: float, now: float) -> None:
        """The platform answered 429: nothing more goes to this scope until `until`, from any process."""
    async def owe_final_status(self, job_id: str, now: float) -> None:
        """Remember that the job's status message still has to show how it ended."""
    async def final_status_shown(self, job_id: str) -> None:
        """The job's status message shows how it ended: nothing is owed any more."""
    async def final_statuses_owed(self, platforms: Iterable[str], before: float, limit: int = 100) -> list[str]:
        """Jobs of these platforms whose final status has been owed since before `before` (oldest first)."""
    # -- chains of clips (Extend)
    async def chain_clips(self, root_id: str) -> list[Job]:
        """The chain's first clip and every clip made from it (branches too), by place in the chain, then age."""
    # -- first frames, readable by every process
    async def put_frame(self, name: str, data: bytes) -> None:
        """Keep a checked first frame's bytes under its file name."""
    async def get_frame(self, name: str) -> bytes | None:
        """A first frame's bytes, or None when it was never kept or has been pruned."""
    async def drop_frame(self, name: str) -> None:
        """Forget a first frame (pruning)."""
    # -- the inbox of acknowledged commands
    async def inbox_add(self, items: Sequence[InboxItem], owner: str, until: float) -> list[bool]:
        """Record every item not seen before, in one transaction; for each, whether it was new."""
    async def inbox_done(self, key: str) -> None:
        """The item has become a job or an answer: never replay it."""
    async def inbox_renew(self, owner: str, until: float) -> None:
        """Extend this process's leases on everything it is still handling."""
    async def inbox_release(self, owner: str) -> None:
        """Hand back what this process leaves unfinished."""
    async def inbox_claim(self, owner: str, platforms: Iterable[str], now: float, until: float,
                          limit: int = 100) -> list[InboxItem]:
        """Take over unfinished items whose lease has run out, oldest first."""
    async def inbox_prune(self, before: float) -> int:
        """Forget done items received before `before`."""
    # -- quota and admin
    async def usage(self, platform: str, workspace_id: str, user_id: str, *, day: str, user_limit: int,
                    workspace_limit: int) -> QuotaUsage:
        """A user's and their workspace's credits for `day`."""
    async def set_limit(self, platform: str, workspace_id: str, user_id: str, credits: int, *, set_by: str) -> None:
        """Override a user's (or with no user, the workspace's) daily credits."""
    async def set_blocked(self, platform: str, workspace_id: str, user_id: str, blocked: bool, *, set_by: str) -> None:
        """Block or unblock a member."""
    async def is_blocked(self, platform: str, workspace_id: str, user_id: str) -> bool:
        """True when the member may not make videos."""
    async def set_channel_allowed(self, platform: str, workspace_id: str, channel_id: str, allowed: bool, *,
                                  set_by: str) -> None:
        """Add a channel to (or remove it from) the allow-list."""
    async def allowed_channels(self, platform: str, workspace_id: str) -> list[str]:
        """The allow-list; empty means every channel."""
    async def set_workspace_locale(self, platform: str, workspace_id: str, locale: str, *, set_by: str) -> None:
        """Set a workspace's default language (for members whose own is unknown); audited."""
    async def workspace_locale(self, platform: str, workspace_id: str) -> str | None:
        """The workspace's default language, if an admin set one."""
    async def set_workspace_budget(self, platform: str, workspace_id: str, usd: float | None, *,
                                   set_by: str) -> None:
        """Set a workspace's own daily dollar cap (None clears it, leaving only the bot-wide one); audited."""
    async def workspace_budget(self, platform: str, workspace_id: str, *, day: str) -> WorkspaceBudget:
        """A workspace's own daily dollar cap and its spend on `day`, counted as admission counts it."""
    async def admin_log(self, platform: str, workspace_id: str, limit: int = 50) -> list[tuple[float, str, str, str]]:
        """Recent admin changes: (at, actor, action, detail)."""
    async def usage_report(self, since_day: str = "", platform: str | None = None,
                           workspace_id: str | None = None) -> list[UsageRow]:
        """Credits and dollars per day, user and workspace."""
    async def snapshot(self) -> dict[str, object]:
        """Counts for metrics."""
    # -- how long jobs take (bot/job_history.py)
    async def record_job_time(self, job_id: str, kind: str, seconds: float, finished_at: float) -> None:
        """Keep how long a job of `kind` took at the provider (once per job; the oldest of the kind pruned)."""
    async def recent_job_times(self, limit: int) -> dict[str, list[float]]:
        """The latest `limit` durations of every kind, newest first."""
    async def running_jobs(self) -> list[Job]:
        """Every job at the provider that it has taken (submitted_at set): how long the running ones have run."""
    # -- the web page
    async def gallery(self, platform: str, workspace_id: str, *, user_id: str | None = None, text: str | None = None,
                      limit: int = 20, offset: int = 0) -> list[Job]:
        """A workspace's delivered videos, newest first; optionally one user's, or those whose prompt has `text`."""
    async def workspace_queue(self, platform: str, workspace_id: str) -> list[Job]:
        """A workspace's unfinished jobs, oldest first."""
    async def workspace_members(self, platform: str, workspace_id: str) -> list[tuple[str, str]]:
        """Everyone who asked for a video in the workspace: (user id, latest name)."""
    async def put_web_login(self, token_hash: str, login: WebLogin, expires_at: float) -> None:
        """Keep a one-time login link (by its token's hash) until `expires_at`."""
    async def take_web_login(self, token_hash: str, now: float) -> WebLogin | None:
        """Use a one-time login link: whom it signs in as, or None when unknown, already used or expired."""
