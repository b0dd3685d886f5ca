"""The web page's reads and one-time logins on PostgreSQL: the same semantics as storage/web.py."""

from __future__ import annotations

from bot.jobs import Job
from bot.store import WebLogin
from storage.postgres.base import PgBase
from storage.rows import TERMINAL_SQL, to_job
from storage.web import gallery_where


class PgWebQueries(PgBase):
    """Mixed into PostgresStore: the web page's reads, and its one-time logins."""

    async def gallery(self, platform: str, workspace_id: str, *, user_id: str | None = None, text: str | None = None,
                      limit: int = 20, offset: int = 0) -> list[Job]:
        """A workspace's delivered videos, newest first; optionally one user's, or those whose prompt has `text`."""
        where, params = gallery_where(platform, workspace_id, user_id, text, mark="$")
        where = where.replace("{prompt}", "(request::json ->> 'prompt')")
        n = len(params)
        rows = await self._read(f"SELECT * FROM jobs WHERE {where} ORDER BY updated_at DESC, id DESC "
                                f"LIMIT ${n + 1} OFFSET ${n + 2}", *params, limit, offset)
        return [to_job(r) for r in rows]

    async def workspace_queue(self, platform: str, workspace_id: str) -> list[Job]:
        """A workspace's unfinished jobs, oldest first."""
        rows = await self._read(f"SELECT * FROM jobs WHERE platform = $1 AND workspace_id = $2 AND status NOT IN "
                                f"{TERMINAL_SQL} ORDER BY created_at, id", platform, workspace_id)
        return [to_job(r) for r in rows]

    async def workspace_members(self, platform: str, workspace_id: str) -> list[tuple[str, str]]:
        """Everyone who asked for a video in the workspace: (user id, the name their newest job gave), by id."""
        rows = await self._read("SELECT user_id, user_name FROM (SELECT user_id, user_name, ROW_NUMBER() OVER ("
                                "PARTITION BY user_id ORDER BY CASE WHEN user_name = '' THEN 1 ELSE 0 END, "
                                "created_at DESC, id DESC) AS n FROM jobs WHERE platform = $1 AND workspace_id = $2) "
                                "AS named WHERE n = 1 ORDER BY user_id", platform, workspace_id)
        return [(r[0], r[1] or "") for r in rows]

    async def put_web_login(self, token_hash: str, login: WebLogin, expires_at: float) -> None:
        """Keep a one-time login link (by its token's hash) until `expires_at`."""
        await self._execute("INSERT INTO web_logins (token_hash, platform, workspace_id, user_id, is_admin, "
                            "expires_at) VALUES ($1, $2, $3, $4, $5, $6)", token_hash, login.platform,
                            login.workspace_id, login.user_id, login.is_admin, expires_at)

    async def take_web_login(self, token_hash: str, now: float) -> WebLogin | None:
        """Use a one-time login link: who it signs in as, or None when unknown, already used or expired."""
        r = await self._pool.fetchrow("UPDATE web_logins SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL "
                                      "AND expires_at > $1 RETURNING platform, workspace_id, user_id, is_admin",
                                      now, token_hash)
        return WebLogin(r[0], r[1], r[2], bool(r[3])) if r is not None else None
