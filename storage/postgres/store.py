"""The PostgreSQL store: an asyncpg pool, with the queries mixed in by subject.

Why asyncpg: it is native asyncio (no thread per connection, as aiosqlite or a driver run in an
executor would need), it speaks PostgreSQL's binary protocol (numbers and floats arrive as Python
values, nothing parsed from text, prepared statements cached per connection), and it has a
connection pool built in, shared by every coroutine of the process without a lock of our own.

Jobs (storage.postgres.jobs), quota (.quota), leases and the provider budget (.leases), the fair line
and metrics (.queue), first frames (.frames), admin controls (.admin), workspace budgets (.workspace_budget),
presets (.presets), schema (.schema); connecting and its errors (.connect).
"""

from __future__ import annotations

import time
from typing import Any

import asyncpg

from bot.store import StoreUnavailable
from storage.postgres.admin import PgAdminQueries
from storage.postgres.chains import PgChainQueries
from storage.postgres.connect import CONNECT_TIMEOUT, explain, redact
from storage.postgres.frames import PgFrameQueries
from storage.postgres.inbox import PgInboxQueries
from storage.postgres.job_times import PgJobTimeQueries
from storage.postgres.jobs import PgJobQueries
from storage.postgres.leases import PgLeaseQueries
from storage.postgres.platform_budget import PgPlatformBudgetQueries
from storage.postgres.presets import PgPresetQueries
from storage.postgres.queue import PgQueueQueries
from storage.postgres.quota import PgQuotaQueries
from storage.postgres.schema import PgSchemaQueries
from storage.postgres.web import PgWebQueries
from storage.postgres.workspace_budget import PgWorkspaceBudgetQueries

__all__ = ["PostgresStore"]


class PostgresStore(PgJobQueries, PgLeaseQueries, PgPlatformBudgetQueries, PgFrameQueries, PgInboxQueries,
                    PgQuotaQueries, PgQueueQueries, PgSchemaQueries, PgAdminQueries, PgWebQueries,
                    PgWorkspaceBudgetQueries, PgChainQueries, PgPresetQueries, PgJobTimeQueries):
    """Persistence for jobs and quotas on a pool of PostgreSQL connections."""

    def __init__(self, pool: asyncpg.Pool, url: str, clock: Any = time.time) -> None:
        self._pool = pool
        self._clock = clock
        self.url = redact(url)  # safe to show: the password is masked

    @classmethod
    async def open(cls, url: str, clock: Any = time.time, *, min_size: int = 1, max_size: int = 10,
                   timeout: float = CONNECT_TIMEOUT) -> PostgresStore:
        """Connect to the server `url` names and bring its schema up to date.

        Raises StoreUnavailable, in one line naming DATABASE_URL (with the password masked), when the
        server cannot be reached within `timeout` seconds, refuses the login, or has no such database.
        """
        try:
            pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, timeout=timeout)
        except Exception as exc:
            raise StoreUnavailable(explain(url, exc, timeout)) from None
        store = cls(pool, url, clock)
        try:
            await store.migrate()
        except (asyncpg.PostgresError, OSError) as exc:
            await pool.close()
            raise StoreUnavailable(explain(url, exc, timeout)) from None
        except BaseException:
            await pool.close()
            raise
        return store

    async def close(self) -> None:
        """Close every connection of the pool."""
        await self._pool.close()

    async def __aenter__(self) -> PostgresStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
