"""The SQLite store: one aiosqlite connection and its write lock, with the queries mixed in by subject.

Jobs (storage.jobs), quota (storage.quota), the fair line (storage.queue), metrics (storage.reports),
schema and backup (storage.schema), admin controls (storage.admin), workspace budgets
(storage.workspace_budget) and presets (storage.presets).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite

from bot.store import StoreUnavailable
from storage.admin import AdminQueries
from storage.chains import ChainQueries
from storage.frames import FrameQueries
from storage.inbox import InboxQueries
from storage.job_times import JobTimeQueries
from storage.jobs import JobQueries
from storage.leases import LeaseQueries
from storage.platform_budget import PlatformBudgetQueries
from storage.presets import PresetQueries
from storage.queue import QueueQueries
from storage.quota import QuotaQueries
from storage.reports import ReportQueries
from storage.schema import SchemaQueries
from storage.web import WebQueries
from storage.workspace_budget import WorkspaceBudgetQueries

__all__ = ["BUSY_TIMEOUT_MS", "SQLiteStore"]

BUSY_TIMEOUT_MS = 30_000


class SQLiteStore(JobQueries, LeaseQueries, PlatformBudgetQueries, FrameQueries, InboxQueries, QuotaQueries,
                  QueueQueries, ReportQueries, SchemaQueries, AdminQueries, WebQueries, WorkspaceBudgetQueries,
                  ChainQueries, PresetQueries, JobTimeQueries):
    """Persistence for jobs and quotas on one aiosqlite connection."""

    def __init__(self, db: aiosqlite.Connection, clock: Any = time.time) -> None:
        self._db = db
        self._lock = asyncio.Lock()
        self._clock = clock

    @classmethod
    async def open(cls, path: str, clock: Any = time.time) -> SQLiteStore:
        """Open (creating if needed) the database at `path` and bring its schema up to date.

        Raises StoreUnavailable, in words naming DATABASE_URL, when the file cannot be used.
        """
        try:
            db = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.DatabaseError as exc:
            raise StoreUnavailable(_explain(path, exc)) from None
        try:
            db.row_factory = aiosqlite.Row
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await _with_retries(db, "PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA foreign_keys = ON")
            store = cls(db, clock)
            await store.migrate()
        except sqlite3.DatabaseError as exc:
            await db.close()  # its thread would otherwise keep the process alive
            raise StoreUnavailable(_explain(path, exc)) from None
        except BaseException:
            await db.close()
            raise
        return store

    async def close(self) -> None:
        """Close the connection."""
        await self._db.close()

    async def __aenter__(self) -> SQLiteStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        # One writer at a time in this process; BEGIN IMMEDIATE also serialises against
        # other processes on the same file, waiting up to the busy timeout.
        async with self._lock:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                yield self._db
            except BaseException:
                # Also when cancelled while BEGIN was queued: the connection's thread runs it anyway,
                # and a transaction left open would break every later write on this connection.
                await _rollback(self._db)
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


async def _rollback(db: aiosqlite.Connection) -> None:
    try:
        await db.execute("ROLLBACK")
    except sqlite3.OperationalError:
        pass  # no transaction was open (BEGIN itself failed)


async def _with_retries(db: aiosqlite.Connection, sql: str, seconds: float = BUSY_TIMEOUT_MS / 1000) -> None:
    # Switching to WAL takes the file's exclusive lock and does not wait on the busy handler: when
    # many processes open a new file at once, all but one are told "locked" and must try again.
    deadline = time.monotonic() + seconds
    while True:
        try:
            await db.execute(sql)
            return
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


def _explain(path: str, exc: sqlite3.DatabaseError) -> str:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return f"DATABASE_URL: {path} is not a SQLite database (or is damaged); point DATABASE_URL at another file"
    if "unable to open" in text or "readonly" in text:
        return f"DATABASE_URL: cannot open and write {path}; check the file's and its folder's permissions"
    return f"DATABASE_URL: {path} cannot be used ({text})"
