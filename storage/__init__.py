"""Persistence behind the bot.store.Store protocol: SQLite via aiosqlite, PostgreSQL via asyncpg."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from bot.config import database_kind, sqlite_path
from bot.store import Store, StoreUnavailable
from storage.sqlite import SQLiteStore

__all__ = ["SQLiteStore", "open_store"]


async def open_store(url: str, clock: Callable[[], float] = time.time) -> Store:
    """Open the store DATABASE_URL names, its schema brought up to date.

    `sqlite:///PATH` (or `sqlite://`, in memory) opens a SQLite file, creating its folder;
    `postgresql://...` or `postgres://...` (Heroku's spelling) a PostgreSQL database. Anything that
    stops it is StoreUnavailable: one plain line naming DATABASE_URL, never its password.
    """
    try:
        kind = database_kind(url)
        path = sqlite_path(url) if kind == "sqlite" else ""
    except ValueError as exc:
        raise StoreUnavailable(str(exc)) from None
    if kind == "postgresql":
        from storage.postgres import PostgresStore  # asyncpg is loaded only when a server is named
        from storage.postgres.connect import normalise

        return await PostgresStore.open(normalise(url), clock=clock)
    if path != ":memory:":
        try:
            await asyncio.to_thread(Path(path).resolve().parent.mkdir, parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"DATABASE_URL: cannot create the folder of {path} ({exc}); point DATABASE_URL "
                                   "at a writable place") from None
    return await SQLiteStore.open(path, clock=clock)
