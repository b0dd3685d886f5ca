"""Fault drills: a busy database, a stalling provider, hostile input. Nothing lost, nothing charged twice."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from bot import messages
from bot.commands import CommandRequest
from bot.core import Core
from bot.ports import AttachmentRef
from storage import SQLiteStore
from tests.conftest import make_settings
from tests.helpers import FakeChatPort

HOLD_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


@pytest.fixture
async def store(tmp_path: Path):
    """The drill's database, closed however the drill ends (an open one keeps pytest from exiting)."""
    opened = await SQLiteStore.open(make_settings(tmp_path).database_path)
    try:
        yield opened
    finally:
        await opened.close()


async def test_database_busy_for_seconds_requests_wait_and_succeed(tmp_path: Path, store: SQLiteStore) -> None:
    settings = make_settings(tmp_path)
    core = Core(settings, store, provider_name="scripted", ports={"fake": FakeChatPort()})
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, settings.database_path, "2.5"],  # noqa: ASYNC220
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"  # another process holds the write lock
        started = time.monotonic()
        replies = await asyncio.gather(*(core.handle(CommandRequest("fake", "w", "c", f"u{n}", "video",
                                                                    prompt=f"scene {n}")) for n in range(20)))
        waited = time.monotonic() - started
    finally:
        holder.wait(10)
    assert all(r.ok for r in replies) and waited >= 1.5
    jobs = await store.active_jobs()
    assert len(jobs) == 20
    for job in jobs:
        assert [k for k, _, _ in await store.ledger(job.id)] == ["reserve"]


def encoded(size: tuple[int, int], fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(buf, fmt)
    return buf.getvalue()


async def test_hostile_input_answered_free_and_the_bot_keeps_serving(tmp_path: Path, store: SQLiteStore) -> None:
    settings = make_settings(tmp_path)
    port = FakeChatPort()
    core = Core(settings, store, provider_name="scripted", ports={"fake": port})
    bomb = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(bomb, "PNG")
    port.files.update({"bomb": bomb.getvalue(), "truncated": encoded((800, 600), "PNG")[:300],
                       "jpeg-named-png": encoded((800, 600), "JPEG"), "gif": encoded((800, 600), "GIF"),
                       "garbage": b"\x00\xff" * 5000})

    def video(**kw) -> CommandRequest:
        return CommandRequest("fake", "w", "c", "u1", "video", **kw)

    cases = [
        (video(prompt="x" * 2001), messages.PROMPT_TOO_LONG.format(limit=2000, got=2001)),
        (video(prompt="a\x07\x1b[2Jcat"), messages.PROMPT_CONTROL_CHARS),
        (video(prompt="x", attachments=(AttachmentRef("bomb", "bomb.png"),)), messages.IMAGE_TOO_MANY_PIXELS),
        (video(prompt="x", attachments=(AttachmentRef("truncated", "t.png"),)), messages.IMAGE_NOT_IMAGE),
        (video(prompt="x", attachments=(AttachmentRef("gif", "g.png"),)),
         messages.IMAGE_WRONG_FORMAT.format(fmt="GIF")),
        (video(prompt="x", attachments=(AttachmentRef("garbage", "g.webp"),)), messages.IMAGE_NOT_IMAGE),
        (video(), messages.PROMPT_REQUIRED),
        (video(prompt="x", duration="lots"), messages.BAD_DURATION.format(got="lots")),
        (video(prompt="x", resolution="4K"), messages.BAD_RESOLUTION.format(got="4K")),
    ]
    for request, message in cases:
        reply = await core.handle(request)
        assert (reply.ok, reply.text) == (False, message)
    assert await store.active_jobs() == []
    named_wrong = await core.handle(video(prompt="x", attachments=(AttachmentRef("jpeg-named-png", "a.png"),)))
    assert named_wrong.ok  # judged by its content, not its name
    assert (await store.get_job(named_wrong.job_id)).request.first_frame.mime == "image/jpeg"


@pytest.mark.parametrize(("body", "status"), [
    ("command=%2Fvideo&text=a+cat", 200),  # no team, channel or user: told so in plain words
    ("payload=%7B%22type%22%3A%22view_submission%22%7D", 404),  # a view without its state: no listener takes it
    ("payload=not-json", 400),  # undecodable: refused as a bad request, not a server error Slack would retry
])
async def test_slack_payloads_missing_fields_leave_the_bot_serving(tmp_path: Path, body: str, status: int) -> None:
    from tests.fakes.slack import FakeSlack
    from tests.test_slack_e2e import Bot

    fake = await FakeSlack().start()
    try:
        async with Bot(tmp_path, fake) as bot:
            broken = await bot.send(body)
            assert broken.status_code == status
            if body.startswith("command="):
                assert broken.json()["text"].startswith("Slack sent that request without some of its parts")
            assert await bot.jobs() == []
            assert (await bot.slash("still here")).status_code == 200
            await bot.until_delivered()
            assert len(await bot.jobs()) == 1
    finally:
        await fake.stop()


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Delivery retries after a tenth of a second instead of 5 s, 10 s, ..."""
    monkeypatch.setattr("bot.delivery.RETRY_FIRST_SECONDS", 0.1)


async def test_slack_upload_failures_and_a_deleted_thread(tmp_path: Path, quick_retries: None) -> None:
    from bot.jobs import JobStatus
    from tests.fakes.slack import FakeSlack
    from tests.test_slack_e2e import Bot

    fake = await FakeSlack(upload_failures=[500, 413]).start()
    try:
        async with Bot(tmp_path, fake) as bot:
            await bot.slash("first: the upload fails twice, then works")
            await bot.until_delivered()
            (job,) = await bot.jobs()
            assert job.attempts == 2 and job.status is JobStatus.DELIVERED
            # The thread root is deleted before the next video is posted: it lands in the channel.
            fake.fail["files.completeUploadExternal"] = ["thread_not_found"]
            await bot.slash("second: its thread is gone")
            await bot.until_delivered(2)
            posted = [m for m in fake.messages["C1"] if m.get("files")]
            assert len(posted) == 2 and posted[1]["thread_ts"] is None
    finally:
        await fake.stop()


async def test_slack_upload_stalling_past_the_timeout_is_retried_and_posted_once(tmp_path: Path,
                                                                                 quick_retries: None) -> None:
    from bot.jobs import JobStatus
    from tests.fakes.slack import FakeSlack
    from tests.test_slack_e2e import Bot

    # The first upload POST hangs for an hour: the video can only arrive if the bot cuts it off at
    # UPLOAD_TIMEOUT_SECONDS and tries again (no wall-clock assertion needed).
    fake = await FakeSlack(upload_stalls=[3600.0]).start()
    try:
        async with Bot(tmp_path, fake, upload_timeout_seconds=1.0) as bot:
            await bot.slash("a slow upload")
            await bot.until_delivered()
            (job,) = await bot.jobs()
            assert job.status is JobStatus.DELIVERED and job.attempts == 1
            # The retry looked for an earlier post, found none, and shared the file once.
            assert "conversations.replies" in fake.methods()
            assert len(fake.args_of("files.completeUploadExternal")) == 1
            posted = [m for m in fake.messages["C1"] if m.get("files")]
            assert len(posted) == 1 and posted[0]["thread_ts"] == job.thread_id
            assert job.delivered_ref == f"C1/{posted[0]['files'][0]['id']}"
    finally:
        await fake.stop()


async def test_slack_share_answered_late_is_found_not_posted_twice(tmp_path: Path, quick_retries: None) -> None:
    from bot.jobs import JobStatus
    from tests.fakes.slack import FakeSlack
    from tests.test_slack_e2e import Bot

    # Slack shares the file in the thread but answers after we stopped waiting.
    fake = await FakeSlack(late={"files.completeUploadExternal": [5.0]}).start()
    try:
        async with Bot(tmp_path, fake, upload_timeout_seconds=1.0) as bot:
            await bot.slash("a share that answers late")
            await bot.until_delivered()
            (job,) = await bot.jobs()
            assert job.status is JobStatus.DELIVERED and job.attempts == 1
            posted = [m for m in fake.messages["C1"] if m.get("files")]
            assert len(posted) == 1 and job.delivered_ref == f"C1/{posted[0]['files'][0]['id']}"
            assert len(fake.uploads) == 1 and len(fake.args_of("files.completeUploadExternal")) == 1
            assert "conversations.replies" in fake.methods()
    finally:
        await fake.stop()


async def test_discord_upload_answered_late_is_found_not_posted_twice(tmp_path: Path, quick_retries: None) -> None:
    from bot.jobs import JobStatus
    from tests.fakes.discord import FakeDiscord
    from tests.test_discord_e2e import Bot, delivered

    fake = await FakeDiscord().start()
    # The message with the video is created at once, but its answer comes after UPLOAD_TIMEOUT_SECONDS.
    fake.answer_late("POST", r"channels/\d+/messages", 5.0)
    try:
        async with Bot(tmp_path, fake, upload_timeout_seconds=1.0) as bot:
            await bot.video(prompt="a late answer")
            (job,) = await bot.until(delivered(), 10)
            assert job.status is JobStatus.DELIVERED and job.attempts == 1
            (post,) = [m for m in fake.messages_in(job.thread_id) if m["attachments"]]
            assert post["attachments"][0]["filename"] == f"hailuo-{job.id}.mp4"
            assert job.delivered_ref == f"{job.thread_id}/{post['id']}"
            sends = [b for m, p, b in fake.calls if m == "POST" and p == f"channels/{job.thread_id}/messages"]
            assert len(sends) == 1 and ("GET", f"channels/{job.thread_id}/messages") in \
                [(m, p) for m, p, _ in fake.calls]
    finally:
        await fake.stop()


async def test_ports_fetch_only_from_the_platforms_own_hosts() -> None:
    import discord as discord_lib
    from slack_sdk.web.async_client import AsyncWebClient

    from adapters.discord.port import DiscordPort
    from adapters.slack.port import SlackPort

    slack = SlackPort(AsyncWebClient(token="xoxb-x"), "xoxb-x", "https://slack.com/api/")
    discord = DiscordPort(discord_lib.Client(intents=discord_lib.Intents.none()), "https://discord.com/api/v10")
    try:
        for port, url in ((slack, "https://evil.example/files-pri/T1-F1/x.png"), (slack, "http://169.254.169.254/"),
                          (discord, "https://evil.example/attachments/1/x.png"), (discord, "file:///etc/passwd")):
            with pytest.raises(PermissionError):
                async for _ in port.fetch_attachment(AttachmentRef(url), 1000):
                    pass
        assert "files.slack.com" in slack.file_hosts and "cdn.discordapp.com" in discord.file_hosts
    finally:
        await slack.aclose()
        await discord.aclose()
