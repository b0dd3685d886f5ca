"""Wire discord.py to the core: app commands registered once in setup_hook, answers inside 3 s."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import Any

import discord
import yarl
from discord import app_commands

from adapters.discord import translate as t
from adapters.discord.animate import AnimateModal
from adapters.discord.answer import DEFER_AFTER, InteractionAnswer
from adapters.discord.cancel import CancelButton, register_cancel
from adapters.discord.chains import CHAIN_ITEMS, install_chain_forms
from adapters.discord.help import MODEL_CHOICES, OPTION_TEXTS, camera_choices, register_help
from adapters.discord.history import RepostButton, register_history
from adapters.discord.inbox import RawInteractions, rebuild
from adapters.discord.locale import CatalogTranslator
from adapters.discord.port import DiscordPort, RegenerateButton
from adapters.discord.presets import preset_names, register_presets
from adapters.discord.safe import NO_PINGS
from bot import messages
from bot.commands import CommandRequest, request_from_json, request_to_json
from bot.config import Settings
from bot.context import AdapterContext
from bot.i18n import render
from bot.inbox import InboxUnavailable
from bot.store import InboxItem

log = logging.getLogger(__name__)

DEFAULT_API = "https://discord.com/api/v10"
DEFAULT_GATEWAY = "wss://gateway.discord.gg/"
READY_TIMEOUT = 60.0
BUSY_AT = 8  # more /video interactions than this in flight: defer each at once


class _Hooks:
    """What both clients share: commands registered once, in setup_hook, never in on_ready."""

    adapter: DiscordAdapter
    tree: app_commands.CommandTree

    def _prepare(self, adapter: DiscordAdapter) -> None:
        self.adapter = adapter
        self.tree = app_commands.CommandTree(self)  # type: ignore[arg-type]
        adapter.raw.install(self)  # type: ignore[arg-type]

    async def setup_hook(self) -> None:
        await self.tree.set_translator(CatalogTranslator())  # name_localizations, description_localizations
        self.adapter.register(self.tree)
        self.add_dynamic_items(RegenerateButton, CancelButton, RepostButton, *CHAIN_ITEMS)  # type: ignore[attr-defined]
        install_chain_forms(self)  # type: ignore[arg-type]
        shards = self.adapter.settings.shard_ids
        if shards is not None and 0 not in shards:
            return  # the process that holds shard 0 registers the commands, once for all of them
        guilds = self.adapter.settings.guild_ids
        for guild_id in guilds:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        if not guilds:
            await self.tree.sync()


def _intents() -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True
    return intents


class HailuoClient(_Hooks, discord.Client):
    """The discord.py client of a bot that runs in one process (one gateway connection)."""

    def __init__(self, adapter: DiscordAdapter, **options: Any) -> None:
        super().__init__(intents=_intents(), **options)
        self._prepare(adapter)


class ShardedHailuoClient(_Hooks, discord.AutoShardedClient):
    """The client of one process among several: it holds DISCORD_SHARD_IDS of DISCORD_SHARD_COUNT shards."""

    def __init__(self, adapter: DiscordAdapter, **options: Any) -> None:
        settings = adapter.settings
        super().__init__(intents=_intents(), shard_count=settings.discord_shard_count,
                         shard_ids=settings.shard_ids, **options)
        self._prepare(adapter)


class DiscordAdapter:
    """The Discord side of the bot: /video, /video-quota, /video-history, Animate image, Regenerate."""

    def __init__(self, settings: Settings, ctx: AdapterContext) -> None:
        self.settings = settings
        self.ctx = ctx
        self.client: HailuoClient | ShardedHailuoClient | None = None
        self.raw = RawInteractions()
        self._answering = 0  # /video interactions between arrival and their answer

    async def start(self) -> None:
        """Log in (a bad token fails here, plainly), connect the gateway, register the port."""
        if self.settings.discord_api_base_url != DEFAULT_API:
            discord.http.Route.BASE = self.settings.discord_api_base_url.rstrip("/")
        if self.settings.discord_gateway_url != DEFAULT_GATEWAY:
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.settings.discord_gateway_url)
        kind = HailuoClient if self.settings.discord_shard_count is None else ShardedHailuoClient
        # Every message, edit and follow-up carries allowed_mentions: nobody is pinged unless a post names them.
        self.client = kind(self, guild_ready_timeout=0.5, chunk_guilds_at_startup=False, allowed_mentions=NO_PINGS)
        self.port = DiscordPort(self.client, self.settings.discord_api_base_url,
                                upload_timeout=self.settings.upload_timeout_seconds,
                                messages_per_second=self.settings.discord_messages_per_second)
        self.ctx.register(t.PLATFORM, self.port)
        token = self.settings.discord_token.get_secret_value()  # type: ignore[union-attr]
        try:
            await self.client.login(token)
            self.ctx.supervisor.start(self.client.connect(reconnect=True), name="discord-gateway")
            await asyncio.wait_for(self.client.wait_until_ready(), READY_TIMEOUT)
        except discord.LoginFailure:
            await self.aclose()
            raise ValueError("Discord refused DISCORD_TOKEN (improper token): copy it again from the "
                             "Developer Portal, Bot page") from None
        except BaseException:
            await self.aclose()
            raise
        log.info("Discord connected as %s", self.client.user)
        self.ctx.inbox.serve(t.PLATFORM, self._replay)

    async def aclose(self) -> None:
        """Close the gateway and HTTP sessions."""
        self.ctx.inbox.unserve(t.PLATFORM)
        self.ctx.unregister(t.PLATFORM)
        if self.client is not None:
            await self.client.close()
        await self.port.aclose()

    def register(self, tree: app_commands.CommandTree) -> None:
        """Add the commands to the tree (called once, from setup_hook)."""

        @tree.command(name="video", description="Make a short video with Hailuo 2.3 (attach an image to animate it)")
        @app_commands.describe(prompt="What the video should show (up to 2000 characters)",
                               image="A PNG, JPEG or WebP picture to use as the first frame",
                               duration="6 or 10 seconds", resolution="768P, or 1080P (6 s only)",
                               prompt_optimizer="Let the model polish your prompt (default on)",
                               fast_pretreatment="Shorter prompt optimisation (default off)",
                               preset="A preset to apply (your own, or this server's)", **OPTION_TEXTS)
        @app_commands.choices(duration=[app_commands.Choice(name="6 seconds", value=6),
                                        app_commands.Choice(name="10 seconds", value=10)],
                              resolution=[app_commands.Choice(name="768P", value="768P"),
                                          app_commands.Choice(name="1080P (6 s only)", value="1080P")],
                              model=MODEL_CHOICES)
        @app_commands.autocomplete(camera=camera_choices)
        async def video(interaction: discord.Interaction, prompt: app_commands.Range[str, 1, 2000] | None = None,
                        image: discord.Attachment | None = None, duration: app_commands.Choice[int] | None = None,
                        resolution: app_commands.Choice[str] | None = None, prompt_optimizer: bool | None = None,
                        fast_pretreatment: bool | None = None, preset: app_commands.Range[str, 1, 40] | None = None,
                        model: app_commands.Choice[str] | None = None,
                        camera: app_commands.Range[str, 1, 100] | None = None) -> None:
            data = interaction.data or {}
            req = t.video_request(data, **self._who(interaction), upload_limit=interaction.filesize_limit,  # type: ignore[arg-type]
                                  permissions=interaction.permissions.value)
            await self.start_video(interaction, req)

        video.autocomplete("preset")(preset_names(self))
        register_cancel(self, tree)
        register_presets(self, tree)
        register_history(self, tree)
        register_help(self, tree)

        @tree.command(name="video-quota", description="Your video credits today")
        async def quota(interaction: discord.Interaction) -> None:
            await self._private(interaction, self.request(interaction, "quota"))

        @tree.command(name="video-admin", description="Manage video quotas, blocked users and channels")
        @app_commands.default_permissions(manage_guild=True)
        @app_commands.guild_only()
        @app_commands.describe(action="What to do", user="The member it is about", channel="The channel it is about",
                               credits="Daily credits (quota-set)", days="How many days back (usage)",
                               language="Default language code, e.g. zh-CN (language)",
                               dollars="Daily spending limit in US dollars (budget)")
        @app_commands.choices(action=[app_commands.Choice(name=label, value=value)
                                      for value, label in t.ADMIN_ACTIONS.items()])
        async def admin(interaction: discord.Interaction, action: app_commands.Choice[str],
                        user: discord.User | None = None, channel: discord.TextChannel | None = None,
                        credits: app_commands.Range[int, 0, 1_000_000] | None = None,
                        days: app_commands.Range[int, 1, 366] | None = None,
                        language: app_commands.Range[str, 1, 35] | None = None,
                        dollars: app_commands.Range[float, 0, 1_000_000] | None = None) -> None:
            # default_permissions only hides the command; the member's permissions are checked again in the core.
            await self._private(interaction, self.request(interaction, "admin",
                                                          args=t.admin_args(interaction.data or {})))

        @tree.context_menu(name="Animate image")
        async def animate(interaction: discord.Interaction, message: discord.Message) -> None:
            image = next((a for a in message.attachments if (a.content_type or "").startswith("image/")), None)
            locale = t.locale_of(self._payload(interaction)) or t.server_locale_of(self._payload(interaction))
            if image is None:
                await interaction.response.send_message(render(messages.NO_IMAGE, locale), ephemeral=True)
                return
            raw = {"id": image.id, "filename": image.filename, "size": image.size, "url": image.url,
                   "content_type": image.content_type}
            await interaction.response.send_modal(AnimateModal(self, raw, locale))

    # -- flows ----------------------------------------------------------------------------

    def request(self, interaction: discord.Interaction, command: str, **extra: Any) -> CommandRequest:
        """A request from whoever is behind this interaction."""
        return t.simple_request(command, **self._who(interaction), upload_limit=interaction.filesize_limit,
                                is_admin=t.is_admin(interaction.permissions.value), **extra)

    async def start_video(self, interaction: discord.Interaction, req: CommandRequest) -> None:
        """Record the interaction, then one call to the core, answered by its progress (see InteractionAnswer)."""
        arrived = asyncio.get_running_loop().time()
        self._answering += 1
        try:
            key = f"discord:{interaction.id}"
            req = dataclasses.replace(req, request_key=key)
            raw = self.raw.pop(interaction.id)
            if raw is None:  # not from the gateway (nothing to replay it from): handled without a record
                await self._video(interaction, req, arrived)
                return
            record = self.ctx.inbox.record(t.PLATFORM, "interaction", key,
                                           {"interaction": raw, "request": request_to_json(req)})
            try:
                if self._answering > BUSY_AT:
                    # A burst: the record waits for its batch while the 3 s run, so the defer goes out
                    # together with it rather than after it.
                    _, fresh = await asyncio.gather(InteractionAnswer(interaction).busy(), record)
                else:
                    fresh = await record
            except InboxUnavailable:
                await InteractionAnswer(interaction).refuse(render(messages.NOT_RECORDED,
                                                                   req.locale or req.server_locale))
                return
            if fresh:  # else the gateway delivered it twice: the first one answers it
                await self.ctx.inbox.run(key, lambda: self._video(interaction, req, arrived))
        finally:
            self._answering -= 1

    async def _replay(self, item: InboxItem) -> None:
        """Finish an interaction a process acknowledged (deferred) and then died on."""
        payload = json.loads(item.payload)
        interaction = rebuild(self.client, payload["interaction"])  # type: ignore[arg-type]
        try:
            await self._video(interaction, request_from_json(payload["request"]))  # its 3 s are long past
        except discord.HTTPException as exc:
            # The interaction's token has expired (15 min): an accepted job is delivered in the channel anyway.
            log.warning("a replayed interaction could not be answered (%s)", exc.code)

    async def _video(self, interaction: discord.Interaction, req: CommandRequest, arrived: float | None = None) -> None:
        loop = asyncio.get_running_loop()
        answer = InteractionAnswer(interaction)
        if self._answering > BUSY_AT:
            # A burst: every core call shares the loop with a thousand others, and its 3 s run from the
            # interaction's arrival. Deferring now costs nothing (nobody gets a public status first
            # under a burst anyway) and keeps each first answer in time.
            await answer.busy()
        task = self.ctx.supervisor.start(self.ctx.core.handle(req, answer), name=f"discord-{interaction.id}")
        waited = loop.time() - (arrived if arrived is not None else loop.time())
        done, _ = await asyncio.wait({task}, timeout=max(0.0, DEFER_AFTER - waited))
        if not done:
            await answer.busy()
        reply = await task
        if not reply.ok:
            await answer.refuse(reply.text)

    async def regenerate(self, interaction: discord.Interaction, job_id: str) -> None:
        """The Regenerate button: the same settings, charged again, in a new status message and thread."""
        # Pressed in a job's thread, the new status and video stay in that thread.
        await self.start_video(interaction, self.request(interaction, "regenerate", job_id=job_id))

    async def _private(self, interaction: discord.Interaction, req: CommandRequest) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        reply = await self.ctx.core.handle(req)
        await interaction.edit_original_response(content=t.render_text(reply.text)[:2000])

    @staticmethod
    def _payload(interaction: discord.Interaction) -> dict[str, Any]:
        return {"locale": getattr(interaction.locale, "value", None),
                "guild_locale": getattr(interaction.guild_locale, "value", None)}

    @classmethod
    def _who(cls, interaction: discord.Interaction) -> dict[str, Any]:
        return {"guild_id": str(interaction.guild_id or "dm"), "channel_id": str(interaction.channel_id),
                "user_id": str(interaction.user.id), "user_name": interaction.user.name,
                "locale": t.locale_of(cls._payload(interaction)),
                "server_locale": t.server_locale_of(cls._payload(interaction))}
