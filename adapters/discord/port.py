"""Discord's ChatPort: everything after the first answer goes through the bot token, never the interaction's."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import discord
import httpx

from adapters.discord.cancel import status_buttons
from adapters.discord.chains import add_chain_buttons
from adapters.discord.reencode import reencode_to_fit
from adapters.discord.safe import NO_PINGS, discord_text, only
from adapters.discord.translate import PLATFORM, REGENERATE_ID, status_embed
from adapters.fetch import fetch_capped
from bot import messages
from bot.budget import Rate, RateLimited
from bot.i18n import render
from bot.jobs import Job
from bot.ports import AttachmentRef, DeliveryFailed, MessageRef, StatusView, ThreadRef, VideoPost

log = logging.getLogger(__name__)

DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
BURST = 5.0  # Discord's message buckets hold 5 (per 5 s)
LINK_LIFETIME = 3600  # MiniMax download addresses last about an hour (some reports say nine)
# Errors that mean "not this place": the thread or channel is gone, archived, or closed to the bot.
ELSEWHERE = {10003, 50001, 50013, 50083, 160005}
TOO_LARGE = messages.TOO_LARGE
LINK_TEXT = messages.LINK_TEXT


def status_ref(channel_id: str, message_id: str) -> MessageRef:
    """How a status message is bound to its job: editing it needs both its channel and its id."""
    return MessageRef(channel_id, f"{channel_id}:{message_id}")


class RegenerateButton(discord.ui.DynamicItem[discord.ui.Button], template=r"hailuo:regen:(?P<job>[0-9a-f]{6,32})"):
    """A Regenerate button that still works after a restart: the job id rides in its custom_id."""

    def __init__(self, job_id: str, cost: int | None = None, locale: str | None = None) -> None:
        label = render(messages.REGENERATE if cost is None else messages.REGENERATE_BUTTON.format(cost=cost), locale)
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.secondary, emoji="\U0001f501",
                                           custom_id=REGENERATE_ID.format(job=job_id)))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> RegenerateButton:
        return cls(match["job"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.client.adapter.regenerate(interaction, self.job_id)  # type: ignore[attr-defined]


class RateLimitWatch(logging.Filter):
    """Counts the 429s discord.py waits out by itself, and logs them as the figures they are, not as warnings."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        """Let every line through; a 429 one is counted and lowered to INFO."""
        if isinstance(record.msg, str) and record.msg.startswith("We are being rate limited"):
            self.count += 1
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


class DiscordPort:
    """Posts, edits and downloads for the core, on neutral references."""

    platform = PLATFORM

    def __init__(self, client: discord.Client, api_base_url: str, *, upload_timeout: float = 600.0,
                 messages_per_second: float = 1.0) -> None:
        self.client = client
        self.messages_per_second = messages_per_second
        self.upload_timeout = upload_timeout
        api_host = urlsplit(api_base_url).hostname or ""
        self.file_hosts = {"cdn.discordapp.com", "media.discordapp.net"} | ({api_host} - {"discord.com"})
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0), follow_redirects=False)
        self.rate_limits = RateLimitWatch()  # discord.py handles a 429 itself; we count it
        logging.getLogger("discord.http").addFilter(self.rate_limits)

    @property
    def connected(self) -> bool:
        """True while the gateway session is up."""
        return self.client.is_ready() and not self.client.is_closed()

    def _channel(self, channel_id: str) -> discord.PartialMessageable:
        return self.client.get_partial_messageable(int(channel_id))

    def rates(self, action: str, to: ThreadRef) -> Sequence[Rate]:
        """Discord's per-channel buckets: edits of the status messages, and posts in the job's thread."""
        if action == "edit":
            return [Rate(f"discord:edit:{to.channel_id}", self.messages_per_second, BURST)]
        if action in ("video", "notify"):
            return [Rate(f"discord:post:{to.thread_id or to.channel_id}", self.messages_per_second, BURST)]
        return []  # the first status message is the interaction's own answer, outside these limits

    async def edit_status(self, ref: MessageRef, view: StatusView) -> None:
        """Edit the status embed through the channel endpoint (works long after the interaction expired)."""
        channel_id, _, message_id = ref.message_id.partition(":")
        try:
            await self._channel(channel_id).get_partial_message(int(message_id)).edit(
                embed=status_embed(view), view=status_buttons(view), allowed_mentions=NO_PINGS)
        except discord.RateLimited as exc:  # only past the client's max_ratelimit_timeout
            raise RateLimited(exc.retry_after, "discord") from exc

    async def post_video(self, to: ThreadRef, video: VideoPost) -> MessageRef:
        """Post the MP4 in the thread (or the channel), re-encoded to fit the upload limit, else a link."""
        limit = video.upload_limit or DEFAULT_UPLOAD_LIMIT
        path = Path(video.path)
        for attempt in range(3):
            if path.stat().st_size > limit:
                fitted = path.with_name(f"{path.stem}-fit{attempt}.mp4")
                target = int(limit * (0.9**attempt))
                if not await asyncio.to_thread(reencode_to_fit, Path(video.path), fitted, target):
                    return await self._post_link(to, video, limit)
                path = fitted
            try:
                return await self._send_somewhere(to, video, path)
            except discord.HTTPException as exc:
                if exc.status != 413 and exc.code != 40005:
                    raise
                limit = int(min(limit, path.stat().st_size) * 0.9)  # the real limit is lower than we were told
        return await self._post_link(to, video, limit)

    async def _send_somewhere(self, to: ThreadRef, video: VideoPost, path: Path) -> MessageRef:
        content = f"<@{video.user_id}> {discord_text(video.caption)}"  # the caption holds the member's prompt
        places = [p for p in (to.thread_id, to.channel_id) if p]
        for place in places:
            view = discord.ui.View(timeout=None)
            if video.buttons:  # not under a chain's joined video
                view.add_item(RegenerateButton(video.job_id, video.cost, video.locale))
                add_chain_buttons(view, video.job_id, video.chain_index, video.locale)
            try:
                async with asyncio.timeout(self.upload_timeout):
                    message = await self._channel(place).send(
                        content, file=discord.File(path, filename=video.filename), view=view,
                        allowed_mentions=only(video.user_id))
                return MessageRef(place, str(message.id))
            except TimeoutError:
                # Retried, not failed: the message may have landed anyway, and the retry looks for it first.
                raise DeliveryFailed(f"Discord did not take the upload within {self.upload_timeout:g} s") from None
            except (discord.NotFound, discord.Forbidden, discord.HTTPException) as exc:
                if getattr(exc, "code", None) not in ELSEWHERE and not isinstance(exc, discord.NotFound):
                    raise
                log.warning("job %s: cannot post in %s (%s); trying elsewhere", video.job_id, place, exc.code)
        raise DeliveryFailed("no channel left to post the video in", permanent=True)

    async def _post_link(self, to: ThreadRef, video: VideoPost, limit: int) -> MessageRef:
        if not video.link:
            raise DeliveryFailed(TOO_LARGE.format(mb=limit / 1_048_576), permanent=True)
        until = int(time.time()) + LINK_LIFETIME
        text = render(LINK_TEXT.format(user=f"<@{video.user_id}>", until=f"<t:{until}:t>", relative=f"<t:{until}:R>",
                                       link=video.link), video.locale)
        for place in [p for p in (to.thread_id, to.channel_id) if p]:
            try:
                message = await self._channel(place).send(text, allowed_mentions=only(video.user_id))
                return MessageRef(place, str(message.id))
            except (discord.NotFound, discord.Forbidden):
                continue
        raise DeliveryFailed("no channel left to post the link in", permanent=True)

    async def post_link(self, job: Job) -> str | None:
        """The delivered video's message link: discord.com/channels/GUILD/CHANNEL (or thread)/MESSAGE."""
        channel, _, message = (job.delivered_ref or "").partition("/")
        if not (job.workspace_id.isdigit() and channel.isdigit() and message.isdigit()):
            return None
        return f"https://discord.com/channels/{job.workspace_id}/{channel}/{message}"

    async def find_video(self, to: ThreadRef, job_id: str) -> MessageRef | None:
        """Look through the thread's recent messages for this job's file (a restart must not post twice)."""
        name = f"hailuo-{job_id}.mp4"
        for place in [p for p in (to.thread_id, to.channel_id) if p]:
            try:
                async for message in self._channel(place).history(limit=50):
                    if any(a.filename == name for a in message.attachments):
                        return MessageRef(place, str(message.id))
            except (discord.NotFound, discord.Forbidden):
                continue
        return None

    async def notify(self, to: ThreadRef, user_id: str, text: str) -> None:
        """Tell the requester something in the thread (or the channel when the thread is gone)."""
        for place in [p for p in (to.thread_id, to.channel_id) if p]:
            try:
                await self._channel(place).send(f"<@{user_id}> {discord_text(text)}", allowed_mentions=only(user_id))
                return
            except (discord.NotFound, discord.Forbidden):
                continue

    def fetch_attachment(self, att: AttachmentRef, max_bytes: int) -> AsyncIterator[bytes]:
        """Stream an attachment from Discord's CDN (only there), size-capped."""
        return fetch_capped(self._http, att.url, hosts=self.file_hosts, max_bytes=max_bytes,
                            what="Discord attachment")

    async def aclose(self) -> None:
        """Close the download client."""
        logging.getLogger("discord.http").removeFilter(self.rate_limits)
        await self._http.aclose()
