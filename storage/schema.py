"""The schema: numbered migrations (storage/migrations/NNNN_*.sql) and online backup."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from importlib import resources
from typing import Any

import aiosqlite

log = logging.getLogger("storage.sqlite")


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
        """Apply every numbered migration newer than the database; return the new version."""
        files = sorted(
            (f for f in resources.files("storage.migrations").iterdir() if f.name.endswith(".sql")),
            key=lambda f: f.name,
        )
        version = await self.schema_version()
        for f in files:
            number = int(f.name.split("_", 1)[0])
            if number <= version:
                continue
            script = f.read_text(encoding="utf-8")
            async with self._lock:
                # executescript would commit first; one BEGIN ... COMMIT keeps a migration atomic.
                await self._db.executescript(
                    f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
                )
            log.info("applied migration %s", f.name)
            version = number
        return version

    async def backup(self, path: str) -> None:
        """Copy the whole database to `path` with SQLite's online backup (safe while the bot runs)."""
        target = await aiosqlite.connect(path)
        try:
            async with self._lock:
                await self._db.backup(target)
        finally:
            await target.close()
