"""Persistence behind the bot.store.Store protocol: SQLite via aiosqlite."""

from storage.sqlite import SQLiteStore

__all__ = ["SQLiteStore"]
