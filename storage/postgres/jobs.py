"""Jobs on PostgreSQL: recording a new one under its quota, guarded status transitions, and the lookups.

The same semantics as storage/jobs.py. SQLite runs one writer at a time; here the one decision that
reads before it writes (create_job's limits) takes ADMISSION_LOCK, and every status change is a
compare-and-set (`UPDATE ... WHERE id = $n AND status = $m`) that row locks make exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.jobs import IllegalTransition, Job, JobStatus, check_transition
from bot.store import Reservation
from storage.postgres.base import ADMISSION_LOCK, PgBase, placeholders, rowcount
from storage.postgres.quota import check_limits, reserve, settle
from storage.rows import CANCELLABLE_SQL, IN_FLIGHT_SQL, TERMINAL_SQL, column, job_row, to_job


def _assignments(names: Iterable[str]) -> str:
    return ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=1))


class PgJobQueries(PgBase):
    """Mixed into PostgresStore: every write is one transaction; a status moves only along bot.jobs' table."""

    async def create_job(
        self,
        job: Job,
        *,
        day: str,
        user_limit: int,
        workspace_limit: int,
        max_in_flight: int | None = None,
        budget_usd: float | None = None,
    ) -> Reservation:
        """Check every limit and, if all hold, reserve the job's cost and record it, in one transaction."""
        async with self._tx() as db:
            # Admissions go one at a time across every process: two cannot both see the last credit.
            await db.execute("SELECT pg_advisory_xact_lock($1)", ADMISSION_LOCK)
            # A job id derived from an inbox key arrives twice when a command is replayed: record it once.
            if await db.fetchval("SELECT 1 FROM jobs WHERE id = $1", job.id):
                return Reservation(ok=False, refused_by="duplicate")
            reservation = await check_limits(db, job, day=day, user_limit=user_limit, workspace_limit=workspace_limit,
                                             max_in_flight=max_in_flight, budget_usd=budget_usd)
            if not reservation.ok:
                return reservation
            row = job_row(job)
            await db.execute(f"INSERT INTO jobs ({', '.join(row)}) VALUES ({placeholders(1, len(row))})",
                             *row.values())
            await reserve(db, job, day, self._clock())
            await db.execute("INSERT INTO job_events (job_id, status, at) VALUES ($1, $2, $3)",
                             job.id, job.status.value, job.created_at)
            return reservation

    async def get_job(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
        rows = await self._read("SELECT * FROM jobs WHERE id = $1", job_id)
        return to_job(rows[0]) if rows else None

    async def job_by_task(self, task_id: str) -> Job | None:
        """The job the provider knows by this task id."""
        rows = await self._read("SELECT * FROM jobs WHERE task_id = $1 ORDER BY created_at DESC LIMIT 1", task_id)
        return to_job(rows[0]) if rows else None

    async def transition(self, job: Job, new: JobStatus, *, detail: str | None = None, **changes: Any) -> Job:
        """Move a job from its current status to `new`, guarded at the database; settle quota at the end.

        Raises IllegalTransition when the table forbids it or the row is no longer in `job.status`.
        """
        check_transition(job.status, new)
        now = self._clock()
        updated = job.advance(new, updated_at=now, **changes)
        sets = {"status": new.value, "updated_at": now, **{k: column(v) for k, v in changes.items()}}
        n = len(sets)
        async with self._tx() as db:
            status = await db.execute(
                f"UPDATE jobs SET {_assignments(sets)} WHERE id = ${n + 1} AND status = ${n + 2}",
                *sets.values(), job.id, job.status.value,
            )
            if rowcount(status) != 1:
                raise IllegalTransition(f"job {job.id} is no longer {job.status}")
            await db.execute("INSERT INTO job_events (job_id, status, at, detail) VALUES ($1, $2, $3, $4)",
                             job.id, new.value, now, detail)
            if new in (JobStatus.FAILED, JobStatus.EXPIRED):
                await settle(db, job, "release", self._clock())
            elif new is JobStatus.DELIVERED:
                await settle(db, job, "capture", self._clock())
            elif new is JobStatus.CANCELLED:
                # Refunded only when the provider never charged for it (bot/cancel.py decides).
                await settle(db, job, "release" if updated.cancel_refunded else "capture", self._clock())
        return updated

    async def withdraw(self, job: Job) -> bool:
        """Remove a job that never left the line and was never shown, with its hold: as if never asked.

        Returns False (and changes nothing) when the job has moved on, say to a provider.
        """
        async with self._tx() as db:
            # The row stays locked to the end: nobody can take the job between the check and the deletes.
            found = await db.fetchval(
                "SELECT 1 FROM jobs WHERE id = $1 AND status = 'queued' AND task_id IS NULL AND submit_attempts = 0 "
                "FOR UPDATE", job.id)
            if found is None:
                return False
            await db.execute("DELETE FROM job_events WHERE job_id = $1", job.id)
            await db.execute("DELETE FROM quota_ledger WHERE job_id = $1", job.id)
            await db.execute("DELETE FROM jobs WHERE id = $1", job.id)
        return True

    async def request_cancel(self, job_id: str, by: str, now: float) -> bool:
        """Record that `by` asked to cancel a job still cancellable, once; its next step brought forward."""
        touched = await self._execute(
            "UPDATE jobs SET cancel_requested_at = $1, cancel_requested_by = $2, "
            "next_poll_at = LEAST(next_poll_at, $1) "
            f"WHERE id = $3 AND cancel_requested_at IS NULL AND status IN {CANCELLABLE_SQL}",
            now, by, job_id,
        )
        return touched == 1

    async def update(self, job: Job, **changes: Any) -> Job:
        """Change a job's non-status fields (poll schedule, refs, video file)."""
        if not changes:
            return job
        changes["updated_at"] = self._clock()
        # Checked before anything is written: a status changes only through `transition`.
        updated = job.replace(**changes)
        await self._execute(f"UPDATE jobs SET {_assignments(changes)} WHERE id = ${len(changes) + 1}",
                            *(column(v) for v in changes.values()), job.id)
        return updated

    async def active_jobs(self, platforms: Iterable[str] | None = None) -> list[Job]:
        """Every job not yet delivered, failed or expired, oldest first."""
        if platforms is None:
            rows = await self._read(f"SELECT * FROM jobs WHERE status NOT IN {TERMINAL_SQL} ORDER BY created_at, id")
        else:
            rows = await self._read(f"SELECT * FROM jobs WHERE status NOT IN {TERMINAL_SQL} "
                                    "AND platform = ANY($1::text[]) ORDER BY created_at, id", list(platforms))
        return [to_job(r) for r in rows]

    async def due_jobs(self, now: float, platforms: Iterable[str], expire_before: float, limit: int = 500) -> list[Job]:
        """Unfinished jobs of these platforms whose step is due and not leased: deliveries, then the most overdue.

        As storage/jobs.py: waiting jobs are left to the fair line, except those old enough to expire,
        which are returned whatever their platform.
        """
        rows = await self._read(
            f"SELECT * FROM jobs WHERE status NOT IN {TERMINAL_SQL} AND lease_until < $1 "
            # A job someone asked to cancel is due at once, whatever a step in flight rescheduled it to.
            f"AND (next_poll_at <= $1 OR (cancel_requested_at IS NOT NULL AND status IN {CANCELLABLE_SQL})) "
            "AND (status != 'queued' OR created_at < $2) "
            "AND (platform = ANY($3::text[]) OR created_at < $2) "
            # A finished video's delivery first: never cut off by the limit, nor queued behind overdue polls.
            "ORDER BY status NOT IN ('succeeded', 'delivering'), next_poll_at, created_at LIMIT $4",
            now, expire_before, list(platforms), limit,
        )
        return [to_job(r) for r in rows]

    async def count_in_flight(self) -> int:
        """Jobs the provider is working on (or being sent to it), across every platform."""
        return int(await self._pool.fetchval(f"SELECT COUNT(*) FROM jobs WHERE status IN {IN_FLIGHT_SQL}"))

    async def next_due_at(self, platforms: Iterable[str]) -> tuple[float | None, bool]:
        """When the earliest step of these platforms' jobs comes free and due; and whether any job waits in line."""
        names = list(platforms)
        if not names:
            return None, False
        # A step another process holds is due no sooner than its lease ends.
        row = await self._pool.fetchrow(
            "SELECT MIN(CASE WHEN status != 'queued' THEN GREATEST(next_poll_at, lease_until) END), "
            f"BOOL_OR(status = 'queued') FROM jobs WHERE status NOT IN {TERMINAL_SQL} "
            "AND platform = ANY($1::text[])",
            names,
        )
        return row[0], bool(row[1])

    async def finished_before(self, cutoff: float) -> list[Job]:
        """Jobs that ended (delivered, failed, expired) before `cutoff`, oldest first."""
        rows = await self._read(
            f"SELECT * FROM jobs WHERE status IN {TERMINAL_SQL} AND updated_at < $1 ORDER BY updated_at", cutoff)
        return [to_job(r) for r in rows]

    async def history(self, platform: str, user_id: str, limit: int = 10) -> list[Job]:
        """A user's newest jobs."""
        rows = await self._read(
            "SELECT * FROM jobs WHERE platform = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3",
            platform, user_id, limit,
        )
        return [to_job(r) for r in rows]

    async def events(self, job_id: str) -> list[tuple[str, float, str | None]]:
        """A job's status history: (status, time, detail), in order."""
        rows = await self._read("SELECT status, at, detail FROM job_events WHERE job_id = $1 ORDER BY id", job_id)
        return [(r["status"], r["at"], r["detail"]) for r in rows]
