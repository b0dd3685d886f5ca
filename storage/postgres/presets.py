"""Presets on PostgreSQL; the same semantics as storage/presets.py."""

from __future__ import annotations

from typing import Any

from bot.presets import WORKSPACE, Preset
from storage.postgres.base import PgBase, rowcount
from storage.presets import COLUMNS, preset_of, values_of

# Saving a preset checks its owner's count and inserts in one decision, taken in turn by every process.
PRESET_LOCK = 0x4841_494C_0015
FIND_SQL = (f"SELECT {COLUMNS} FROM presets WHERE platform = $1 AND workspace_id = $2 AND owner IN ('', $3) "
            "AND name = $4 ORDER BY owner = '' LIMIT 1")
FIND_DEFAULT_SQL = (
    f"SELECT {', '.join('p.' + c.strip() for c in COLUMNS.split(','))} FROM preset_defaults d "
    "JOIN presets p ON p.platform = d.platform AND p.workspace_id = d.workspace_id AND p.name = d.name "
    "AND p.owner IN ('', d.user_id) WHERE d.platform = $1 AND d.workspace_id = $2 AND d.user_id = $3 "
    "ORDER BY p.owner = '' LIMIT 1")


class PgPresetQueries(PgBase):
    """Mixed into PostgresStore: save, delete, list and find presets; members' default presets."""

    _audit: Any  # storage.postgres.admin.PgAdminQueries._audit: a workspace preset's change and its log row together

    async def save_preset(self, preset: Preset, *, max_per_scope: int) -> bool:
        """Keep a preset (replacing its owner's of that name); False when a new one would be over the cap."""
        async with self._tx() as db:
            await db.execute("SELECT pg_advisory_xact_lock($1)", PRESET_LOCK)
            count, same = await db.fetchrow(
                "SELECT count(*), count(*) FILTER (WHERE name = $4) FROM presets WHERE platform = $1 "
                "AND workspace_id = $2 AND owner = $3", preset.platform, preset.workspace_id, preset.owner,
                preset.name)
            if not same and count >= max_per_scope:
                return False
            await db.execute(
                f"INSERT INTO presets ({COLUMNS}) VALUES ({', '.join(f'${i}' for i in range(1, 12))}) "
                "ON CONFLICT (platform, workspace_id, owner, name) DO UPDATE SET text = EXCLUDED.text, "
                "duration = EXCLUDED.duration, resolution = EXCLUDED.resolution, "
                "prompt_optimizer = EXCLUDED.prompt_optimizer, fast_pretreatment = EXCLUDED.fast_pretreatment, "
                "created_by = EXCLUDED.created_by, created_at = EXCLUDED.created_at", *values_of(preset))
            if preset.owner == WORKSPACE:
                await self._audit(db, preset.platform, preset.workspace_id, preset.created_by, "save_preset",
                                  preset.name)
        return True

    async def delete_preset(self, platform: str, workspace_id: str, owner: str, name: str, *, by: str) -> bool:
        """Forget a preset, and its owner's default if it was that one; False when there was none."""
        async with self._tx() as db:
            done = await db.execute("DELETE FROM presets WHERE platform = $1 AND workspace_id = $2 AND owner = $3 "
                                    "AND name = $4", platform, workspace_id, owner, name)
            if rowcount(done) == 0:
                return False
            if owner == WORKSPACE:
                await self._audit(db, platform, workspace_id, by, "delete_preset", name)
            else:
                await db.execute("DELETE FROM preset_defaults WHERE platform = $1 AND workspace_id = $2 "
                                 "AND user_id = $3 AND name = $4", platform, workspace_id, owner, name)
        return True

    async def presets(self, platform: str, workspace_id: str, user_id: str) -> list[Preset]:
        """The workspace's presets and the member's own, by name (the workspace's first of a name)."""
        rows = await self._read(f"SELECT {COLUMNS} FROM presets WHERE platform = $1 AND workspace_id = $2 "
                                "AND owner IN ('', $3) ORDER BY name COLLATE \"C\", owner COLLATE \"C\"",
                                platform, workspace_id, user_id)
        return [preset_of(r) for r in rows]

    async def find_preset(self, platform: str, workspace_id: str, user_id: str, name: str | None) -> Preset | None:
        """The preset `name` as the member sees it (their own first); with no name, their default's."""
        if name is None:
            row = await self._pool.fetchrow(FIND_DEFAULT_SQL, platform, workspace_id, user_id)
        else:
            row = await self._pool.fetchrow(FIND_SQL, platform, workspace_id, user_id, name)
        return None if row is None else preset_of(row)

    async def set_default_preset(self, platform: str, workspace_id: str, user_id: str, name: str | None) -> None:
        """Make `name` the member's default preset in the workspace (None: no default)."""
        if name is None:
            await self._execute("DELETE FROM preset_defaults WHERE platform = $1 AND workspace_id = $2 "
                                "AND user_id = $3", platform, workspace_id, user_id)
            return
        await self._execute(
            "INSERT INTO preset_defaults (platform, workspace_id, user_id, name, set_at) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (platform, workspace_id, user_id) DO UPDATE SET name = EXCLUDED.name, "
            "set_at = EXCLUDED.set_at", platform, workspace_id, user_id, name, self._clock())

    async def default_preset(self, platform: str, workspace_id: str, user_id: str) -> str | None:
        """The name of the member's default preset in the workspace, if they chose one."""
        return await self._pool.fetchval("SELECT name FROM preset_defaults WHERE platform = $1 AND workspace_id = $2 "
                                         "AND user_id = $3", platform, workspace_id, user_id)
