"""What every PostgreSQL query mixin shares: the pool, one transaction, reads, row counts, lock keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

# Keys of transaction-level advisory locks (pg_advisory_xact_lock): each names one decision that
# every process must take in turn, the way SQLite's single writer takes all of them in turn.
MIGRATE_LOCK = 0x4841_494C_0001  # applying migrations
ADMISSION_LOCK = 0x4841_494C_0002  # create_job: the limits checked and the job recorded
BUDGET_LOCK = 0x4841_494C_0003  # claim_submission: the provider's shared in-flight cap and rate


def rowcount(status: str) -> int:
    """The row count in a command tag such as 'UPDATE 3' or 'INSERT 0 1'."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def placeholders(start: int, count: int) -> str:
    """'$start, ..., $(start + count - 1)'."""
    return ", ".join(f"${i}" for i in range(start, start + count))


class PgBase:
    """The pool and the clock, and the three ways the queries use them."""

    _pool: asyncpg.Pool
    _clock: Any

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[asyncpg.Connection]:
        """One connection from the pool, in one transaction (READ COMMITTED: every statement sees the
        latest commits, so a decision taken after an advisory lock sees what the lock's last holder wrote)."""
        async with self._pool.acquire() as conn, conn.transaction():
            yield conn

    async def _read(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self._pool.fetch(sql, *args)

    async def _execute(self, sql: str, *args: Any) -> int:
        """One statement, a transaction of its own; how many rows it touched."""
        return rowcount(await self._pool.execute(sql, *args))
