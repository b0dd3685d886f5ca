"""1,000 jobs in flight on one Discord server under Discord's limits: videos and notices never wait behind edits.

The real discord.py client and the Discord adapter run in this process against the fake Discord
(`tests/fakes/discord.py`) with DiscordLimits on (5 messages and 5 edits per 5 s per channel, 429 past
them, on a clock SCALE times faster). 1,000 `/video` interactions arrive in one channel; every fifth
job is refused by the provider after a while, so its requester must be told. For each job the wait is
from its end at the provider (the `succeeded` or `failed` event) to the first post in its thread.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import discord

from adapters.discord.app import DiscordAdapter
from benchmarks.common import Figure, percentile
from bot.cli.runtime import open_runtime
from bot.config import Settings
from bot.jobs import JobStatus
from bot.providers.base import TaskStatus
from tests.fakes.discord import GUILD_ID, DiscordLimits, FakeDiscord, snowflake
from tests.helpers import SometimesRefused

JOBS = 1_000
USERS = 50
SCALE = 10.0  # Discord's windows run 10 times faster: 5 per 0.5 s per channel
SCRIPT = [TaskStatus.PREPARING, TaskStatus.QUEUEING, TaskStatus.PROCESSING, TaskStatus.PROCESSING, TaskStatus.SUCCESS]
DEADLINE = 900.0


async def run() -> list[Figure]:
    """Send 1,000 `/video` interactions in one channel; wait until every job ended and was told in its thread."""
    fake = await FakeDiscord(limits=DiscordLimits(scale=SCALE)).start()
    saved = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    offset = time.time() - time.monotonic()  # the fake stamps with time.monotonic(), the store with time.time()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None, database_url=f"sqlite:///{tmp}/bench.db", media_dir=Path(tmp) / "v",
            discord_token=fake.token, discord_api_base_url=fake.api_url, discord_gateway_url=fake.gateway_url,
            discord_guild_ids=GUILD_ID, poll_first_seconds=0.5, poll_max_seconds=2, provider_max_in_flight=JOBS,
            quota_user_daily_credits=10**6, quota_workspace_daily_credits=10**7, quota_user_max_in_flight=10**6,
            status_edit_seconds=3 / SCALE, discord_messages_per_second=1.0 * SCALE * 0.9,
        )  # type: ignore[call-arg]
        async with open_runtime(settings, provider=SometimesRefused(SCRIPT)) as rt:
            adapter = DiscordAdapter(settings, rt.context)
            await adapter.start()
            edits, backlog = rt.poller.edits, [0]

            async def watch() -> None:
                while True:
                    backlog[0] = max(backlog[0], edits.pending)
                    await asyncio.sleep(0.05)

            watcher = rt.supervisor.start(watch(), name="bench-backlog")
            start = time.perf_counter()
            for n in range(JOBS):
                data = {"id": snowflake(), "name": "video", "type": 1,
                        "options": [{"name": "prompt", "type": 3, "value": f"scene {n}"}]}
                payload = fake.interaction(2, data, user_id=str(10**17 + n % USERS))
                fake.remember(payload)
                await fake.dispatch("INTERACTION_CREATE", payload)
                if n % 20 == 19:
                    await asyncio.sleep(0.1)  # 200 a second: a busy server, not one frame
            jobs = await _wait(rt, start)
            elapsed = time.perf_counter() - start
            await rt.poller.drain()
            watcher.cancel()
            waits, notice_waits, queued, posting = [], [], [], []
            posts: dict[str, float] = {}
            for t, method, path in fake.times:
                if method == "POST" and path.startswith("channels/") and path.endswith("/messages"):
                    posts.setdefault(path.split("/")[1], t + offset)
            for job in jobs:
                events = {s: at for s, at, _ in await rt.store.events(job.id)}
                ended = events.get(JobStatus.SUCCEEDED, events.get(JobStatus.FAILED))
                if ended is not None and job.thread_id in posts:
                    (waits if job.status is JobStatus.DELIVERED else notice_waits).append(posts[job.thread_id] - ended)
                if (started := events.get(JobStatus.DELIVERING)) is not None and ended is not None:
                    queued.append(started - ended)  # the delivery step waiting its turn in the poller
                    posting.append(posts[job.thread_id] - started)  # download, then the post through discord.py
            edits_sent = sum(1 for _, m, p in fake.times if m == "PATCH" and p.startswith("channels/"))
            figures = [
                Figure("jobs_ended", sum(j.status.terminal for j in jobs), "count", f"of {JOBS}"),
                Figure("delivered", sum(j.status is JobStatus.DELIVERED for j in jobs), "count", f"of {JOBS * 4 // 5}"),
                Figure("time_to_end_all", elapsed, "s", f"Discord's clock x{SCALE:g}"),
                Figure("video_wait_p50", percentile(waits, 50), "s", "provider's end to the post in the thread"),
                Figure("video_wait_p99", percentile(waits, 99), "s"),
                Figure("video_wait_max", max(waits, default=0.0), "s"),
                Figure("video_step_queued_p50", percentile(queued, 50), "s", "succeeded to the delivery step"),
                Figure("video_step_queued_p99", percentile(queued, 99), "s"),
                Figure("video_posting_p50", percentile(posting, 50), "s", "delivery step to the post at the fake"),
                Figure("video_posting_p99", percentile(posting, 99), "s", "includes any wait in discord.py"),
                Figure("video_posting_max", max(posting, default=0.0), "s"),
                Figure("notice_wait_p50", percentile(notice_waits, 50), "s", "failure notice in the thread"),
                Figure("notice_wait_max", max(notice_waits, default=0.0), "s"),
                Figure("status_edits_backlog_max", backlog[0], "count", "edits waiting their turn at once"),
                Figure("status_edits_made", edits_sent, "count", "PATCH calls the fake answered"),
                Figure("status_edits_skipped", edits.skipped, "count"),
                Figure("status_edits_collapsed", edits.collapsed, "count"),
                Figure("rate_limited_429s", fake.rate_limited, "count", "discord.py waits these out"),
                Figure("bot_429s_seen", adapter.port.rate_limits.count, "count"),
            ]
            await rt.poller.stop(5)
            await adapter.aclose()
    discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
    await fake.stop()
    return figures


async def _wait(rt, start: float) -> list:
    """Until every job has ended (or the deadline); the jobs."""
    jobs: list = []
    while time.perf_counter() - start < DEADLINE:
        jobs = [j for u in range(USERS) for j in await rt.store.history("discord", str(10**17 + u), limit=JOBS)]
        if len(jobs) == JOBS and all(j.status.terminal for j in jobs):
            break
        await asyncio.sleep(1.0)
    return jobs
