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
TURNS_SQL = """SELECT id, platform, user_id, created_at, status_message_id, next_poll_at,
    ROW_NUMBER() OVER mine AS turn,
    FIRST_VALUE(created_at) OVER mine AS first_at,
    FIRST_VALUE(id) OVER mine AS first_id
  FROM jobs
  WHERE status = 'queued'
  WINDOW mine AS (PARTITION BY platform, user_id ORDER BY created_at, id)"""
FAIR_LINE_SQL = f"""SELECT id, platform, user_id, created_at, status_message_id, next_poll_at,
  ROW_NUMBER() OVER (ORDER BY turn, first_at, first_id) AS place
FROM ({TURNS_SQL}) AS turns"""

# One job's place, counted without ranking the whole line (the window above costs about 10 µs a
# waiting job; this is one pass over the users): 1 + every user's jobs in earlier turns + the users
# ahead of this one in its own turn. The same rule as FAIR_LINE_SQL; tests/test_fairness.py checks
# that every place equals the job's index in `queued_line`. A job not waiting is told the back of
# the line. `:id` is the job's id (PostgreSQL: $1).
POSITION_SQL = """WITH mine AS (
  SELECT platform, user_id, created_at, id FROM jobs
  WHERE status = 'queued' AND platform = (SELECT platform FROM jobs WHERE id = :id)
    AND user_id = (SELECT user_id FROM jobs WHERE id = :id)),
me AS (
  SELECT (SELECT COUNT(*) FROM mine o, jobs j WHERE j.id = :id
            AND (o.created_at < j.created_at OR (o.created_at = j.created_at AND o.id < j.id))) AS ahead,
    (SELECT MIN(created_at) FROM mine) AS first_at,
    (SELECT MIN(id) FROM mine WHERE created_at = (SELECT MIN(created_at) FROM mine)) AS first_id),
users AS (
  SELECT platform, user_id, COUNT(*) AS n, MIN(created_at) AS first_at FROM jobs WHERE status = 'queued'
  GROUP BY platform, user_id),
firsts AS (
  SELECT u.n, u.first_at,
    (SELECT MIN(f.id) FROM jobs f WHERE f.status = 'queued' AND f.platform = u.platform AND f.user_id = u.user_id
       AND f.created_at = u.first_at) AS first_id
  FROM users u)
SELECT CASE WHEN EXISTS (SELECT 1 FROM jobs WHERE id = :id AND status = 'queued') THEN 1 + (
    SELECT COALESCE(SUM(CASE WHEN f.n < me.ahead THEN f.n ELSE me.ahead END
      + CASE WHEN f.n > me.ahead AND (f.first_at < me.first_at
          OR (f.first_at = me.first_at AND f.first_id < me.first_id)) THEN 1 ELSE 0 END), 0)
    FROM firsts f, me)
  ELSE 1 + (SELECT COUNT(*) FROM jobs WHERE status = 'queued') END"""


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
        rows = await self._read(POSITION_SQL, {"id": job.id})
        return int(rows[0][0])
