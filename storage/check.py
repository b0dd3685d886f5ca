"""The storage part of `hailuo-bot doctor`: can the database be opened, written and brought up to date."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.config import Settings
from bot.doctor import Finding
from bot.store import StoreUnavailable
from storage.sqlite import SQLiteStore


async def check(settings: Settings) -> Finding:
    """Open the database, migrate it and read every page; say what to fix if that fails."""
    try:
        path = settings.database_path
    except ValueError as exc:
        return Finding("database", False, str(exc))
    try:
        if path != ":memory:":
            Path(path).resolve().parent.mkdir(parents=True, exist_ok=True)
        store = await SQLiteStore.open(path)
        try:
            version = await store.migrate()
            await store.backup(":memory:")  # reads every page: a corrupt file fails here
        finally:
            await store.close()
    except StoreUnavailable as exc:
        return Finding("database", False, f"{exc}.")
    except (sqlite3.Error, OSError) as exc:
        return Finding("database", False, f"cannot open and write {path} ({exc}). Check the file's and its "
                                          "folder's permissions, or point DATABASE_URL at a writable place.")
    return Finding("database", True, f"{path} is writable, schema version {version}")
