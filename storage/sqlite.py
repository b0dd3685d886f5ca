"""The SQLite store: one aiosqlite connection and its write lock, with the queries mixed in by subject.

Jobs (storage.jobs), quota (storage.quota), the fair line (storage.queue), metrics (storage.reports),
schema and backup (storage.schema) and admin controls (storage.admin).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite

from storage.admin import AdminQueries
from storage.jobs import JobQueries
from storage.queue import QueueEntry, QueueQueries
from storage.quota import QuotaQueries, QuotaUsage, Reservation
from storage.reports import ReportQueries
from storage.schema import SchemaQueries

__all__ = ["BUSY_TIMEOUT_MS", "QueueEntry", "QuotaUsage", "Reservation", "Store"]

BUSY_TIMEOUT_MS = 30_000


class Store(JobQueries, QuotaQueries, QueueQueries, ReportQueries, SchemaQueries, AdminQueries):
    """Persistence for jobs and quotas on one aiosqlite connection."""

    def __init__(self, db: aiosqlite.Connection, clock: Any = time.time) -> None:
        self._db = db
        self._lock = asyncio.Lock()
        self._clock = clock

    @classmethod
    async def open(cls, path: str, clock: Any = time.time) -> Store:
        """Open (creating if needed) the database at `path` and bring its schema up to date."""
        db = await aiosqlite.connect(path, isolation_level=None)
        db.row_factory = aiosqlite.Row
        await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("PRAGMA foreign_keys = ON")
        store = cls(db, clock)
        await store.migrate()
        return store

    async def close(self) -> None:
        """Close the connection."""
        await self._db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        # One writer at a time in this process; BEGIN IMMEDIATE also serialises against
        # other processes on the same file, waiting up to the busy timeout.
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        # Every await on the connection is a hop to its thread: one per statement, not two.
        async with self._lock:
            return list(await self._db.execute_fetchall(sql, params))

    async def _write_one(self, sql: str, params: Sequence[Any]) -> None:
        # A single statement is a transaction of its own: no BEGIN/COMMIT round trips. The lock
        # keeps it out of another coroutine's open transaction on this connection.
        async with self._lock:
            await self._db.execute(sql, params)
