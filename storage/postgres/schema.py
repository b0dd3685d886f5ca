"""The PostgreSQL schema: numbered migrations (storage/migrations_pg/NNNN_*.sql), applied exactly once.

The numbers match storage/migrations/: after migration N both databases hold the same tables. The
version lives in a one-row table, `schema_version` (SQLite keeps it in PRAGMA user_version).
"""

from __future__ import annotations

import logging
from importlib import resources
from importlib.abc import Traversable

from storage.postgres.base import MIGRATE_LOCK, PgBase

log = logging.getLogger("storage.postgres")

_VERSION_TABLE = ("CREATE TABLE schema_version (only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row), "
                  "version INTEGER NOT NULL)")
# Read from the catalog with the statement's own snapshot: to_regclass() consults a cache that a process
# which has only waited on an advisory lock has not refreshed, and would miss a table just committed.
_HAS_VERSION_TABLE = ("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() "
                      "AND tablename = 'schema_version')")
TABLES = ("jobs", "job_events", "quota_ledger", "quota_limits", "blocked_users", "allowed_channels", "admin_log",
          "provider_budget", "provider_submits", "frames", "platform_budget", "final_status_owed",
          "workspace_budgets", "presets", "preset_defaults")


def migration_files() -> list[Traversable]:
    """Every migration, in order."""
    return sorted((f for f in resources.files("storage.migrations_pg").iterdir() if f.name.endswith(".sql")),
                  key=lambda f: f.name)


def _number(f: Traversable) -> int:
    return int(f.name.split("_", 1)[0])


class PgSchemaQueries(PgBase):
    """Mixed into PostgresStore: bring the schema up to date, report its version, check write access."""

    async def schema_version(self) -> int:
        """The number of the last migration applied (0 on an empty database)."""
        async with self._pool.acquire() as db:
            if not await db.fetchval(_HAS_VERSION_TABLE):
                return 0
            return int(await db.fetchval("SELECT version FROM schema_version"))

    async def migrate(self) -> int:
        """Apply every numbered migration newer than the database, exactly once however many processes start.

        One transaction takes MIGRATE_LOCK, then reads the version: a process that waited for another's
        migration finds it done and applies nothing. A migration that fails leaves nothing behind
        (PostgreSQL's DDL is transactional). Returns the schema version.
        """
        files = migration_files()
        latest = _number(files[-1]) if files else 0
        if await self.schema_version() >= latest:
            return await self.schema_version()
        async with self._tx() as db:
            await db.execute("SELECT pg_advisory_xact_lock($1)", MIGRATE_LOCK)
            if not await db.fetchval(_HAS_VERSION_TABLE):
                await db.execute(_VERSION_TABLE)
                await db.execute("INSERT INTO schema_version (version) VALUES (0)")
            version = int(await db.fetchval("SELECT version FROM schema_version"))
            for f in files:
                number = _number(f)
                if number <= version:
                    continue
                await db.execute(f.read_text(encoding="utf-8"))  # no arguments: the whole file in one round trip
                await db.execute("UPDATE schema_version SET version = $1", number)
                log.info("applied migration %s", f.name)
                version = number
        return version

    async def unwritable_tables(self) -> list[str]:
        """The bot's tables this connection's role may not read and change (for `doctor`)."""
        rows = await self._read(
            "SELECT t FROM unnest($1::text[]) AS t "
            "WHERE to_regclass(t) IS NULL OR NOT has_table_privilege(t, 'SELECT, INSERT, UPDATE, DELETE')",
            list(TABLES),
        )
        return [r[0] for r in rows]

    async def backup(self, path: str) -> None:
        """SQLite's online copy has no PostgreSQL counterpart here: use pg_dump."""
        raise NotImplementedError(
            f"backup to {path} copies a SQLite file; this database is PostgreSQL: back it up with pg_dump "
            "(pg_dump --format=custom --file=bot.dump \"$DATABASE_URL\") and restore with pg_restore")
