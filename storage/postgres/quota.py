"""Quota on PostgreSQL: the limits a new job must fit under, and the credit ledger (reserve, then capture or release).

The same rules as storage/quota.py, statement for statement; only the placeholders and casts differ.
"""

from __future__ import annotations

import asyncpg

from bot.jobs import Job
from bot.store import QuotaUsage, Reservation
from storage.postgres.base import PgBase
from storage.rows import SPENT_SQL, TERMINAL_SQL

_USED_SQL = "COALESCE(SUM(CASE kind WHEN 'reserve' THEN credits WHEN 'release' THEN -credits ELSE 0 END), 0)"
# $1 platform, $2 workspace, $3 user, $4 day
_QUOTA_SQL = f"""SELECT
  (SELECT daily_credits FROM quota_limits WHERE platform = $1 AND workspace_id = $2 AND user_id = $3) AS user_limit,
  (SELECT daily_credits FROM quota_limits WHERE platform = $1 AND workspace_id = $2 AND user_id = '') AS ws_limit,
  (SELECT {_USED_SQL} FROM quota_ledger WHERE platform = $1 AND user_id = $3 AND day = $4) AS used,
  (SELECT {_USED_SQL} FROM quota_ledger WHERE platform = $1 AND workspace_id = $2 AND day = $4) AS ws_used,
  (SELECT COALESCE(SUM(credits), 0) FROM quota_ledger r WHERE kind = 'reserve' AND platform = $1
     AND user_id = $3 AND day = $4 AND NOT EXISTS (SELECT 1 FROM quota_ledger s
     WHERE s.job_id = r.job_id AND s.kind IN ('capture', 'release'))) AS held"""

# As storage/quota.py: a workspace's own dollar cap (NULL when it has none) and its spend on a day, counted as
# the bot-wide budget is. $1 platform, $2 workspace, $3 day.
WORKSPACE_BUDGET_SQL = f"""SELECT
  (SELECT usd FROM workspace_budgets WHERE platform = $1 AND workspace_id = $2) AS usd,
  (SELECT COALESCE(SUM(price_usd), 0) FROM jobs WHERE platform = $1 AND workspace_id = $2 AND day = $3
     AND {SPENT_SQL}) AS spent,
  (SELECT set_by FROM workspace_budgets WHERE platform = $1 AND workspace_id = $2) AS set_by,
  (SELECT set_at FROM workspace_budgets WHERE platform = $1 AND workspace_id = $2) AS set_at"""

# What admission needs of it: no row (and no sum to add up) for a workspace without a cap of its own.
_CAP_SQL = f"""SELECT usd, (SELECT COALESCE(SUM(price_usd), 0) FROM jobs
  WHERE platform = $1 AND workspace_id = $2 AND day = $3 AND {SPENT_SQL})
  FROM workspace_budgets WHERE platform = $1 AND workspace_id = $2"""


async def check_limits(
    db: asyncpg.Connection,
    job: Job,
    *,
    day: str,
    user_limit: int,
    workspace_limit: int,
    max_in_flight: int | None,
    budget_usd: float | None,
) -> Reservation:
    """Whether `job` fits under every limit; run inside the transaction (holding ADMISSION_LOCK) that records it."""
    if max_in_flight is not None:
        running = int(await db.fetchval(
            f"SELECT COUNT(*) FROM jobs WHERE platform = $1 AND user_id = $2 AND status NOT IN {TERMINAL_SQL} "
            "AND status NOT IN ('succeeded', 'delivering')",
            job.platform, job.user_id,
        ))
        if running >= max_in_flight:
            return Reservation(False, "in_flight", max_in_flight, running)
    if budget_usd is not None:
        spent = float(await db.fetchval(
            f"SELECT COALESCE(SUM(price_usd), 0) FROM jobs WHERE day = $1 AND {SPENT_SQL}",
            day,
        ))
        if spent + job.price_usd > budget_usd + 1e-9:
            return Reservation(False, "budget", 0, 0, spent, budget_usd)
    # Read under ADMISSION_LOCK, as the bot-wide spend is: two processes cannot both spend the last dollar of it.
    row = await db.fetchrow(_CAP_SQL, job.platform, job.workspace_id, day)
    if row is not None and float(row[1]) + job.price_usd > float(row[0]) + 1e-9:
        return Reservation(False, "workspace_budget", 0, 0, float(row[1]), float(row[0]))
    quota = await read_quota(db, job.platform, job.workspace_id, job.user_id, day, user_limit, workspace_limit)
    if quota.user_used + job.cost > quota.user_limit:
        return Reservation(False, "user", quota.user_limit, quota.user_used)
    if quota.workspace_used + job.cost > quota.workspace_limit:
        return Reservation(False, "workspace", quota.workspace_limit, quota.workspace_used)
    return Reservation(True, None, quota.user_limit, quota.user_used + job.cost)


async def read_quota(db: asyncpg.Connection | asyncpg.Pool, platform: str, ws: str, user: str, day: str,
                     user_default: int, ws_default: int) -> QuotaUsage:
    """Limits (an override, else the default), credits used and credits on hold, in one statement."""
    row = await db.fetchrow(_QUOTA_SQL, platform, ws, user, day)
    user_limit = user_default if row["user_limit"] is None else int(row["user_limit"])
    ws_limit = ws_default if row["ws_limit"] is None else int(row["ws_limit"])
    return QuotaUsage(int(row["used"]), int(row["held"]), user_limit, int(row["ws_used"]), ws_limit)


async def reserve(db: asyncpg.Connection, job: Job, day: str, at: float) -> None:
    """Hold the job's cost against `day` (the job row must exist: the ledger refers to it)."""
    await db.execute(
        "INSERT INTO quota_ledger (job_id, platform, workspace_id, user_id, day, kind, credits, at) "
        "VALUES ($1, $2, $3, $4, $5, 'reserve', $6, $7)",
        job.id, job.platform, job.workspace_id, job.user_id, day, job.cost, at,
    )


async def settle(db: asyncpg.Connection, job: Job, kind: str, at: float) -> None:
    """End the job's hold with `kind` ('capture' or 'release'): exactly once, against the day it was reserved."""
    await db.execute(
        "INSERT INTO quota_ledger (job_id, platform, workspace_id, user_id, day, kind, credits, at) "
        "SELECT job_id, platform, workspace_id, user_id, day, $1::text, credits, $2::double precision "
        "FROM quota_ledger r WHERE job_id = $3 AND kind = 'reserve' AND NOT EXISTS (SELECT 1 FROM quota_ledger s "
        "WHERE s.job_id = r.job_id AND s.kind IN ('capture', 'release'))",
        kind, at, job.id,
    )


class PgQuotaQueries(PgBase):
    """Mixed into PostgresStore: a user's credits for a day, and a job's ledger rows."""

    async def usage(
        self, platform: str, workspace_id: str, user_id: str, *, day: str, user_limit: int, workspace_limit: int
    ) -> QuotaUsage:
        """A user's and their workspace's credits for `day`."""
        return await read_quota(self._pool, platform, workspace_id, user_id, day, user_limit, workspace_limit)

    async def ledger(self, job_id: str) -> list[tuple[str, int, str]]:
        """A job's ledger rows: (kind, credits, day)."""
        rows = await self._read("SELECT kind, credits, day FROM quota_ledger WHERE job_id = $1 ORDER BY id", job_id)
        return [(r["kind"], r["credits"], r["day"]) for r in rows]
