"""Many jobs in one channel against fakes that enforce Slack's and Discord's limits, on a faster clock."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from bot.jobs import JobStatus
from bot.providers.base import TaskStatus
from tests.fakes.discord import DiscordLimits, FakeDiscord
from tests.fakes.slack import FakeSlack, SlackLimits
from tests.helpers import ScriptedProvider, SometimesRefused
from tests.test_discord_e2e import ALICE, BOB
from tests.test_discord_e2e import Bot as DiscordBot
from tests.test_slack_e2e import Bot as SlackBot

SCALE = 30.0  # the platforms' clocks run 30 times faster: Slack's minute lasts 2 s here
JOBS = 200
USERS = 20
SCRIPT = [TaskStatus.PREPARING, TaskStatus.QUEUEING, TaskStatus.PROCESSING, TaskStatus.PROCESSING, TaskStatus.SUCCESS]
BUSY = {"provider_max_in_flight": 1000, "quota_user_daily_credits": 1000, "quota_workspace_daily_credits": 10**6,
        "quota_user_max_in_flight": 1000, "status_edit_seconds": 3.0 / SCALE}


def most_in_window(times: list[float], seconds: float) -> int:
    """The largest number of `times` inside any window `seconds` long."""
    times, best, start = sorted(times), 0, 0
    for end, t in enumerate(times):
        while t - times[start] > seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_200_jobs_in_one_slack_channel_all_delivered_within_slacks_limits(tmp_path: Path) -> None:
    limits = SlackLimits(scale=SCALE)
    fake = await FakeSlack(limits=limits).start()
    provider = ScriptedProvider(SCRIPT)
    # The bot keeps to 90% of each limit (the defaults are 1/s, 45 and 90 a minute against Slack's 1, 50, 100).
    async with SlackBot(tmp_path, fake, provider, slack_posts_per_second=1.0 * SCALE * 0.9,
                        slack_edits_per_minute=45 * SCALE, slack_uploads_per_minute=90 * SCALE, **BUSY) as bot:
        store = bot.rt.store
        for n in range(JOBS):
            assert (await bot.slash(f"scene number {n}", user=f"U{n % USERS}")).status_code == 200

        async def jobs() -> list:
            return [j for u in range(USERS) for j in await store.history("slack", f"U{u}", limit=JOBS)]

        def shown_final(job) -> bool:
            root = next((m for m in fake.messages["C1"] if m["ts"] == job.thread_id), None)
            return root is not None and "Delivered" in json.dumps(root.get("blocks"))

        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            done = await jobs()
            if len(done) == JOBS and all(j.status is JobStatus.DELIVERED and shown_final(j) for j in done):
                break
            await asyncio.sleep(0.25)
        edits = bot.rt.poller.edits
        stats = (edits.sent, edits.skipped, edits.collapsed, dict(fake.limiter.refused), bot.rt.poller.budget.refusals)
    await fake.stop()
    done = await asyncio.sleep(0, done)
    assert len(done) == JOBS, stats
    assert [j.id for j in done if j.status is not JobStatus.DELIVERED] == [], stats
    assert all(j.attempts == 0 and j.error is None for j in done)  # no job ever counted a failed post
    assert all(shown_final(j) for j in done), stats  # every status message ends in its final state
    uploads = [u for u in fake.uploads.values() if "size" in u]
    assert len(uploads) == JOBS and {u["thread_ts"] for u in uploads} == {j.thread_id for j in done}
    # Within the limits: at most a handful of 429s, and no scope ever past its rate (with its burst).
    assert fake.rate_limited <= 5, stats
    posts = [t for t, m in fake.times if m == "chat.postMessage"]
    updates = [t for t, m in fake.times if m == "chat.update"]
    assert most_in_window(posts, 10 / SCALE) <= 10 * limits.posts_per_second + limits.post_burst
    assert most_in_window(updates, 60 / SCALE) <= limits.updates_per_minute + limits.update_burst


async def test_discord_videos_and_failure_notices_are_not_held_behind_status_edits(tmp_path: Path) -> None:
    fake = await FakeDiscord(limits=DiscordLimits(scale=SCALE / 3)).start()  # 5 per 0.5 s per channel
    # Most jobs walk through every stage; every fifth fails at the provider (a notice must go out).
    provider = SometimesRefused(SCRIPT)
    jobs_wanted = 60
    offset = time.time() - time.monotonic()  # the fake stamps with time.monotonic(), the store with time.time()
    async with DiscordBot(tmp_path, fake, provider, discord_messages_per_second=SCALE / 3 * 0.9, **BUSY) as bot:
        edits = bot.rt.poller.edits
        backlog: list[int] = []

        async def watch() -> None:
            while True:
                backlog.append(edits.pending)
                await asyncio.sleep(0.05)

        watcher = asyncio.ensure_future(watch())
        for n in range(jobs_wanted):
            await bot.video(prompt=f"scene {n}", user=ALICE if n % 2 else BOB)
        done = await bot.until(lambda js: len(js) == jobs_wanted and all(j.status.terminal for j in js), 120)
        await bot.rt.poller.drain()
        watcher.cancel()
        stats = (edits.sent, edits.skipped, edits.collapsed, fake.rate_limited, max(backlog))
        seen = bot.adapter.port.rate_limits.count  # 429s discord.py waited out by itself
        # How long each video (and each failure notice) waited between the job's end at the provider and
        # its message reaching Discord, in the job's thread.
        waits, notice_waits = [], []
        for job in done:
            events = {s: at for s, at, _ in await bot.rt.store.events(job.id)}
            ended = events.get(JobStatus.SUCCEEDED, events.get(JobStatus.FAILED))
            posts = [t + offset for t, m, p in fake.times if m == "POST" and p == f"channels/{job.thread_id}/messages"]
            assert ended is not None and posts, (job.id, job.status, stats)
            (waits if job.status is JobStatus.DELIVERED else notice_waits).append(posts[0] - ended)
    await fake.stop()
    assert len(waits) == jobs_wanted * 4 // 5 and len(notice_waits) == jobs_wanted // 5, stats
    assert seen == fake.rate_limited <= 3, stats  # within Discord's limits, and every 429 counted
    edits_made = [t for t, m, p in fake.times if m == "PATCH" and p.startswith("channels/")]
    assert len(edits_made) >= jobs_wanted  # the status messages were kept current meanwhile...
    # ...and edits were waiting their turn (the budget held them)...
    assert max(backlog) >= 10, stats
    # ...yet no video or notice waited behind them: each reached its thread within moments of the job's end
    # (the edits' backlog alone would take seconds to send).
    waits.sort()
    assert waits[len(waits) // 2] < 1.0 and max(waits) < 2.0, (waits[-5:], stats)
    assert max(notice_waits) < 2.0, (sorted(notice_waits)[-3:], stats)
