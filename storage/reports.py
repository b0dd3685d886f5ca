"""Counts for metrics, read straight from the tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite

from storage.rows import IN_FLIGHT


class ReportQueries:
    """Mixed into Store: the metrics snapshot."""

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        raise NotImplementedError

    async def snapshot(self) -> dict[str, object]:
        """Counts for metrics: jobs by status, jobs at the provider, credits by ledger step, dollars."""
        jobs = {r[0]: r[1] for r in await self._read("SELECT status, COUNT(*) FROM jobs GROUP BY status")}
        credits = {r[0]: r[1] for r in await self._read("SELECT kind, SUM(credits) FROM quota_ledger GROUP BY kind")}
        usd = (await self._read("SELECT COALESCE(SUM(price_usd), 0) FROM jobs WHERE status = 'delivered'"))[0][0]
        in_flight = sum(jobs.get(s, 0) for s in IN_FLIGHT)
        return {"jobs": jobs, "credits": credits, "usd": float(usd), "in_flight": in_flight}
