"""Persistence behind one interface: SQLite via aiosqlite."""

from storage.queue import QueueEntry
from storage.quota import QuotaUsage, Reservation
from storage.sqlite import Store

__all__ = ["QueueEntry", "QuotaUsage", "Reservation", "Store"]
