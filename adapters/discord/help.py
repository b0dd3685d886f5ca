"""Discord's `/video-help` and `/video-status [job]`, and the /video options of issue 15 (model, camera moves)."""

from __future__ import annotations

import discord
from discord import app_commands

from adapters.discord.cancel import DiscordAdapter  # the Protocol of what a command needs of the adapter
from bot import camera

MODEL_CHOICES = [app_commands.Choice(name="Standard", value="standard"),
                 app_commands.Choice(name="Fast (images only)", value="fast")]
OPTION_TEXTS = {"model": "Standard, or Fast: cheaper and quicker, images only",
                "camera": "Camera moves, up to three, e.g. Pan left,Pedestal up (added to the prompt)"}
MAX_CHOICES = 25  # Discord's limit for autocomplete answers


def camera_suggestions(current: str) -> list[str]:
    """What to offer while a member types camera moves: the moves so far, then each move that fits after them."""
    parts = camera.split(current)
    typing = "" if not parts or current.rstrip().endswith((",", "\uff0c")) else parts.pop()
    done = [name for name in (camera.canonical(p) for p in parts) if name is not None]
    if (name := camera.canonical(typing)) is not None:
        done, typing = [*done, name], ""
    done = list(dict.fromkeys(done))
    said = [",".join(done)] if done else []
    if len(done) < camera.MAX_COMBINED:
        key = " ".join(typing.split()).lower()
        fits = sorted((m for m in camera.MOVES if m not in done and key in m.lower()),
                      key=lambda m: not m.lower().startswith(key))  # what begins with the typed words first
        said += [",".join([*done, m]) for m in fits]
    return said[:MAX_CHOICES]


async def camera_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """The autocomplete of /video's `camera` option (the core checks whatever is sent in the end)."""
    return [app_commands.Choice(name=s, value=s) for s in camera_suggestions(current)]


def register_help(adapter: DiscordAdapter, tree: app_commands.CommandTree) -> None:
    """Add `/video-help` and `/video-status` to the tree (from the adapter's `register`)."""

    @tree.command(name="video-help", description="How to make videos here, the camera moves, and what they cost")
    async def video_help(interaction: discord.Interaction) -> None:
        await adapter._private(interaction, adapter.request(interaction, "help"))

    @tree.command(name="video-status", description="Your videos in progress, or one job")
    @app_commands.describe(job="A job id, from a status message (default: all your videos in progress)")
    async def video_status(interaction: discord.Interaction, job: app_commands.Range[str, 1, 32] | None = None
                           ) -> None:
        await adapter._private(interaction, adapter.request(interaction, "status", job_id=job))
