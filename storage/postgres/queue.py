"""The fair line and the metrics snapshot on PostgreSQL: storage/queue.py's SQL text, run as it is."""

from __future__ import annotations

from bot.jobs import Job
from bot.store import QueueEntry
from storage.postgres.base import PgBase
from storage.queue import FAIR_LINE_SQL, POSITION_SQL
from storage.rows import IN_FLIGHT

_POSITION_SQL = POSITION_SQL.replace(":id", "$1")


class PgQueueQueries(PgBase):
    """Mixed into PostgresStore: the waiting jobs in fair order, one job's place, and counts for metrics."""

    async def queued_line(self) -> list[QueueEntry]:
        """Every waiting job, in fair order (cheap: no request parsing)."""
        rows = await self._read(FAIR_LINE_SQL + " ORDER BY place")
        return [QueueEntry(*tuple(r)[:6]) for r in rows]

    async def queue_position(self, job: Job) -> int:
        """A waiting job's 1-based place in `queued_line`, counted in the database: no queue to load."""
        return int(await self._pool.fetchval(_POSITION_SQL, job.id))

    async def snapshot(self) -> dict[str, object]:
        """Counts for metrics: jobs by status, jobs at the provider, credits by ledger step, dollars."""
        jobs = {r[0]: r[1] for r in await self._read("SELECT status, COUNT(*) FROM jobs GROUP BY status")}
        credits = {r[0]: r[1] for r in await self._read("SELECT kind, SUM(credits) FROM quota_ledger GROUP BY kind")}
        usd = await self._pool.fetchval("SELECT COALESCE(SUM(price_usd), 0) FROM jobs WHERE status = 'delivered'")
        in_flight = sum(jobs.get(s, 0) for s in IN_FLIGHT)
        return {"jobs": jobs, "credits": credits, "usd": float(usd), "in_flight": in_flight}
