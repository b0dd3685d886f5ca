"""The inbox on PostgreSQL: acknowledged commands kept until they have become a job or an answer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.store import InboxItem
from storage.postgres.base import PgBase

_ADD_SQL = """INSERT INTO inbox (key, platform, kind, payload, received_at, lease_owner, lease_until)
SELECT k, p, t, b, r, $6, $7 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[])
    AS i(k, p, t, b, r)
ON CONFLICT (key) DO NOTHING RETURNING key"""
_CLAIM_SQL = """UPDATE inbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
WHERE key IN (SELECT key FROM inbox WHERE done_at IS NULL AND lease_until < $3 AND platform = ANY($4::text[])
              ORDER BY received_at LIMIT $5 FOR UPDATE SKIP LOCKED)
RETURNING key, platform, kind, payload, received_at, attempts"""


class PgInboxQueries(PgBase):
    """Mixed into PostgresStore: record in batches, lease, hand over on a crash, mark done."""

    async def inbox_add(self, items: Sequence[InboxItem], owner: str, until: float) -> list[bool]:
        """Record every item not seen before, in one statement; for each, whether it was new."""
        first: dict[str, InboxItem] = {}
        for item in items:
            first.setdefault(item.key, item)
        batch = list(first.values())
        rows = await self._read(_ADD_SQL, [i.key for i in batch], [i.platform for i in batch],
                                [i.kind for i in batch], [i.payload for i in batch],
                                [i.received_at for i in batch], owner, until)
        new = {row[0] for row in rows}
        # A key repeated inside one batch is new only at its first place.
        return [item.key in new and first[item.key] is item for item in items]

    async def inbox_done(self, key: str) -> None:
        """The item has become a job or an answer: never replay it (its key still refuses a resend)."""
        await self._execute("UPDATE inbox SET done_at = $1, lease_owner = NULL WHERE key = $2", self._clock(), key)

    async def inbox_renew(self, owner: str, until: float) -> None:
        """Extend this process's leases on everything it is still handling."""
        await self._execute("UPDATE inbox SET lease_until = $1 WHERE lease_owner = $2 AND done_at IS NULL",
                            until, owner)

    async def inbox_release(self, owner: str) -> None:
        """Hand back what this process leaves unfinished, so another may replay it at once."""
        await self._execute("UPDATE inbox SET lease_until = 0 WHERE lease_owner = $1 AND done_at IS NULL", owner)

    async def inbox_claim(self, owner: str, platforms: Iterable[str], now: float, until: float,
                          limit: int = 100) -> list[InboxItem]:
        """Take over unfinished items whose lease has run out (their process died), oldest first."""
        names = list(platforms)
        if not names:
            return []
        rows = await self._read(_CLAIM_SQL, owner, until, now, names, limit)
        return sorted((InboxItem(*row) for row in rows), key=lambda item: item.received_at)

    async def inbox_prune(self, before: float) -> int:
        """Forget items received before `before` that are done (or were given up on)."""
        return await self._execute("DELETE FROM inbox WHERE received_at < $1 AND done_at IS NOT NULL", before)
