"""The schema: numbered migrations (storage/migrations/NNNN_*.sql) and online backup."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Sequence
from importlib import resources
from typing import Any

import aiosqlite

log = logging.getLogger("storage.sqlite")


def _statements(script: str) -> list[str]:
    """A migration file split into statements (executescript would commit the transaction first)."""
    statements, pending = [], ""
    for line in script.splitlines(keepends=True):
        if not pending and (not line.strip() or line.lstrip().startswith("--")):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        raise ValueError(f"a migration ends in an unfinished statement: {pending[:60]!r}")
    return statements


class SchemaQueries:
    """Mixed into Store: bring the schema up to date, report its version, copy the database."""

    _db: aiosqlite.Connection
    _lock: asyncio.Lock

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        raise NotImplementedError

    async def schema_version(self) -> int:
        """The migration number recorded in PRAGMA user_version."""
        rows = await self._read("PRAGMA user_version")
        return int(rows[0][0])

    async def migrate(self) -> int:
        """Apply every numbered migration newer than the database, exactly once however many processes start.

        The version is read again inside the write lock, so a process that waited for another's
        migration finds it done and applies nothing. Returns the schema version.
        """
        files = sorted(
            (f for f in resources.files("storage.migrations").iterdir() if f.name.endswith(".sql")),
            key=lambda f: f.name,
        )
        latest = int(files[-1].name.split("_", 1)[0]) if files else 0
        if await self.schema_version() >= latest:
            return await self.schema_version()
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")  # waits (busy timeout) for any other writer
            try:
                (row,) = await self._db.execute_fetchall("PRAGMA user_version")
                version = int(row[0])
                for f in files:
                    number = int(f.name.split("_", 1)[0])
                    if number <= version:
                        continue
                    for statement in _statements(f.read_text(encoding="utf-8")):
                        await self._db.execute(statement)
                    await self._db.execute(f"PRAGMA user_version = {number}")
                    log.info("applied migration %s", f.name)
                    version = number
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")
        return version

    async def backup(self, path: str) -> None:
        """Copy the whole database to `path` with SQLite's online backup (safe while the bot runs)."""
        target = await aiosqlite.connect(path)
        try:
            async with self._lock:
                await self._db.backup(target)
        finally:
            await target.close()
