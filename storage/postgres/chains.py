"""Chains of clips (Extend) on PostgreSQL: the same query as storage/chains.py."""

from __future__ import annotations

from bot.jobs import Job
from storage.postgres.base import PgBase
from storage.rows import to_job


class PgChainQueries(PgBase):
    """Mixed into PostgresStore: the clips of a chain."""

    async def chain_clips(self, root_id: str) -> list[Job]:
        """The chain's first clip and every clip made from it (branches too), by place in the chain, then age."""
        rows = await self._read("SELECT * FROM jobs WHERE id = $1 OR chain_root = $1 "
                                "ORDER BY chain_index, created_at, id", root_id)
        return [to_job(row) for row in rows]
