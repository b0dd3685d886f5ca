"""Slack's ChatPort: status via chat.update, videos via files upload v2, images from url_private."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.fetch import fetch_capped
from adapters.slack.chains import delivered_blocks
from adapters.slack.history import post_link
from adapters.slack.safe import slack_text
from adapters.slack.translate import PLATFORM, status_message
from bot import messages
from bot.budget import Rate, RateLimited
from bot.i18n import render
from bot.jobs import Job
from bot.ports import AttachmentRef, DeliveryFailed, MessageRef, StatusView, ThreadRef, VideoPost

log = logging.getLogger(__name__)

# Short bursts beyond the steady rate, kept under Slack's own so that requests bunched up on the way
# (a post after a long upload) still fit.
POST_BURST, EDIT_BURST, UPLOAD_BURST = 2.0, 5.0, 5.0
GONE = {"channel_not_found", "thread_not_found", "is_archived", "not_in_channel", "message_not_found"}


def status_ref(channel: str, ts: str) -> MessageRef:
    """How a status message is bound to its job: chat.update needs both the channel and the ts."""
    return MessageRef(channel, f"{channel}:{ts}")


@dataclass(frozen=True)
class SlackRates:
    """The limits the bot keeps under: posts per channel, edits and uploads per workspace."""

    posts_per_second: float = 1.0
    edits_per_minute: float = 45.0
    uploads_per_minute: float = 90.0


def rate_limited(exc: SlackApiError) -> RateLimited | None:
    """Slack's 429 as the core's RateLimited (with its Retry-After), or None for any other error."""
    response = exc.response
    if getattr(response, "status_code", None) != 429 and response.get("error") != "ratelimited":
        return None
    headers = getattr(response, "headers", None) or {}
    try:
        seconds = float(headers.get("Retry-After") or headers.get("retry-after") or 1)
    except (TypeError, ValueError):
        seconds = 1.0
    return RateLimited(seconds, "slack")


class SlackPort:
    """Talks to one workspace with the bot token; every call goes to SLACK_API_URL."""

    platform = PLATFORM

    def __init__(self, client: AsyncWebClient, bot_token: str, api_url: str, *, upload_timeout: float = 600.0,
                 limits: SlackRates | None = None) -> None:
        self.client = client
        self.limits = limits or SlackRates()
        self._token = bot_token
        self.upload_timeout = upload_timeout
        # Files are fetched only from Slack's own file host (or the test server standing in for Slack).
        api_host = urlsplit(api_url).hostname or ""
        self.file_hosts = {"files.slack.com", "files.slack-gov.com"} | ({api_host} - {"slack.com", "slack-gov.com"})
        # Upload addresses from files.getUploadURLExternal live on Slack's file upload host.
        self.file_hosts |= {"files.slack.com", "files.slack-gov.com", "uploads.slack.com"}
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0), follow_redirects=False)
        self.connected = True

    def rates(self, action: str, to: ThreadRef) -> Sequence[Rate]:
        """Slack's scopes: posts per channel (threads included), edits and uploads per workspace."""
        ws = to.workspace_id
        post = Rate(f"slack:{ws}:post:{to.channel_id}", self.limits.posts_per_second, POST_BURST)
        if action == "edit":
            return [Rate(f"slack:{ws}:edit", self.limits.edits_per_minute / 60, EDIT_BURST)]
        if action == "video":  # the upload; the Regenerate button's message takes its turn when it is sent
            return [Rate(f"slack:{ws}:upload", self.limits.uploads_per_minute / 60, UPLOAD_BURST)]
        return [post]

    async def edit_status(self, ref: MessageRef, view: StatusView) -> None:
        """Update the status message (the thread root) in place."""
        channel, _, ts = ref.message_id.partition(":")
        text, blocks = status_message(view)
        try:
            await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            if (limited := rate_limited(exc)) is not None:
                raise limited from exc
            raise

    async def post_video(self, to: ThreadRef, video: VideoPost) -> MessageRef:
        """Upload the MP4 into the thread (upload v2) with a Regenerate button under it."""
        comment = f"<@{video.user_id}> {slack_text(video.caption)}"  # the caption holds the member's prompt
        thread = to.thread_id
        try:
            file_id = await self._upload(to.channel_id, thread, video, comment)
        except SlackApiError as exc:
            if (limited := rate_limited(exc)) is not None:
                raise limited from exc
            error = exc.response.get("error", "")
            if error == "thread_not_found" and thread:
                log.warning("job %s: thread is gone; posting in the channel", video.job_id)
                thread = None
                try:
                    file_id = await self._upload(to.channel_id, None, video, comment)
                except SlackApiError as again:
                    raise rate_limited(again) or _delivery_error(again) from again
            else:
                raise _delivery_error(exc) from exc
        for attempt in (1, 2) if video.buttons else ():  # a chain's joined video has no buttons
            try:
                if video.pace is not None:
                    await video.pace()
                await self.client.chat_postMessage(channel=to.channel_id, thread_ts=thread,
                                                   text=render(messages.REGENERATE, video.locale),
                                                   blocks=delivered_blocks(video))
                break
            except SlackApiError as exc:
                if (limited := rate_limited(exc)) is not None and attempt == 1:
                    log.info("job %s: Slack rate limit on the Regenerate button; waiting %.2f s", video.job_id,
                             limited.retry_after)
                    await asyncio.sleep(min(limited.retry_after, 30.0))
                    continue
                log.warning("job %s: could not add the Regenerate button: %s", video.job_id,
                            exc.response.get("error"))
                break
        return MessageRef(to.channel_id, file_id)

    async def _upload(self, channel: str, thread: str | None, video: VideoPost, comment: str) -> str:
        # One bound for all three calls: a stalled upload or a late files.completeUploadExternal is retried,
        # and the retry looks for the file first (Slack may have shared it after we stopped waiting).
        try:
            async with asyncio.timeout(self.upload_timeout):
                return await self._upload_v2(channel, thread, video, comment)
        except (TimeoutError, httpx.TimeoutException):
            raise DeliveryFailed(f"Slack did not take the upload within {self.upload_timeout:g} s") from None

    async def _upload_v2(self, channel: str, thread: str | None, video: VideoPost, comment: str) -> str:
        # Upload v2's three calls, with the bytes streamed from disk rather than read into memory.
        size = Path(video.path).stat().st_size
        ticket = await self.client.files_getUploadURLExternal(filename=video.filename, length=size)
        upload_url = str(ticket["upload_url"])
        if urlsplit(upload_url).hostname not in self.file_hosts | {"files.slack.com"}:
            raise DeliveryFailed("Slack gave an upload address on an unexpected host", permanent=True)

        async def chunks() -> AsyncIterator[bytes]:
            handle = await asyncio.to_thread(open, video.path, "rb")
            try:
                while chunk := await asyncio.to_thread(handle.read, 1 << 20):
                    yield chunk
            finally:
                handle.close()

        response = await self._http.post(upload_url, content=chunks(), headers={"Content-Length": str(size)},
                                         timeout=httpx.Timeout(self.upload_timeout, connect=10.0))
        if response.status_code != 200:
            raise DeliveryFailed(f"Slack refused the upload (HTTP {response.status_code})")
        done = await self.client.files_completeUploadExternal(
            files=[{"id": str(ticket["file_id"]), "title": video.filename}], channel_id=channel,
            thread_ts=thread, initial_comment=comment)
        return str(done["files"][0]["id"])

    async def post_link(self, job: Job) -> str | None:
        """The permalink of the delivered video's message (chat.getPermalink), for the history."""
        return await post_link(self.client, job)

    async def find_video(self, to: ThreadRef, job_id: str) -> MessageRef | None:
        """Look through the thread for this job's file (a restart mid-post must not post it twice)."""
        if not to.thread_id:
            return None
        name = f"hailuo-{job_id}.mp4"
        replies = await self.client.conversations_replies(channel=to.channel_id, ts=to.thread_id, limit=200)
        for message in replies.get("messages") or []:
            for file in message.get("files") or []:
                if file.get("name") == name or file.get("title") == name:
                    return MessageRef(to.channel_id, str(file.get("id")))
        return None

    async def notify(self, to: ThreadRef, user_id: str, text: str) -> None:
        """Tell the requester something in the job's thread (or the channel if the thread is gone)."""
        text = slack_text(text)
        try:
            await self.client.chat_postMessage(channel=to.channel_id, thread_ts=to.thread_id,
                                               text=f"<@{user_id}> {text}")
        except SlackApiError as exc:
            if (limited := rate_limited(exc)) is not None:
                raise limited from exc
            if exc.response.get("error") != "thread_not_found":
                raise
            await self.client.chat_postMessage(channel=to.channel_id, text=f"<@{user_id}> {text}")

    def fetch_attachment(self, att: AttachmentRef, max_bytes: int) -> AsyncIterator[bytes]:
        """Download a Slack file with the bot token, size-capped; only from Slack's file hosts."""
        # Slack answers a missing or unauthorised token with its sign-in page, as HTTP 200.
        return fetch_capped(self._http, att.url, hosts=self.file_hosts, max_bytes=max_bytes, what="Slack file",
                            headers={"Authorization": f"Bearer {self._token}"}, refuse_html=True)

    async def aclose(self) -> None:
        """Close the download client."""
        self.connected = False
        await self._http.aclose()


def _delivery_error(exc: SlackApiError) -> DeliveryFailed:
    error = str(exc.response.get("error", "unknown"))
    return DeliveryFailed(f"Slack refused the upload: {error}", permanent=error in GONE)
