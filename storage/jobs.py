"""Jobs: recording a new one under its quota, guarded status transitions, and the lookups the bot runs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiosqlite

from bot.jobs import IllegalTransition, Job, JobStatus, check_transition
from storage.quota import Reservation, check_limits, reserve, settle
from storage.rows import CANCELLABLE_SQL, IN_FLIGHT_SQL, TERMINAL_SQL, column, job_row, to_job


class JobQueries:
    """Mixed into Store: every write is one transaction, and a status moves only along the table in bot.jobs."""

    _clock: Any

    def _write(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        raise NotImplementedError

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        raise NotImplementedError

    async def _write_one(self, sql: str, params: Sequence[Any]) -> None:
        raise NotImplementedError

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
        async with self._write() as db:
            # A job id derived from an inbox key arrives twice when a command is replayed: record it once.
            if await db.execute_fetchall("SELECT 1 FROM jobs WHERE id = ?", (job.id,)):
                return Reservation(ok=False, refused_by="duplicate")
            reservation = await check_limits(db, job, day=day, user_limit=user_limit, workspace_limit=workspace_limit,
                                             max_in_flight=max_in_flight, budget_usd=budget_usd)
            if not reservation.ok:
                return reservation
            row = job_row(job)
            await db.execute(
                f"INSERT INTO jobs ({','.join(row)}) VALUES ({','.join('?' * len(row))})", list(row.values())
            )
            await reserve(db, job, day, self._clock())
            await db.execute(
                "INSERT INTO job_events (job_id, status, at) VALUES (?, ?, ?)",
                (job.id, job.status.value, job.created_at),
            )
            return reservation

    async def get_job(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
        rows = await self._read("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return to_job(rows[0]) if rows else None

    async def job_by_task(self, task_id: str) -> Job | None:
        """The job the provider knows by this task id."""
        rows = await self._read("SELECT * FROM jobs WHERE task_id = ? ORDER BY created_at DESC LIMIT 1", (task_id,))
        return to_job(rows[0]) if rows else None

    async def transition(self, job: Job, new: JobStatus, *, detail: str | None = None, **changes: Any) -> Job:
        """Move a job from its current status to `new`, guarded at the database; settle quota at the end.

        Raises IllegalTransition when the table forbids it or the row is no longer in `job.status`.
        """
        check_transition(job.status, new)
        now = self._clock()
        updated = job.advance(new, updated_at=now, **changes)
        sets = {"status": new.value, "updated_at": now, **{k: column(v) for k, v in changes.items()}}
        async with self._write() as db:
            cur = await db.execute(
                f"UPDATE jobs SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ? AND status = ?",
                [*sets.values(), job.id, job.status.value],
            )
            if cur.rowcount != 1:
                raise IllegalTransition(f"job {job.id} is no longer {job.status}")
            await db.execute(
                "INSERT INTO job_events (job_id, status, at, detail) VALUES (?, ?, ?, ?)",
                (job.id, new.value, now, detail),
            )
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
        async with self._write() as db:
            # One write transaction: nobody can take the job between the check and the deletes.
            rows = await db.execute_fetchall(
                "SELECT 1 FROM jobs WHERE id = ? AND status = 'queued' AND task_id IS NULL AND submit_attempts = 0",
                (job.id,),
            )
            if not rows:
                return False
            await db.execute("DELETE FROM job_events WHERE job_id = ?", (job.id,))
            await db.execute("DELETE FROM quota_ledger WHERE job_id = ?", (job.id,))
            await db.execute("DELETE FROM jobs WHERE id = ?", (job.id,))
        return True

    async def request_cancel(self, job_id: str, by: str, now: float) -> bool:
        """Record that `by` asked to cancel a job still cancellable, once; its next step brought forward."""
        async with self._write() as db:
            cur = await db.execute(
                "UPDATE jobs SET cancel_requested_at = ?, cancel_requested_by = ?, next_poll_at = MIN(next_poll_at, ?) "
                f"WHERE id = ? AND cancel_requested_at IS NULL AND status IN {CANCELLABLE_SQL}",
                (now, by, now, job_id),
            )
            return cur.rowcount == 1

    async def update(self, job: Job, **changes: Any) -> Job:
        """Change a job's non-status fields (poll schedule, refs, video file)."""
        if not changes:
            return job
        changes["updated_at"] = self._clock()
        # Checked before anything is written: a status changes only through `transition`.
        updated = job.replace(**changes)
        await self._write_one(f"UPDATE jobs SET {', '.join(f'{k} = ?' for k in changes)} WHERE id = ?",
                              [*(column(v) for v in changes.values()), job.id])
        return updated

    async def active_jobs(self, platforms: Iterable[str] | None = None) -> list[Job]:
        """Every job not yet delivered, failed or expired, oldest first."""
        sql = f"SELECT * FROM jobs WHERE status NOT IN {TERMINAL_SQL}"
        params: list[Any] = []
        if platforms is not None:
            names = list(platforms)
            sql += f" AND platform IN ({','.join('?' * len(names))})"
            params += names
        rows = await self._read(sql + " ORDER BY created_at, id", params)
        return [to_job(r) for r in rows]

    async def due_jobs(self, now: float, platforms: Iterable[str], expire_before: float, limit: int = 500) -> list[Job]:
        """Unfinished jobs of these platforms whose step is due and not leased: deliveries, then the most overdue.

        Jobs waiting for a provider slot are left out (the poller takes them from the fair line, as
        many as there are slots), except those that arrived before `expire_before` and must expire;
        those are returned whatever their platform, so a job nobody can deliver still ends.
        """
        names = list(platforms)
        mine = f"platform IN ({','.join('?' * len(names))})" if names else "0"
        rows = await self._read(
            f"SELECT * FROM jobs WHERE status NOT IN {TERMINAL_SQL} AND lease_until < ? "
            # A job someone asked to cancel is due at once, whatever a step in flight rescheduled it to.
            f"AND (next_poll_at <= ? OR (cancel_requested_at IS NOT NULL AND status IN {CANCELLABLE_SQL})) "
            "AND (status != 'queued' OR created_at < ?) "
            f"AND ({mine} OR created_at < ?) "
            # A finished video's delivery first: never cut off by the limit, nor queued behind overdue polls.
            "ORDER BY status NOT IN ('succeeded', 'delivering'), next_poll_at, created_at LIMIT ?",
            [now, now, expire_before, *names, expire_before, limit],
        )
        return [to_job(r) for r in rows]

    async def count_in_flight(self) -> int:
        """Jobs the provider is working on (or being sent to it), across every platform."""
        rows = await self._read(f"SELECT COUNT(*) FROM jobs WHERE status IN {IN_FLIGHT_SQL}")
        return int(rows[0][0])

    async def next_due_at(self, platforms: Iterable[str]) -> tuple[float | None, bool]:
        """When the earliest step of these platforms' jobs comes free and due; and whether any job waits in line."""
        names = list(platforms)
        if not names:
            return None, False
        # A step another process holds is due no sooner than its lease ends.
        rows = await self._read(
            "SELECT MIN(CASE WHEN status != 'queued' THEN MAX(next_poll_at, lease_until) END), "
            f"MAX(status = 'queued') FROM jobs WHERE status NOT IN {TERMINAL_SQL} "
            f"AND platform IN ({','.join('?' * len(names))})",
            names,
        )
        return rows[0][0], bool(rows[0][1])

    async def finished_before(self, cutoff: float) -> list[Job]:
        """Jobs that ended (delivered, failed, expired) before `cutoff`, oldest first."""
        rows = await self._read(
            f"SELECT * FROM jobs WHERE status IN {TERMINAL_SQL} AND updated_at < ? ORDER BY updated_at", (cutoff,)
        )
        return [to_job(r) for r in rows]

    async def history(self, platform: str, user_id: str, limit: int = 10) -> list[Job]:
        """A user's newest jobs."""
        rows = await self._read(
            "SELECT * FROM jobs WHERE platform = ? AND user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
            (platform, user_id, limit),
        )
        return [to_job(r) for r in rows]

    async def events(self, job_id: str) -> list[tuple[str, float, str | None]]:
        """A job's status history: (status, time, detail), in order."""
        rows = await self._read(
            "SELECT status, at, detail FROM job_events WHERE job_id = ? ORDER BY id", (job_id,)
        )
        return [(r["status"], r["at"], r["detail"]) for r in rows]
