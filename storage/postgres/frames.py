"""First-frame images on PostgreSQL (BYTEA), so that every process on every machine can read them."""

from __future__ import annotations

from storage.postgres.base import PgBase


class PgFrameQueries(PgBase):
    """Mixed into PostgresStore: a checked first frame's bytes by its file name."""

    async def put_frame(self, name: str, data: bytes) -> None:
        """Keep a checked first frame (written once; the same name always holds the same image)."""
        await self._execute("INSERT INTO frames (name, data, at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                            name, data, self._clock())

    async def get_frame(self, name: str) -> bytes | None:
        """A first frame's bytes, or None when it was never kept or has been pruned."""
        data = await self._pool.fetchval("SELECT data FROM frames WHERE name = $1", name)
        return None if data is None else bytes(data)

    async def drop_frame(self, name: str) -> None:
        """Forget a first frame (pruning)."""
        await self._execute("DELETE FROM frames WHERE name = $1", name)
