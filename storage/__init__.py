"""Persistence behind one interface: SQLite via aiosqlite."""

from storage.sqlite import QuotaUsage, Reservation, Store

__all__ = ["QuotaUsage", "Reservation", "Store"]
