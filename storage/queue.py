"""The fair line of jobs waiting for a provider slot, defined once, in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite

from bot.jobs import Job
from bot.store import QueueEntry

# The fair order: round-robin across users. A job's turn is its place among its user's waiting
# jobs (by arrival: created_at, then id); turn 1 of every user comes before any turn 2, and so on.
# Inside a turn, users go in the order of their first waiting job (created_at, then id).
# Standard SQL window functions only, so the same text runs on PostgreSQL.
FAIR_LINE_SQL = """SELECT id, platform, user_id, created_at, status_message_id, next_poll_at,
  ROW_NUMBER() OVER (ORDER BY turn, first_at, first_id) AS place
FROM (
  SELECT id, platform, user_id, created_at, status_message_id, next_poll_at,
    ROW_NUMBER() OVER mine AS turn,
    FIRST_VALUE(created_at) OVER mine AS first_at,
    FIRST_VALUE(id) OVER mine AS first_id
  FROM jobs
  WHERE status = 'queued'
  WINDOW mine AS (PARTITION BY platform, user_id ORDER BY created_at, id)
) AS turns"""

# A job not (or no longer) waiting is told the back of the line.
_POSITION_SQL = f"SELECT COALESCE(MAX(CASE WHEN id = ? THEN place END), COUNT(*) + 1) FROM ({FAIR_LINE_SQL}) AS line"


class QueueQueries:
    """Mixed into Store: the waiting jobs, their fair order, and one job's place in it."""

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        raise NotImplementedError

    async def queued_line(self) -> list[QueueEntry]:
        """Every waiting job, in fair order (cheap: no request parsing)."""
        rows = await self._read(FAIR_LINE_SQL + " ORDER BY place")
        return [QueueEntry(*r[:6]) for r in rows]

    async def queue_position(self, job: Job) -> int:
        """A waiting job's 1-based place in `queued_line`, counted in the database: no queue to load."""
        rows = await self._read(_POSITION_SQL, (job.id,))
        return int(rows[0][0])
