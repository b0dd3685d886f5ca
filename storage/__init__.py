"""Persistence behind one interface: SQLite via aiosqlite."""

from storage.sqlite import QueueEntry, QuotaUsage, Reservation, Store

__all__ = ["QueueEntry", "QuotaUsage", "Reservation", "Store"]
