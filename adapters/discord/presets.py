"""Presets on Discord: `/video-preset` (save, list, use, delete) and the names offered to `/video`'s preset option."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import discord
from discord import app_commands

from adapters.discord import translate as t
from bot.presets import visible_names

ACTIONS = {"save": "Save a preset", "list": "List the presets you can use",
           "use": "Use a preset (with a prompt: make a video now)", "delete": "Delete a preset"}
Complete = Callable[[discord.Interaction, str], Awaitable[list[app_commands.Choice[str]]]]


class DiscordAdapter(Protocol):
    """What presets need of adapters.discord.app.DiscordAdapter (not imported: app imports this module)."""

    ctx: Any

    def request(self, interaction: discord.Interaction, command: str, **extra: Any) -> Any: ...
    async def _private(self, interaction: discord.Interaction, req: Any) -> None: ...
    async def start_video(self, interaction: discord.Interaction, req: Any) -> None: ...


def preset_names(adapter: DiscordAdapter) -> Complete:
    """Autocomplete for a preset option: the names the member can use here (their own and the server's)."""

    async def complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = await visible_names(adapter.ctx.core.store, t.PLATFORM, str(interaction.guild_id or "dm"),
                                    str(interaction.user.id), current)
        return [app_commands.Choice(name=name, value=name) for name in names]

    return complete


def register_presets(adapter: DiscordAdapter, tree: app_commands.CommandTree) -> None:
    """Add `/video-preset` to the tree (from the adapter's `register`)."""

    @tree.command(name="video-preset", description="Save, list, use or delete prompt presets")
    @app_commands.describe(action="What to do", name="The preset's name (letters, digits, - and _)",
                           text="save: the preset's text ({prompt} marks your prompt); use: your prompt",
                           duration="6 or 10 seconds", resolution="768P, or 1080P (6 s only)",
                           prompt_optimizer="Let the model polish your prompt (default on)",
                           fast_pretreatment="Shorter prompt optimisation (default off)",
                           shared="For everyone in this server (admins only)")
    @app_commands.choices(action=[app_commands.Choice(name=label, value=value) for value, label in ACTIONS.items()],
                          duration=[app_commands.Choice(name="6 seconds", value=6),
                                    app_commands.Choice(name="10 seconds", value=10)],
                          resolution=[app_commands.Choice(name="768P", value="768P"),
                                      app_commands.Choice(name="1080P (6 s only)", value="1080P")])
    async def video_preset(interaction: discord.Interaction, action: app_commands.Choice[str],
                           name: app_commands.Range[str, 1, 40] | None = None,
                           text: app_commands.Range[str, 1, 2000] | None = None,
                           duration: app_commands.Choice[int] | None = None,
                           resolution: app_commands.Choice[str] | None = None, prompt_optimizer: bool | None = None,
                           fast_pretreatment: bool | None = None, shared: bool | None = None) -> None:
        settings = {"prompt": text, "duration": duration.value if duration else None,
                    "resolution": resolution.value if resolution else None, "prompt_optimizer": prompt_optimizer,
                    "fast_pretreatment": fast_pretreatment}
        if action.value == "use" and name and text:  # a video now, made with the preset, answered as /video is
            await adapter.start_video(interaction, adapter.request(interaction, "video", preset=name, **settings))
            return
        args = (action.value, *((name,) if name else ()), *(("workspace",) if shared else ()))
        await adapter._private(interaction, adapter.request(interaction, "preset", args=args, **settings))

    video_preset.autocomplete("name")(preset_names(adapter))
