"""How long recent jobs of each kind took at the provider: the shared history pacing and estimates read."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiosqlite

from bot.jobs import Job
from storage.rows import AT_PROVIDER_SQL, to_job

KEEP = 1000  # the latest durations kept per kind (bot.job_history.WHOLE reads them all); older ones are pruned
RUNNING_SQL = f"SELECT * FROM jobs WHERE status IN {AT_PROVIDER_SQL} AND submitted_at IS NOT NULL"
# The latest `limit` of every kind, newest first, in one pass over the (kind, finished_at) index.
RECENT_SQL = ("SELECT kind, seconds FROM (SELECT kind, seconds, ROW_NUMBER() OVER "
              "(PARTITION BY kind ORDER BY finished_at DESC) AS n FROM job_times) AS ranked WHERE n <= {limit} "
              "ORDER BY kind, n")


def to_jobs(rows: Sequence[Any]) -> list[Job]:
    """Rows as jobs; called in a worker thread, since 10,000 jobs in flight take 0.2 s to read."""
    return [to_job(row) for row in rows]


def by_kind(rows: Sequence[Any]) -> dict[str, list[float]]:
    """(kind, seconds) rows as each kind's durations, newest first."""
    out: dict[str, list[float]] = {}
    for kind, seconds in rows:
        out.setdefault(kind, []).append(float(seconds))
    return out


class JobTimeQueries:
    """Mixed into Store: record a job's time at the provider once, and read the latest of every kind."""

    def _write(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        raise NotImplementedError

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        raise NotImplementedError

    async def record_job_time(self, job_id: str, kind: str, seconds: float, finished_at: float) -> None:
        """Keep how long a job of `kind` took (once per job), dropping that kind's durations past the latest KEEP."""
        async with self._write() as db:
            cur = await db.execute("INSERT INTO job_times (job_id, kind, seconds, finished_at) VALUES (?, ?, ?, ?) "
                                   "ON CONFLICT (job_id) DO NOTHING", (job_id, kind, max(0.0, seconds), finished_at))
            if cur.rowcount == 1:
                await db.execute(
                    "DELETE FROM job_times WHERE kind = ? AND finished_at < (SELECT finished_at FROM job_times "
                    "WHERE kind = ? ORDER BY finished_at DESC LIMIT 1 OFFSET ?)", (kind, kind, KEEP - 1))

    async def recent_job_times(self, limit: int) -> dict[str, list[float]]:
        """The latest `limit` durations of every kind, newest first."""
        return by_kind(await self._read(RECENT_SQL.format(limit=int(limit))))

    async def running_jobs(self) -> list[Job]:
        """Every job at the provider that it has taken (submitted_at set): how long the running ones have run."""
        return await asyncio.to_thread(to_jobs, await self._read(RUNNING_SQL))
