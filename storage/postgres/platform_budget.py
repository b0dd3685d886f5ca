"""The platforms' rate budgets on PostgreSQL: the same token buckets as storage/platform_budget.py.

Each take locks the scope's row (INSERT ... ON CONFLICT DO NOTHING, then SELECT ... FOR UPDATE), so two
processes taking from one bucket at once are decided one after the other.
"""

from __future__ import annotations

from collections.abc import Iterable

from storage.platform_budget import decide, refill
from storage.postgres.base import PgBase


class PgPlatformBudgetQueries(PgBase):
    """Mixed into PostgresStore: take from a scope's bucket under a row lock, or block it after a 429."""

    async def take_platform_budget(self, scope: str, *, per_second: float, burst: float, now: float,
                                   keep: float = 0.0) -> float:
        """Take one request from the scope's shared bucket if more than `keep` stays; else seconds to wait."""
        async with self._tx() as db:
            await db.execute("INSERT INTO platform_budget (scope, tokens, updated_at) VALUES ($1, $2, $3) "
                             "ON CONFLICT (scope) DO NOTHING", scope, burst, now)
            row = await db.fetchrow("SELECT tokens, updated_at, blocked_until FROM platform_budget "
                                    "WHERE scope = $1 FOR UPDATE", scope)
            at = float(row[1])
            tokens = refill(float(row[0]), at, now=now, per_second=per_second, burst=burst)
            tokens, wait = decide(tokens, float(row[2]), now=now, per_second=per_second, keep=keep)
            await db.execute("UPDATE platform_budget SET tokens = $2, updated_at = $3 WHERE scope = $1",
                             scope, tokens, max(now, at))
            return wait

    async def block_platform_scope(self, scope: str, until: float, now: float) -> None:
        """The platform answered 429: nothing more goes to this scope until `until`, from any process."""
        await self._execute(
            "INSERT INTO platform_budget (scope, tokens, updated_at, blocked_until) VALUES ($1, 0, $2, $3) "
            "ON CONFLICT (scope) DO UPDATE SET tokens = 0, updated_at = EXCLUDED.updated_at, "
            "blocked_until = GREATEST(platform_budget.blocked_until, EXCLUDED.blocked_until)", scope, now, until)

    async def owe_final_status(self, job_id: str, now: float) -> None:
        """Remember that the job's status message still has to show how it ended."""
        await self._execute("INSERT INTO final_status_owed (job_id, since) VALUES ($1, $2) "
                            "ON CONFLICT (job_id) DO NOTHING", job_id, now)

    async def final_status_shown(self, job_id: str) -> None:
        """The job's status message shows how it ended: nothing is owed any more."""
        await self._execute("DELETE FROM final_status_owed WHERE job_id = $1", job_id)

    async def final_statuses_owed(self, platforms: Iterable[str], before: float, limit: int = 100) -> list[str]:
        """Jobs of these platforms whose final status has been owed since before `before` (oldest first)."""
        rows = await self._read(
            "SELECT o.job_id FROM final_status_owed o JOIN jobs j ON j.id = o.job_id "
            "WHERE o.since < $1 AND j.platform = ANY($2::text[]) ORDER BY o.since LIMIT $3",
            before, list(platforms), limit)
        return [str(r[0]) for r in rows]
