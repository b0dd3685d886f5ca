"""The inbox: acknowledged commands kept until they have become a job or an answer (SQLite)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiosqlite

from bot.store import InboxItem

_CLAIM_SQL = """UPDATE inbox SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
WHERE key IN (SELECT key FROM inbox WHERE done_at IS NULL AND lease_until < ? AND platform IN ({platforms})
              ORDER BY received_at LIMIT ?)
RETURNING key, platform, kind, payload, received_at, attempts"""


class InboxQueries:
    """Mixed into Store: record in batches, lease, hand over on a crash, mark done."""

    _clock: Any

    def _write(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        raise NotImplementedError

    async def _write_one(self, sql: str, params: Sequence[Any]) -> None:
        raise NotImplementedError

    async def inbox_add(self, items: Sequence[InboxItem], owner: str, until: float) -> list[bool]:
        """Record every item not seen before, in one transaction; for each, whether it was new."""
        # A few statements for the whole batch, not one per item: each is a hop to the connection's
        # thread, and a burst's acknowledgements wait for this transaction.
        keys = list(dict.fromkeys(item.key for item in items))
        async with self._write() as db:
            seen: set[str] = set()
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                rows = await db.execute_fetchall(
                    f"SELECT key FROM inbox WHERE key IN ({','.join('?' * len(chunk))})", chunk)
                seen.update(row[0] for row in rows)
            fresh: list[bool] = []
            rows_to_add = []
            for item in items:
                fresh.append(item.key not in seen)
                if fresh[-1]:
                    seen.add(item.key)  # a key repeated inside one batch is new at its first place only
                    rows_to_add.append((item.key, item.platform, item.kind, item.payload, item.received_at, owner,
                                        until))
            await db.executemany(
                "INSERT INTO inbox (key, platform, kind, payload, received_at, lease_owner, lease_until)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", rows_to_add)
        return fresh

    async def inbox_done(self, key: str) -> None:
        """The item has become a job or an answer: never replay it (its key still refuses a resend)."""
        await self._write_one("UPDATE inbox SET done_at = ?, lease_owner = NULL WHERE key = ?", (self._clock(), key))

    async def inbox_renew(self, owner: str, until: float) -> None:
        """Extend this process's leases on everything it is still handling."""
        await self._write_one("UPDATE inbox SET lease_until = ? WHERE lease_owner = ? AND done_at IS NULL",
                              (until, owner))

    async def inbox_release(self, owner: str) -> None:
        """Hand back what this process leaves unfinished, so another may replay it at once."""
        await self._write_one("UPDATE inbox SET lease_until = 0 WHERE lease_owner = ? AND done_at IS NULL", (owner,))

    async def inbox_claim(self, owner: str, platforms: Iterable[str], now: float, until: float,
                          limit: int = 100) -> list[InboxItem]:
        """Take over unfinished items whose lease has run out (their process died), oldest first."""
        names = list(platforms)
        if not names:
            return []
        async with self._write() as db:
            rows = await db.execute_fetchall(_CLAIM_SQL.format(platforms=",".join("?" * len(names))),
                                             (owner, until, now, *names, limit))
        return sorted((InboxItem(*row) for row in rows), key=lambda item: item.received_at)

    async def inbox_prune(self, before: float) -> int:
        """Forget items received before `before` that are done (or were given up on)."""
        async with self._write() as db:
            cur = await db.execute("DELETE FROM inbox WHERE received_at < ? AND done_at IS NOT NULL", (before,))
            return cur.rowcount
