"""The platforms' rate budgets (Slack, Discord) as token buckets in the database, shared by every process."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiosqlite


def refill(tokens: float, at: float, *, now: float, per_second: float, burst: float) -> float:
    """The tokens a bucket holds at `now`, refilled since `at` and capped at `burst`."""
    return min(burst, tokens + max(0.0, now - at) * per_second)


def decide(tokens: float, blocked_until: float, *, now: float, per_second: float, keep: float) -> tuple[float, float]:
    """(tokens left, seconds to wait): one token is taken when more than `keep` would be left, else none."""
    if now < blocked_until:
        return tokens, blocked_until - now
    if tokens >= 1.0 + keep:
        return tokens - 1.0, 0.0
    return tokens, (1.0 + keep - tokens) / per_second


class PlatformBudgetQueries:
    """Mixed into Store: take from a scope's bucket in one write transaction, or block it after a 429."""

    def _write(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        raise NotImplementedError

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        raise NotImplementedError

    async def _write_one(self, sql: str, params: Sequence[Any]) -> None:
        raise NotImplementedError

    async def take_platform_budget(self, scope: str, *, per_second: float, burst: float, now: float,
                                   keep: float = 0.0) -> float:
        """Take one request from the scope's shared bucket if more than `keep` stays; else seconds to wait."""
        async with self._write() as db:
            rows = await db.execute_fetchall(
                "SELECT tokens, updated_at, blocked_until FROM platform_budget WHERE scope = ?", (scope,))
            tokens, at, blocked = (float(rows[0][0]), float(rows[0][1]), float(rows[0][2])) if rows \
                else (burst, now, 0.0)
            tokens = refill(tokens, at, now=now, per_second=per_second, burst=burst)
            tokens, wait = decide(tokens, blocked, now=now, per_second=per_second, keep=keep)
            await db.execute(
                "INSERT INTO platform_budget (scope, tokens, updated_at, blocked_until) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (scope) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at",
                (scope, tokens, max(now, at), blocked))
            return wait

    async def block_platform_scope(self, scope: str, until: float, now: float) -> None:
        """The platform answered 429: nothing more goes to this scope until `until`, from any process."""
        async with self._write() as db:
            await db.execute(
                "INSERT INTO platform_budget (scope, tokens, updated_at, blocked_until) VALUES (?, 0, ?, ?) "
                "ON CONFLICT (scope) DO UPDATE SET tokens = 0, updated_at = excluded.updated_at, "
                "blocked_until = MAX(platform_budget.blocked_until, excluded.blocked_until)",
                (scope, now, until))

    async def owe_final_status(self, job_id: str, now: float) -> None:
        """Remember that the job's status message still has to show how it ended."""
        await self._write_one("INSERT INTO final_status_owed (job_id, since) VALUES (?, ?) "
                              "ON CONFLICT (job_id) DO NOTHING", (job_id, now))

    async def final_status_shown(self, job_id: str) -> None:
        """The job's status message shows how it ended: nothing is owed any more."""
        await self._write_one("DELETE FROM final_status_owed WHERE job_id = ?", (job_id,))

    async def final_statuses_owed(self, platforms: Iterable[str], before: float, limit: int = 100) -> list[str]:
        """Jobs of these platforms whose final status has been owed since before `before` (oldest first)."""
        names = list(platforms)
        if not names:
            return []
        rows = await self._read(
            "SELECT o.job_id FROM final_status_owed o JOIN jobs j ON j.id = o.job_id "
            f"WHERE o.since < ? AND j.platform IN ({','.join('?' * len(names))}) ORDER BY o.since LIMIT ?",
            (before, *names, limit))
        return [str(r[0]) for r in rows]
