"""Chains of clips (Extend): every clip that continues a chain names its first clip, so one query finds them all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite

from bot.jobs import Job
from storage.rows import to_job


class ChainQueries:
    """Mixed into Store: the clips of a chain."""

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        raise NotImplementedError

    async def chain_clips(self, root_id: str) -> list[Job]:
        """The chain's first clip and every clip made from it (branches too), by place in the chain, then age."""
        rows = await self._read("SELECT * FROM jobs WHERE id = ? OR chain_root = ? "
                                "ORDER BY chain_index, created_at, id", (root_id, root_id))
        return [to_job(row) for row in rows]
