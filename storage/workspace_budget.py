"""Each workspace's own daily dollar cap, set by its admins (BUDGET_DAILY_USD stays the bot-wide ceiling)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiosqlite

from bot.store import WorkspaceBudget
from storage.quota import WORKSPACE_BUDGET_SQL


class WorkspaceBudgetQueries:
    """Mixed into Store: set, clear and read a workspace's cap; admission checks it in storage.quota.check_limits."""

    _clock: Any
    _audit: Any  # storage.admin.AdminQueries._audit: the change and its admin_log row in one transaction

    def _write(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        raise NotImplementedError

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        raise NotImplementedError

    async def set_workspace_budget(self, platform: str, workspace_id: str, usd: float | None, *,
                                   set_by: str) -> None:
        """Set a workspace's own daily dollar cap (None clears it, leaving only the bot-wide one); audited."""
        if usd is not None and not usd >= 0:  # also refuses NaN, which no comparison would catch later
            raise ValueError(f"a budget is 0 dollars or more, not {usd}")
        async with self._write() as db:
            if usd is None:
                await db.execute("DELETE FROM workspace_budgets WHERE platform = ? AND workspace_id = ?",
                                 (platform, workspace_id))
            else:
                await db.execute(
                    "INSERT INTO workspace_budgets VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, workspace_id) "
                    "DO UPDATE SET usd = excluded.usd, set_by = excluded.set_by, set_at = excluded.set_at",
                    (platform, workspace_id, usd, set_by, self._clock()),
                )
            await self._audit(db, platform, workspace_id, set_by, "budget", "off" if usd is None else f"{usd:.2f}")

    async def workspace_budget(self, platform: str, workspace_id: str, *, day: str) -> WorkspaceBudget:
        """A workspace's own daily dollar cap and its spend on `day`, counted as admission counts it."""
        (row,) = await self._read(WORKSPACE_BUDGET_SQL, (platform, workspace_id, day))
        return WorkspaceBudget(None if row["usd"] is None else float(row["usd"]), float(row["spent"]),
                               row["set_by"], row["set_at"])
