"""Leases on PostgreSQL: which process holds a job's next step, and the provider's budget every process shares.

The same semantics as storage/leases.py. A lease is a compare-and-set on (owner, until) in one UPDATE;
PostgreSQL re-checks the WHERE clause on the newest row version when two processes race, so one wins.
claim_submission takes BUDGET_LOCK, so the in-flight cap and the rolling minute are decided by one
process at a time, and locks the job's row, so nobody takes it between the check and the move.
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg

from bot.jobs import Job, JobStatus
from storage.postgres.base import BUDGET_LOCK, PgBase
from storage.rows import IN_FLIGHT_SQL

WINDOW = 60.0  # the provider's budget is counted over a rolling minute


class PgLeaseQueries(PgBase):
    """Mixed into PostgresStore: leases, and the shared rolling minute of submissions."""

    async def take_lease(self, job: Job, owner: str, until: float, now: float) -> bool:
        """Hold the job's next step for `owner` until `until`, if nobody else holds it and its status is unchanged."""
        return await self._execute(
            "UPDATE jobs SET lease_owner = $1, lease_until = $2 WHERE id = $3 AND status = $4 "
            "AND (lease_owner IS NULL OR lease_owner = $1 OR lease_until < $5)",
            owner, until, job.id, job.status.value, now,
        ) == 1

    async def renew_leases(self, owner: str, job_ids: Iterable[str], until: float) -> int:
        """Extend the leases `owner` still holds on these jobs; how many it still holds."""
        ids = list(job_ids)
        if not ids:
            return 0
        return await self._execute(
            "UPDATE jobs SET lease_until = $1 WHERE lease_owner = $2 AND id = ANY($3::text[])", until, owner, ids)

    async def release_lease(self, job_id: str, owner: str) -> None:
        """Give a job's step back at once."""
        await self._execute("UPDATE jobs SET lease_owner = NULL, lease_until = 0 WHERE id = $1 AND lease_owner = $2",
                            job_id, owner)

    async def release_leases(self, owner: str) -> int:
        """Give back every lease `owner` holds (a clean stop); how many there were."""
        return await self._execute("UPDATE jobs SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = $1", owner)

    async def lease_of(self, job_id: str) -> tuple[str | None, float]:
        """Who holds a job's step, and until when (for tests and `doctor`)."""
        row = await self._pool.fetchrow("SELECT lease_owner, lease_until FROM jobs WHERE id = $1", job_id)
        return (row[0], float(row[1])) if row else (None, 0.0)

    # -- the provider's budget ------------------------------------------------------------

    async def claim_submission(
        self, job: Job, *, owner: str, until: float, now: float, max_in_flight: int, per_minute: int | None,
    ) -> tuple[Job | None, str]:
        """Move a waiting job to SUBMITTING under `owner`'s lease, if the provider's shared budget allows it.

        Returns the job and "ok", or None and why: "taken" (look at the next job), "full" or "budget"
        (submit nothing more now).
        """
        async with self._tx() as db:
            await db.execute("SELECT pg_advisory_xact_lock($1)", BUDGET_LOCK)
            row = await db.fetchrow(
                "SELECT lease_owner, lease_until FROM jobs WHERE id = $1 AND status = 'queued' FOR UPDATE", job.id)
            if row is None or (row[0] not in (None, owner) and float(row[1]) >= now):
                return None, "taken"
            if int(await db.fetchval(f"SELECT COUNT(*) FROM jobs WHERE status IN {IN_FLIGHT_SQL}")) >= max_in_flight:
                return None, "full"
            if per_minute is not None:
                paused_until, rate = await _budget(db, job.provider, per_minute, now)
                await db.execute("DELETE FROM provider_submits WHERE provider = $1 AND at < $2",
                                 job.provider, now - 2 * WINDOW)
                recent = await db.fetchval("SELECT COUNT(*) FROM provider_submits WHERE provider = $1 AND at > $2",
                                           job.provider, now - WINDOW)
                if now < paused_until or int(recent) >= rate:
                    return None, "budget"
                await db.execute("INSERT INTO provider_submits (provider, at) VALUES ($1, $2)", job.provider, now)
            claimed = job.advance(JobStatus.SUBMITTING, submit_attempts=job.submit_attempts + 1, updated_at=now)
            await db.execute(
                "UPDATE jobs SET status = 'submitting', submit_attempts = $1, provider = $2, updated_at = $3, "
                "lease_owner = $4, lease_until = $5, price_usd = $7 WHERE id = $6 AND status = 'queued'",
                claimed.submit_attempts, claimed.provider, now, owner, until, job.id, claimed.price_usd,
            )
            await db.execute("INSERT INTO job_events (job_id, status, at) VALUES ($1, 'submitting', $2)", job.id, now)
            return claimed, "ok"

    async def slow_down(self, provider: str, now: float, pause: float, slow_for: float) -> None:
        """The provider said `rate limit`: no submissions for `pause` s, then half the rate for `slow_for` s."""
        await self._execute(
            "INSERT INTO provider_budget (provider, paused_until, slow_until) VALUES ($1, $2, $3) "
            "ON CONFLICT (provider) DO UPDATE SET "
            "paused_until = GREATEST(provider_budget.paused_until, EXCLUDED.paused_until), "
            "slow_until = GREATEST(provider_budget.slow_until, EXCLUDED.slow_until)",
            provider, now + pause, now + slow_for,
        )

    async def submit_rate(self, provider: str, per_minute: int, now: float) -> int:
        """Submissions allowed in the current minute (halved while slowed down)."""
        async with self._pool.acquire() as db:
            return (await _budget(db, provider, per_minute, now))[1]

    async def submit_times(self, provider: str) -> list[float]:
        """When the recent submissions to `provider` were counted, oldest first."""
        rows = await self._read("SELECT at FROM provider_submits WHERE provider = $1 ORDER BY at", provider)
        return [float(r[0]) for r in rows]


async def _budget(db: asyncpg.Connection, provider: str, per_minute: int, now: float) -> tuple[float, int]:
    row = await db.fetchrow("SELECT paused_until, slow_until FROM provider_budget WHERE provider = $1", provider)
    paused_until, slow_until = (float(row[0]), float(row[1])) if row else (0.0, 0.0)
    rate = max(1, per_minute // 2) if now < slow_until else per_minute
    return paused_until, rate
