"""How long recent jobs of each kind took, on PostgreSQL; the same semantics as storage/job_times.py."""

from __future__ import annotations

import asyncio

from bot.jobs import Job
from storage.job_times import KEEP, RECENT_SQL, RUNNING_SQL, by_kind, to_jobs
from storage.postgres.base import PgBase


class PgJobTimeQueries(PgBase):
    """Mixed into PostgresStore: record a job's time at the provider once, and read the latest of every kind."""

    async def record_job_time(self, job_id: str, kind: str, seconds: float, finished_at: float) -> None:
        """Keep how long a job of `kind` took (once per job), dropping that kind's durations past the latest KEEP."""
        async with self._tx() as db:
            status = await db.execute(
                "INSERT INTO job_times (job_id, kind, seconds, finished_at) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (job_id) DO NOTHING", job_id, kind, max(0.0, seconds), finished_at)
            if status.endswith(" 1"):
                await db.execute(
                    "DELETE FROM job_times WHERE kind = $1 AND finished_at < (SELECT finished_at FROM job_times "
                    "WHERE kind = $1 ORDER BY finished_at DESC LIMIT 1 OFFSET $2)", kind, KEEP - 1)

    async def recent_job_times(self, limit: int) -> dict[str, list[float]]:
        """The latest `limit` durations of every kind, newest first."""
        return by_kind(await self._read(RECENT_SQL.format(limit=int(limit))))

    async def running_jobs(self) -> list[Job]:
        """Every job at the provider that it has taken (submitted_at set): how long the running ones have run."""
        return await asyncio.to_thread(to_jobs, await self._read(RUNNING_SQL))
