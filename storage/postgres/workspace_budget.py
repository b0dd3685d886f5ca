"""Each workspace's own daily dollar cap on PostgreSQL; the same semantics as storage/workspace_budget.py."""

from __future__ import annotations

from typing import Any

from bot.store import WorkspaceBudget
from storage.postgres.base import PgBase
from storage.postgres.quota import WORKSPACE_BUDGET_SQL


class PgWorkspaceBudgetQueries(PgBase):
    """Mixed into PostgresStore: set, clear and read a workspace's cap; admission checks it in .quota.check_limits."""

    _audit: Any  # storage.postgres.admin.PgAdminQueries._audit: the change and its admin_log row in one transaction

    async def set_workspace_budget(self, platform: str, workspace_id: str, usd: float | None, *,
                                   set_by: str) -> None:
        """Set a workspace's own daily dollar cap (None clears it, leaving only the bot-wide one); audited."""
        if usd is not None and not usd >= 0:  # also refuses NaN, which no comparison would catch later
            raise ValueError(f"a budget is 0 dollars or more, not {usd}")
        async with self._tx() as db:
            if usd is None:
                await db.execute("DELETE FROM workspace_budgets WHERE platform = $1 AND workspace_id = $2",
                                 platform, workspace_id)
            else:
                await db.execute(
                    "INSERT INTO workspace_budgets (platform, workspace_id, usd, set_by, set_at) "
                    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (platform, workspace_id) "
                    "DO UPDATE SET usd = EXCLUDED.usd, set_by = EXCLUDED.set_by, set_at = EXCLUDED.set_at",
                    platform, workspace_id, usd, set_by, self._clock(),
                )
            await self._audit(db, platform, workspace_id, set_by, "budget", "off" if usd is None else f"{usd:.2f}")

    async def workspace_budget(self, platform: str, workspace_id: str, *, day: str) -> WorkspaceBudget:
        """A workspace's own daily dollar cap and its spend on `day`, counted as admission counts it."""
        row = await self._pool.fetchrow(WORKSPACE_BUDGET_SQL, platform, workspace_id, day)
        return WorkspaceBudget(None if row["usd"] is None else float(row["usd"]), float(row["spent"]),
                               row["set_by"], row["set_at"])
