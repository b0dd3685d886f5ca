"""Moving an install to another database: `hailuo-bot db copy SOURCE_URL TARGET_URL`.

Both ends are opened with open_store, so both are at the latest migration and hold the same tables
with the same columns. The source is read in one snapshot; the target is written in one transaction
that first checks it is empty (holding its write lock, so nothing slips in between), then takes every
row with its id, status and timestamps unchanged; a failure anywhere leaves the target as it was.
Leases are cleared (the processes that held them belong to the old install); the provider's rolling
budget (`provider_budget`, `provider_submits`) is not copied. On PostgreSQL the identity sequences
are moved past the copied ids, so later inserts do not collide.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from bot.config import database_kind
from bot.store import Store
from storage.sqlite import SQLiteStore

# In the order they are written: job_events refers to jobs.
TABLES = ("jobs", "job_events", "quota_ledger", "quota_limits", "blocked_users", "allowed_channels", "admin_log",
          "frames", "workspace_locales", "workspace_budgets", "presets", "preset_defaults", "job_times", "inbox")
_ORDER = {"jobs": "created_at, id", "quota_limits": "platform, workspace_id, user_id",
          "blocked_users": "platform, workspace_id, user_id", "allowed_channels": "platform, workspace_id, channel_id",
          "frames": "name", "inbox": "received_at, key", "workspace_locales": "platform, workspace_id",
          "workspace_budgets": "platform, workspace_id", "presets": "platform, workspace_id, owner, name",
          "preset_defaults": "platform, workspace_id, user_id", "job_times": "finished_at, job_id"}
IDENTITY = ("job_events", "quota_ledger", "admin_log")  # their `id` is an identity column on PostgreSQL
_CLEARED = {"lease_owner": None, "lease_until": 0.0}  # jobs, inbox: nobody holds anything in the new database
BATCH = 500


class CopyRefused(Exception):
    """The copy cannot start (the target already holds data); nothing was changed. One plain line."""


class CopyFailed(Exception):
    """A table could not be copied (the target rejected a row, a connection broke); the target was rolled back."""

    def __init__(self, table: str, exc: BaseException) -> None:
        super().__init__(f"at {table}: {type(exc).__name__}: {exc}")
        self.table = table


def shown(url: str) -> str:
    """The URL fit to print: a PostgreSQL password masked."""
    try:
        if database_kind(url) == "postgresql":
            from storage.postgres.connect import redact

            return redact(url)
    except ValueError:
        pass
    return url


def scrub(text: str, *urls: str) -> str:
    """`text` with the password of any of `urls` masked, on one line."""
    line = " ".join(text.split())
    for url in urls:
        try:
            password = urlsplit(url).password
        except ValueError:
            password = None
        if password:
            line = line.replace(password, "***")
    return line


async def copy_database(source: Store, target: Store) -> dict[str, int]:
    """Copy every table in TABLES from `source` into the empty `target`; rows copied per table.

    Raises CopyRefused, having changed nothing, when the target holds any row in those tables, and
    CopyFailed, the target's transaction rolled back, when a table cannot be copied.
    """
    src, dst = _side(source), _side(target)
    counts = dict.fromkeys(TABLES, 0)
    async with dst.writing():
        held = {t: n for t in TABLES if (n := await dst.count(t))}
        if held:
            rows = ", ".join(f"{n} {t}" for t, n in held.items())
            raise CopyRefused(f"the target database is not empty ({rows}); db copy only fills an empty database, "
                              "so nothing was copied")
        async with src.reading():
            for table in TABLES:
                try:
                    counts[table] = await _copy_table(src, dst, table)
                except Exception as exc:
                    raise CopyFailed(table, exc) from exc
        await dst.after_copy()
    return counts


async def _copy_table(src: _SqliteSide | _PostgresSide, dst: _SqliteSide | _PostgresSide, table: str) -> int:
    columns = await dst.columns(table)
    cleared = {columns.index(c): v for c, v in _CLEARED.items() if table in ("jobs", "inbox") and c in columns}
    copied = 0
    async for batch in src.batches(table, columns):
        if cleared:
            batch = [tuple(cleared.get(i, v) for i, v in enumerate(row)) for row in batch]
        await dst.insert(table, columns, batch)
        copied += len(batch)
    return copied


def _side(store: Store) -> _SqliteSide | _PostgresSide:
    if isinstance(store, SQLiteStore):
        return _SqliteSide(store)
    from storage.postgres import PostgresStore

    if isinstance(store, PostgresStore):
        return _PostgresSide(store)
    raise TypeError(f"db copy does not know {type(store).__name__}")


def _select(table: str, columns: list[str]) -> str:
    return f"SELECT {', '.join(columns)} FROM {table} ORDER BY {_ORDER.get(table, 'id')}"


class _SqliteSide:
    """One SQLite store as a source (a read snapshot) or a target (one BEGIN IMMEDIATE transaction)."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        self._db = store._db

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[None]:
        async with self._store._lock:
            await self._db.execute("BEGIN")  # deferred: the first SELECT fixes the snapshot (WAL)
            try:
                yield
            finally:
                await self._db.execute("ROLLBACK")

    async def batches(self, table: str, columns: list[str]) -> AsyncIterator[list[tuple[Any, ...]]]:
        cursor = await self._db.execute(_select(table, columns))
        try:
            while rows := await cursor.fetchmany(BATCH):
                yield [tuple(r) for r in rows]
        finally:
            await cursor.close()

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        async with self._store._write():
            yield

    async def count(self, table: str) -> int:
        (row,) = await self._db.execute_fetchall(f"SELECT COUNT(*) FROM {table}")
        return int(row[0])

    async def columns(self, table: str) -> list[str]:
        return [r[1] for r in await self._db.execute_fetchall(f"PRAGMA table_info({table})")]

    async def insert(self, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" for _ in columns)
        await self._db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    async def after_copy(self) -> None:
        """Nothing to do: an INTEGER PRIMARY KEY continues from the largest id."""


class _PostgresSide:
    """One PostgreSQL store as a source (a REPEATABLE READ snapshot) or a target (one locked transaction)."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._conn: Any = None

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[None]:
        async with self._store._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            self._conn = conn
            try:
                yield
            finally:
                self._conn = None

    async def batches(self, table: str, columns: list[str]) -> AsyncIterator[list[tuple[Any, ...]]]:
        cursor = await self._conn.cursor(_select(table, columns))
        while rows := await cursor.fetch(BATCH):
            yield [tuple(r) for r in rows]

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        async with self._store._tx() as conn:
            # Writers wait until this transaction ends, readers do not: the emptiness checked is the emptiness filled.
            await conn.execute(f"LOCK TABLE {', '.join(TABLES)} IN EXCLUSIVE MODE")
            self._conn = conn
            try:
                yield
            finally:
                self._conn = None

    async def count(self, table: str) -> int:
        return int(await self._conn.fetchval(f"SELECT COUNT(*) FROM {table}"))

    async def columns(self, table: str) -> list[str]:
        rows = await self._conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = $1 ORDER BY ordinal_position", table)
        return [r[0] for r in rows]

    async def insert(self, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
        await self._conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    async def after_copy(self) -> None:
        """Move each identity sequence past the largest copied id (the next insert takes MAX(id) + 1)."""
        for table in IDENTITY:
            await self._conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false) "
                f"FROM {table}")
