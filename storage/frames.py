"""First-frame images, kept in the database so that every process on every machine can read them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite


class FrameQueries:
    """Mixed into Store: a checked first frame's bytes by its file name."""

    _clock: Any

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        raise NotImplementedError

    async def _write_one(self, sql: str, params: Sequence[Any]) -> None:
        raise NotImplementedError

    async def put_frame(self, name: str, data: bytes) -> None:
        """Keep a checked first frame (written once; the same name always holds the same image)."""
        await self._write_one("INSERT OR IGNORE INTO frames (name, data, at) VALUES (?, ?, ?)",
                              (name, data, self._clock()))

    async def get_frame(self, name: str) -> bytes | None:
        """A first frame's bytes, or None when it was never kept or has been pruned."""
        rows = await self._read("SELECT data FROM frames WHERE name = ?", (name,))
        return bytes(rows[0][0]) if rows else None

    async def drop_frame(self, name: str) -> None:
        """Forget a first frame (pruning)."""
        await self._write_one("DELETE FROM frames WHERE name = ?", (name,))
