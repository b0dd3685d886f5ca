"""The storage part of `hailuo-bot doctor`: can the database be opened, written and brought up to date."""

from __future__ import annotations

import sqlite3

from bot.config import Settings
from bot.doctor import Finding
from bot.store import StoreUnavailable
from storage import open_store
from storage.sqlite import SQLiteStore


async def check(settings: Settings) -> Finding:
    """Open the database, migrate it and check it can be read and written; say what to fix if that fails."""
    try:
        kind = settings.database_kind
    except ValueError as exc:
        return Finding("database", False, str(exc))
    where = settings.database_path if kind == "sqlite" else ""
    try:
        store = await open_store(settings.database_url)
        try:
            version = await store.migrate()  # type: ignore[attr-defined]
            if isinstance(store, SQLiteStore):
                await store.backup(":memory:")  # reads every page: a corrupt file fails here
            else:
                where = store.url  # type: ignore[attr-defined]  # the password masked
                missing = await store.unwritable_tables()  # type: ignore[attr-defined]
                if missing:
                    return Finding("database", False, f"{where}: this user may not read and change "
                                                      f"{', '.join(missing)}. Grant it, or use another user in "
                                                      "DATABASE_URL.")
        finally:
            await store.close()  # type: ignore[attr-defined]
    except StoreUnavailable as exc:
        return Finding("database", False, f"{exc}.")
    except (sqlite3.Error, OSError) as exc:
        return Finding("database", False, f"cannot open and write {where} ({exc}). Check the file's and its "
                                          "folder's permissions, or point DATABASE_URL at a writable place.")
    return Finding("database", True, f"{where} is writable, schema version {version}")
