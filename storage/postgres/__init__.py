"""The PostgreSQL implementation of bot.store.Store, for several hosts sharing one database."""

from storage.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
