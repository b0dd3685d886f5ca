"""Guarantees through the real chat clients (issue 14): discord.py and slack-bolt against the local fakes."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

from bot import messages
from bot.jobs import JobStatus
from bot.providers.base import TaskStatus
from tests.fakes.discord import CHANNEL_ID, FakeDiscord
from tests.fakes.slack import FakeSlack
from tests.helpers import ScriptedProvider
from tests.test_discord_e2e import ALICE
from tests.test_discord_e2e import Bot as DiscordBot
from tests.test_slack_e2e import Bot as SlackBot

FAILED_NOTICE = messages.JOB_FAILED_REFUNDED.format(reason=messages.PROVIDER_FAILED, cost=1)


def ended(status: JobStatus):
    return lambda jobs: len(jobs) == 1 and jobs[0].status is status


async def test_discord_too_big_to_re_encode_posts_the_link_and_its_expiry(tmp_path: Path, discord_fake: FakeDiscord,
                                                                          sample_mp4: bytes) -> None:
    fake = discord_fake
    fake.upload_limit = 20_000  # 191 kB of video in 20 kB would need under 150 kbit/s: no re-encoding fits
    provider = ScriptedProvider(video=sample_mp4)
    async with DiscordBot(tmp_path, fake, provider) as bot:
        asked = time.time()
        await bot.video(prompt="too big for this server", limit=fake.upload_limit)
        (job,) = await bot.until(ended(JobStatus.DELIVERED))
        answered = time.time()
        ledger = [k for k, _, _ in await bot.rt.store.ledger(job.id)]
    assert len(sample_mp4) > fake.upload_limit and job.error is None
    (post,) = [m for m in fake.messages_in(job.thread_id) if "download it until" in m["content"]]
    link = f"https://video.example/{job.task_id}.mp4"
    assert post["content"].startswith(f"<@{ALICE}> your video is too large") and post["content"].endswith(link)
    until = int(re.search(r"<t:(\d+):t>", post["content"])[1])
    assert asked + 3600 - 1 <= until <= answered + 3600 + 1 and f"<t:{until}:R>" in post["content"]
    assert job.delivered_ref == f"{job.thread_id}/{post['id']}"
    assert not [m for m in fake.messages_in(job.thread_id) if m["attachments"]]  # nothing too big was sent
    assert ledger == ["reserve", "capture"]


async def test_discord_failure_shown_on_the_status_and_told_to_the_member(tmp_path: Path,
                                                                         discord_fake: FakeDiscord) -> None:
    fake = discord_fake
    async with DiscordBot(tmp_path, fake, ScriptedProvider([TaskStatus.PROCESSING, TaskStatus.FAIL])) as bot:
        await bot.video(prompt="this one fails")
        (job,) = await bot.until(ended(JobStatus.FAILED))
        status = fake.messages_in(CHANNEL_ID)[0]
        await fake.wait_for(lambda: status["embeds"][0]["title"] == "Failed")
        await fake.wait_for(lambda: [m for m in fake.messages_in(job.thread_id) if FAILED_NOTICE in m["content"]])
        ledger = [k for k, _, _ in await bot.rt.store.ledger(job.id)]
    (why,) = [f for f in status["embeds"][0]["fields"] if f["name"] == "Why"]
    assert why["value"] == messages.PROVIDER_FAILED
    (told,) = [m for m in fake.messages_in(job.thread_id) if FAILED_NOTICE in m["content"]]
    assert told["content"] == f"<@{ALICE}> {FAILED_NOTICE}"
    assert ledger == ["reserve", "release"]


async def test_slack_failure_shown_on_the_status_and_told_to_the_member(tmp_path: Path, slack_fake: FakeSlack) -> None:
    fake = slack_fake
    async with SlackBot(tmp_path, fake, ScriptedProvider([TaskStatus.PROCESSING, TaskStatus.FAIL])) as bot:
        assert (await bot.slash("this one fails")).status_code == 200
        for _ in range(600):
            jobs = await bot.jobs()
            if jobs and jobs[0].status is JobStatus.FAILED:
                break
            await asyncio.sleep(0.05)
        (job,) = jobs
        assert job.status is JobStatus.FAILED
        root = next(m for m in fake.messages["C1"] if m["ts"] == job.thread_id)
        await fake.wait_for(lambda: root["text"].endswith(": Failed"))
        await fake.wait_for(lambda: [m for m in fake.messages["C1"] if FAILED_NOTICE in m.get("text", "")])
        ledger = [k for k, _, _ in await bot.rt.store.ledger(job.id)]
    assert messages.PROVIDER_FAILED in root["blocks"][-1]["text"]["text"]
    (told,) = [m for m in fake.messages["C1"] if FAILED_NOTICE in m.get("text", "")]
    assert (told["text"], told["thread_ts"]) == (f"<@U1> {FAILED_NOTICE}", job.thread_id)
    assert ledger == ["reserve", "release"]
