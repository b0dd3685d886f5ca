"""Leases: which process holds a job's next step, and the provider's submission budget every process shares."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiosqlite

from bot.jobs import Job, JobStatus
from storage.rows import IN_FLIGHT_SQL

WINDOW = 60.0  # the provider's budget is counted over a rolling minute


class LeaseQueries:
    """Mixed into Store: a compare-and-set on (owner, until), and the shared rolling minute of submissions."""

    def _write(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        raise NotImplementedError

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        raise NotImplementedError

    async def _count(self, sql: str, params: Sequence[Any]) -> int:
        async with self._write() as db:
            cur = await db.execute(sql, params)
            return cur.rowcount

    async def take_lease(self, job: Job, owner: str, until: float, now: float) -> bool:
        """Hold the job's next step for `owner` until `until`, if nobody else holds it and its status is unchanged."""
        return await self._count(
            "UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE id = ? AND status = ? "
            "AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?)",
            (owner, until, job.id, job.status.value, owner, now),
        ) == 1

    async def renew_leases(self, owner: str, job_ids: Iterable[str], until: float) -> int:
        """Extend the leases `owner` still holds on these jobs; how many it still holds."""
        ids = list(job_ids)
        if not ids:
            return 0
        return await self._count(
            f"UPDATE jobs SET lease_until = ? WHERE lease_owner = ? AND id IN ({','.join('?' * len(ids))})",
            (until, owner, *ids),
        )

    async def release_lease(self, job_id: str, owner: str) -> None:
        """Give a job's step back at once."""
        await self._count("UPDATE jobs SET lease_owner = NULL, lease_until = 0 WHERE id = ? AND lease_owner = ?",
                          (job_id, owner))

    async def release_leases(self, owner: str) -> int:
        """Give back every lease `owner` holds (a clean stop); how many there were."""
        return await self._count("UPDATE jobs SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = ?",
                                 (owner,))

    async def lease_of(self, job_id: str) -> tuple[str | None, float]:
        """Who holds a job's step, and until when (for tests and `doctor`)."""
        rows = await self._read("SELECT lease_owner, lease_until FROM jobs WHERE id = ?", (job_id,))
        return (rows[0][0], float(rows[0][1])) if rows else (None, 0.0)

    # -- the provider's budget ------------------------------------------------------------

    async def claim_submission(
        self, job: Job, *, owner: str, until: float, now: float, max_in_flight: int, per_minute: int | None,
    ) -> tuple[Job | None, str]:
        """Move a waiting job to SUBMITTING under `owner`'s lease, if the provider's shared budget allows it.

        One write transaction decides for every process at once: the in-flight cap, the rolling minute
        of submissions, and that nobody else took the job. Returns the job and "ok", or None and why:
        "taken" (look at the next job), "full" or "budget" (submit nothing more now).
        """
        async with self._write() as db:
            rows = await db.execute_fetchall(
                "SELECT lease_owner, lease_until FROM jobs WHERE id = ? AND status = 'queued'", (job.id,))
            if not rows or (rows[0][0] not in (None, owner) and float(rows[0][1]) >= now):
                return None, "taken"
            (row,) = await db.execute_fetchall(f"SELECT COUNT(*) FROM jobs WHERE status IN {IN_FLIGHT_SQL}")
            if int(row[0]) >= max_in_flight:
                return None, "full"
            if per_minute is not None:
                paused_until, rate = await _budget(db, job.provider, per_minute, now)
                await db.execute("DELETE FROM provider_submits WHERE provider = ? AND at < ?",
                                 (job.provider, now - 2 * WINDOW))
                (row,) = await db.execute_fetchall(
                    "SELECT COUNT(*) FROM provider_submits WHERE provider = ? AND at > ?",
                    (job.provider, now - WINDOW))
                if now < paused_until or int(row[0]) >= rate:
                    return None, "budget"
                await db.execute("INSERT INTO provider_submits (provider, at) VALUES (?, ?)", (job.provider, now))
            claimed = job.advance(JobStatus.SUBMITTING, submit_attempts=job.submit_attempts + 1, updated_at=now)
            await db.execute(
                "UPDATE jobs SET status = 'submitting', submit_attempts = ?, provider = ?, price_usd = ?, "
                "updated_at = ?, lease_owner = ?, lease_until = ? WHERE id = ? AND status = 'queued'",
                (claimed.submit_attempts, claimed.provider, claimed.price_usd, now, owner, until, job.id),
            )
            await db.execute("INSERT INTO job_events (job_id, status, at) VALUES (?, 'submitting', ?)", (job.id, now))
            return claimed, "ok"

    async def slow_down(self, provider: str, now: float, pause: float, slow_for: float) -> None:
        """The provider said `rate limit`: no submissions for `pause` s, then half the rate for `slow_for` s."""
        async with self._write() as db:
            await db.execute(
                "INSERT INTO provider_budget (provider, paused_until, slow_until) VALUES (?, ?, ?) "
                "ON CONFLICT (provider) DO UPDATE SET paused_until = MAX(paused_until, excluded.paused_until), "
                "slow_until = MAX(slow_until, excluded.slow_until)",
                (provider, now + pause, now + slow_for),
            )

    async def submit_rate(self, provider: str, per_minute: int, now: float) -> int:
        """Submissions allowed in the current minute (halved while slowed down)."""
        async with self._write() as db:
            return (await _budget(db, provider, per_minute, now))[1]

    async def submit_times(self, provider: str) -> list[float]:
        """When the recent submissions to `provider` were counted, oldest first."""
        rows = await self._read("SELECT at FROM provider_submits WHERE provider = ? ORDER BY at", (provider,))
        return [float(r[0]) for r in rows]


async def _budget(db: aiosqlite.Connection, provider: str, per_minute: int, now: float) -> tuple[float, int]:
    rows = await db.execute_fetchall(
        "SELECT paused_until, slow_until FROM provider_budget WHERE provider = ?", (provider,))
    paused_until, slow_until = (float(rows[0][0]), float(rows[0][1])) if rows else (0.0, 0.0)
    rate = max(1, per_minute // 2) if now < slow_until else per_minute
    return paused_until, rate



