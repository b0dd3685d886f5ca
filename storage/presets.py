"""Presets (bot/presets.py): a workspace's and each member's named prompt templates, and members' default presets."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiosqlite

from bot.presets import WORKSPACE, Preset

COLUMNS = ("platform, workspace_id, owner, name, text, duration, resolution, prompt_optimizer, fast_pretreatment, "
           "created_by, created_at")
# The member's own of a name first, then the workspace's: a member's preset shadows the workspace's.
FIND_SQL = (f"SELECT {COLUMNS} FROM presets WHERE platform = ?1 AND workspace_id = ?2 AND owner IN ('', ?3) "
            "AND name = ?4 ORDER BY owner = '' LIMIT 1")
FIND_DEFAULT_SQL = (
    f"SELECT {', '.join('p.' + c.strip() for c in COLUMNS.split(','))} FROM preset_defaults d "
    "JOIN presets p ON p.platform = d.platform AND p.workspace_id = d.workspace_id AND p.name = d.name "
    "AND p.owner IN ('', d.user_id) WHERE d.platform = ?1 AND d.workspace_id = ?2 AND d.user_id = ?3 "
    "ORDER BY p.owner = '' LIMIT 1")


def preset_of(row: Any) -> Preset:
    """A row of `presets` as a Preset (0/1 as booleans; NULL: the preset gives no such setting)."""
    def flag(value: Any) -> bool | None:
        return None if value is None else bool(value)

    return Preset(row["platform"], row["workspace_id"], row["owner"], row["name"], row["text"],
                  duration=row["duration"], resolution=row["resolution"],
                  prompt_optimizer=flag(row["prompt_optimizer"]), fast_pretreatment=flag(row["fast_pretreatment"]),
                  created_by=row["created_by"], created_at=float(row["created_at"]))


def values_of(preset: Preset) -> tuple[Any, ...]:
    """A Preset as the values of one `presets` row, in COLUMNS' order."""
    def flag(value: bool | None) -> int | None:
        return None if value is None else int(value)

    return (preset.platform, preset.workspace_id, preset.owner, preset.name, preset.text, preset.duration,
            preset.resolution, flag(preset.prompt_optimizer), flag(preset.fast_pretreatment), preset.created_by,
            preset.created_at)


class PresetQueries:
    """Mixed into Store: save, delete, list and find presets; members' default presets."""

    _clock: Any
    _audit: Any  # storage.admin.AdminQueries._audit: a workspace preset's change and its admin_log row together

    def _write(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        raise NotImplementedError

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        raise NotImplementedError

    async def save_preset(self, preset: Preset, *, max_per_scope: int) -> bool:
        """Keep a preset (replacing its owner's of that name); False when a new one would be over the cap."""
        async with self._write() as db:
            rows = await db.execute_fetchall(
                "SELECT count(*), sum(name = ?4) FROM presets WHERE platform = ?1 AND workspace_id = ?2 "
                "AND owner = ?3", (preset.platform, preset.workspace_id, preset.owner, preset.name))
            count, same = next(iter(rows))
            if not same and count >= max_per_scope:
                return False
            await db.execute(
                f"INSERT INTO presets ({COLUMNS}) VALUES ({', '.join('?' * 11)}) "
                "ON CONFLICT (platform, workspace_id, owner, name) DO UPDATE SET text = excluded.text, "
                "duration = excluded.duration, resolution = excluded.resolution, "
                "prompt_optimizer = excluded.prompt_optimizer, fast_pretreatment = excluded.fast_pretreatment, "
                "created_by = excluded.created_by, created_at = excluded.created_at", values_of(preset))
            if preset.owner == WORKSPACE:
                await self._audit(db, preset.platform, preset.workspace_id, preset.created_by, "save_preset",
                                  preset.name)
        return True

    async def delete_preset(self, platform: str, workspace_id: str, owner: str, name: str, *, by: str) -> bool:
        """Forget a preset, and its owner's default if it was that one; False when there was none."""
        async with self._write() as db:
            cur = await db.execute("DELETE FROM presets WHERE platform = ? AND workspace_id = ? AND owner = ? "
                                   "AND name = ?", (platform, workspace_id, owner, name))
            if cur.rowcount == 0:
                return False
            if owner == WORKSPACE:
                await self._audit(db, platform, workspace_id, by, "delete_preset", name)
            else:
                await db.execute("DELETE FROM preset_defaults WHERE platform = ? AND workspace_id = ? "
                                 "AND user_id = ? AND name = ?", (platform, workspace_id, owner, name))
        return True

    async def presets(self, platform: str, workspace_id: str, user_id: str) -> list[Preset]:
        """The workspace's presets and the member's own, by name (the workspace's first of a name)."""
        rows = await self._read(f"SELECT {COLUMNS} FROM presets WHERE platform = ? AND workspace_id = ? "
                                "AND owner IN ('', ?) ORDER BY name, owner", (platform, workspace_id, user_id))
        return [preset_of(r) for r in rows]

    async def find_preset(self, platform: str, workspace_id: str, user_id: str, name: str | None) -> Preset | None:
        """The preset `name` as the member sees it (their own first); with no name, their default's."""
        if name is None:
            rows = await self._read(FIND_DEFAULT_SQL, (platform, workspace_id, user_id))
        else:
            rows = await self._read(FIND_SQL, (platform, workspace_id, user_id, name))
        return preset_of(rows[0]) if rows else None

    async def set_default_preset(self, platform: str, workspace_id: str, user_id: str, name: str | None) -> None:
        """Make `name` the member's default preset in the workspace (None: no default)."""
        async with self._write() as db:
            if name is None:
                await db.execute("DELETE FROM preset_defaults WHERE platform = ? AND workspace_id = ? "
                                 "AND user_id = ?", (platform, workspace_id, user_id))
            else:
                await db.execute(
                    "INSERT INTO preset_defaults VALUES (?, ?, ?, ?, ?) ON CONFLICT (platform, workspace_id, "
                    "user_id) DO UPDATE SET name = excluded.name, set_at = excluded.set_at",
                    (platform, workspace_id, user_id, name, self._clock()))

    async def default_preset(self, platform: str, workspace_id: str, user_id: str) -> str | None:
        """The name of the member's default preset in the workspace, if they chose one."""
        rows = await self._read("SELECT name FROM preset_defaults WHERE platform = ? AND workspace_id = ? "
                                "AND user_id = ?", (platform, workspace_id, user_id))
        return rows[0]["name"] if rows else None
