"""What the web page reads: a workspace's gallery, its unfinished jobs, its members, one-time logins."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiosqlite

from bot.jobs import Job
from bot.store import WebLogin
from storage.rows import TERMINAL_SQL, to_job


def gallery_where(platform: str, workspace_id: str, user_id: str | None, text: str | None,
                  mark: str = "?") -> tuple[str, list[Any]]:
    """The gallery's WHERE clause and parameters; `mark` is the placeholder style ('?' or '$')."""
    clauses = ["platform = {}", "workspace_id = {}", "status = 'delivered'"]
    params: list[Any] = [platform, workspace_id]
    if user_id:
        clauses.append("user_id = {}")
        params.append(user_id)
    if text:
        # The prompt lives in the request's JSON; matching the whole text would also match "768P" and such.
        clauses.append("LOWER({prompt}) LIKE {} ESCAPE '\\'")
        params.append("%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    out, n = [], 0
    for c in clauses:
        while "{}" in c:
            n += 1
            c = c.replace("{}", "?" if mark == "?" else f"${n}", 1)
        out.append(c)
    return " AND ".join(out), params


class WebQueries:
    """Mixed into Store: the web page's reads, and its one-time logins."""

    def _write(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        raise NotImplementedError

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        raise NotImplementedError

    async def gallery(self, platform: str, workspace_id: str, *, user_id: str | None = None, text: str | None = None,
                      limit: int = 20, offset: int = 0) -> list[Job]:
        """A workspace's delivered videos, newest first; optionally one user's, or those whose prompt has `text`."""
        where, params = gallery_where(platform, workspace_id, user_id, text)
        where = where.replace("{prompt}", "json_extract(request, '$.prompt')")
        rows = await self._read(f"SELECT * FROM jobs WHERE {where} ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?",
                                [*params, limit, offset])
        return [to_job(r) for r in rows]

    async def workspace_queue(self, platform: str, workspace_id: str) -> list[Job]:
        """A workspace's unfinished jobs, oldest first."""
        rows = await self._read(f"SELECT * FROM jobs WHERE platform = ? AND workspace_id = ? AND status NOT IN "
                                f"{TERMINAL_SQL} ORDER BY created_at, id", (platform, workspace_id))
        return [to_job(r) for r in rows]

    async def workspace_members(self, platform: str, workspace_id: str) -> list[tuple[str, str]]:
        """Everyone who asked for a video in the workspace: (user id, the name their newest job gave), by id."""
        rows = await self._read("SELECT user_id, user_name FROM (SELECT user_id, user_name, ROW_NUMBER() OVER ("
                                "PARTITION BY user_id ORDER BY CASE WHEN user_name = '' THEN 1 ELSE 0 END, "
                                "created_at DESC, id DESC) AS n FROM jobs WHERE platform = ? AND workspace_id = ?) "
                                "AS named WHERE n = 1 ORDER BY user_id", (platform, workspace_id))
        return [(r[0], r[1] or "") for r in rows]

    async def put_web_login(self, token_hash: str, login: WebLogin, expires_at: float) -> None:
        """Keep a one-time login link (by its token's hash) until `expires_at`."""
        async with self._write() as db:
            await db.execute("INSERT INTO web_logins (token_hash, platform, workspace_id, user_id, is_admin, "
                             "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                             (token_hash, login.platform, login.workspace_id, login.user_id, int(login.is_admin),
                              expires_at))

    async def take_web_login(self, token_hash: str, now: float) -> WebLogin | None:
        """Use a one-time login link: who it signs in as, or None when unknown, already used or expired."""
        async with self._write() as db:
            cur = await db.execute("UPDATE web_logins SET used_at = ? WHERE token_hash = ? AND used_at IS NULL "
                                   "AND expires_at > ?", (now, token_hash, now))
            if cur.rowcount != 1:
                return None
            rows = await db.execute_fetchall("SELECT platform, workspace_id, user_id, is_admin FROM web_logins "
                                             "WHERE token_hash = ?", (token_hash,))
            r = next(iter(rows))
            return WebLogin(r[0], r[1], r[2], bool(r[3]))
