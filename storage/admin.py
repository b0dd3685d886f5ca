"""Admin controls and reports: blocked users, channel allow-lists, limits, the audit log, usage."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiosqlite

from bot.store import UsageRow


class AdminQueries:
    """Mixed into Store: every admin change is written with who made it, in the same transaction."""

    _clock: Any

    def _write(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        raise NotImplementedError

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        raise NotImplementedError

    async def _audit(self, db: aiosqlite.Connection, platform: str, ws: str, actor: str, action: str,
                     detail: str) -> None:
        await db.execute(
            "INSERT INTO admin_log (at, platform, workspace_id, actor, action, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (self._clock(), platform, ws, actor, action, detail),
        )

    async def set_limit(
        self, platform: str, workspace_id: str, user_id: str, daily_credits: int, *, set_by: str
    ) -> None:
        """Override a user's (or, with user_id '', a workspace's) daily credits."""
        async with self._write() as db:
            await db.execute(
                "INSERT INTO quota_limits VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, workspace_id, user_id) "
                "DO UPDATE SET daily_credits = excluded.daily_credits, set_by = excluded.set_by, "
                "set_at = excluded.set_at",
                (platform, workspace_id, user_id, daily_credits, set_by, self._clock()),
            )
            who = f"user {user_id}" if user_id else "workspace"
            await self._audit(db, platform, workspace_id, set_by, "set_limit", f"{who} = {daily_credits}")

    async def limits(self, platform: str, workspace_id: str) -> list[tuple[str, int, str]]:
        """Overrides in a workspace: (user id or '' for the workspace, credits, set by)."""
        rows = await self._read(
            "SELECT user_id, daily_credits, set_by FROM quota_limits WHERE platform = ? AND workspace_id = ? "
            "ORDER BY user_id",
            (platform, workspace_id),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async def set_blocked(self, platform: str, workspace_id: str, user_id: str, blocked: bool, *, set_by: str) -> None:
        """Block or unblock a user in a workspace."""
        async with self._write() as db:
            if blocked:
                await db.execute(
                    "INSERT OR REPLACE INTO blocked_users VALUES (?, ?, ?, ?, ?)",
                    (platform, workspace_id, user_id, set_by, self._clock()),
                )
            else:
                await db.execute(
                    "DELETE FROM blocked_users WHERE platform = ? AND workspace_id = ? AND user_id = ?",
                    (platform, workspace_id, user_id),
                )
            await self._audit(db, platform, workspace_id, set_by, "block" if blocked else "unblock", user_id)

    async def set_workspace_locale(self, platform: str, workspace_id: str, locale: str, *, set_by: str) -> None:
        """Set a workspace's default language (for members whose own is unknown); audited."""
        async with self._write() as db:
            await db.execute(
                "INSERT INTO workspace_locales VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, workspace_id) "
                "DO UPDATE SET locale = excluded.locale, set_by = excluded.set_by, set_at = excluded.set_at",
                (platform, workspace_id, locale, set_by, self._clock()),
            )
            await self._audit(db, platform, workspace_id, set_by, "language", locale)

    async def workspace_locale(self, platform: str, workspace_id: str) -> str | None:
        """The workspace's default language, if an admin set one."""
        rows = await self._read("SELECT locale FROM workspace_locales WHERE platform = ? AND workspace_id = ?",
                                (platform, workspace_id))
        return rows[0][0] if rows else None

    async def is_blocked(self, platform: str, workspace_id: str, user_id: str) -> bool:
        """True when an admin blocked this user."""
        rows = await self._read(
            "SELECT 1 FROM blocked_users WHERE platform = ? AND workspace_id = ? AND user_id = ?",
            (platform, workspace_id, user_id),
        )
        return bool(rows)

    async def set_channel_allowed(
        self, platform: str, workspace_id: str, channel_id: str, allowed: bool, *, set_by: str
    ) -> None:
        """Add a channel to (or remove it from) the workspace's allow-list."""
        async with self._write() as db:
            if allowed:
                await db.execute(
                    "INSERT OR REPLACE INTO allowed_channels VALUES (?, ?, ?, ?, ?)",
                    (platform, workspace_id, channel_id, set_by, self._clock()),
                )
            else:
                await db.execute(
                    "DELETE FROM allowed_channels WHERE platform = ? AND workspace_id = ? AND channel_id = ?",
                    (platform, workspace_id, channel_id),
                )
            action = "allow_channel" if allowed else "disallow_channel"
            await self._audit(db, platform, workspace_id, set_by, action, channel_id)

    async def allowed_channels(self, platform: str, workspace_id: str) -> list[str]:
        """The allow-list; empty means every channel."""
        rows = await self._read(
            "SELECT channel_id FROM allowed_channels WHERE platform = ? AND workspace_id = ? ORDER BY channel_id",
            (platform, workspace_id),
        )
        return [r[0] for r in rows]

    async def admin_log(self, platform: str, workspace_id: str, limit: int = 50) -> list[tuple[float, str, str, str]]:
        """Recent admin changes: (time, actor, action, detail), newest first."""
        rows = await self._read(
            "SELECT at, actor, action, detail FROM admin_log WHERE platform = ? AND workspace_id = ? "
            "ORDER BY id DESC LIMIT ?",
            (platform, workspace_id, limit),
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    async def usage_report(self, since_day: str = "", platform: str | None = None,
                           workspace_id: str | None = None) -> list[UsageRow]:
        """Credits (from the ledger) and dollars (delivered jobs) per day, user, workspace and provider."""
        where, params = "l.day >= ?", [since_day]
        if platform is not None:
            where, params = where + " AND l.platform = ?", [*params, platform]
        if workspace_id is not None:
            where, params = where + " AND l.workspace_id = ?", [*params, workspace_id]
        rows = await self._read(
            "SELECT l.day, l.platform, l.workspace_id, l.user_id, COUNT(DISTINCT l.job_id), "
            "SUM(CASE WHEN l.kind = 'capture' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN l.kind = 'release' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN l.kind = 'capture' THEN l.credits ELSE 0 END), "
            "SUM(CASE WHEN l.kind = 'reserve' THEN l.credits WHEN l.kind IN ('capture', 'release') "
            "THEN -l.credits ELSE 0 END), "
            "SUM(CASE WHEN l.kind = 'release' THEN l.credits ELSE 0 END), "
            "SUM(CASE WHEN l.kind = 'capture' THEN j.price_usd ELSE 0 END), j.provider "
            f"FROM quota_ledger l JOIN jobs j ON j.id = l.job_id WHERE {where} "
            "GROUP BY l.day, l.platform, l.workspace_id, l.user_id, j.provider "
            "ORDER BY l.day, l.platform, l.workspace_id, l.user_id, j.provider",
            params,
        )
        return [UsageRow(*(r[i] for i in range(10)), round(float(r[10] or 0), 2), r[11] or "")
                for r in rows]

