"""1,000 jobs in one Slack channel against a fake Slack that enforces its limits, on a faster clock."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

import httpx

from adapters.slack.app import SlackAdapter
from benchmarks.common import Figure, free_port
from bot.cli.runtime import open_runtime
from bot.config import Settings
from bot.jobs import JobStatus
from bot.providers.base import TaskStatus
from tests.fakes.slack import FakeSlack, SlackLimits, sign
from tests.helpers import ScriptedProvider

JOBS = 1_000
USERS = 50
SCALE = 20.0  # Slack's clock runs 20 times faster: its minute lasts 3 s here
DEADLINE = 900.0
SECRET = "bench-signing-secret"


async def run() -> list[Figure]:
    """Send 1,000 `/video` commands in one channel; wait until every video is posted and every status final."""
    fake = await FakeSlack(limits=SlackLimits(scale=SCALE)).start()
    provider = ScriptedProvider([TaskStatus.PREPARING, TaskStatus.QUEUEING, TaskStatus.PROCESSING,
                                 TaskStatus.PROCESSING, TaskStatus.SUCCESS])
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None, database_url=f"sqlite:///{tmp}/bench.db", media_dir=Path(tmp) / "v",
            slack_bot_token=fake.bot_token, slack_signing_secret=SECRET, slack_api_url=fake.api_url, slack_port=port,
            poll_first_seconds=0.5, poll_max_seconds=2, provider_max_in_flight=JOBS, quota_user_daily_credits=10**6,
            quota_workspace_daily_credits=10**7, quota_user_max_in_flight=10**6, status_edit_seconds=3 / SCALE,
            slack_posts_per_second=1.0 * SCALE, slack_edits_per_minute=45 * SCALE,
            slack_uploads_per_minute=90 * SCALE)  # type: ignore[call-arg]
        async with open_runtime(settings, provider=provider) as rt:
            adapter = SlackAdapter(settings, rt.context)
            await adapter.start()
            start = time.perf_counter()
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                for n in range(JOBS):
                    form = {"team_id": "T1", "channel_id": "C1", "user_id": f"U{n % USERS}", "command": "/video",
                            "text": f"scene {n}", "response_url": fake.response_url(), "trigger_id": uuid.uuid4().hex}
                    body = urllib.parse.urlencode(form)
                    await http.post("/slack/events", content=body, headers=sign(body, SECRET))
            finished = await _wait(rt, fake, start)
            elapsed = time.perf_counter() - start
            edits, budget = rt.poller.edits, rt.poller.budget
            figures = [
                Figure("jobs_delivered_and_shown_final", finished, "count", f"of {JOBS}"),
                Figure("time_to_deliver_all", elapsed, "s", f"Slack's clock x{SCALE:g}"),
                Figure("time_to_deliver_all_at_real_limits", elapsed * SCALE / 60, "min", "estimate"),
                Figure("rate_limited_429s", fake.rate_limited, "count", "0 or a handful"),
                *[Figure(f"rate_limited_429s_{kind}", n, "count") for kind, n in sorted(fake.limiter.refused.items())],
                Figure("status_edits_sent", edits.sent, "count"),
                Figure("status_edits_skipped", edits.skipped, "count", "elapsed-only, budget tight"),
                Figure("status_edits_collapsed", edits.collapsed, "count", "replaced while pending"),
                Figure("slack_calls_per_job", len(fake.times) / JOBS, "calls"),
                Figure("bot_429s_seen", budget.refusals, "count"),
            ]
            await rt.poller.stop(5)
            await adapter.aclose()
    await fake.stop()
    return figures


async def _wait(rt, fake: FakeSlack, start: float) -> int:
    """Until every job is delivered and its status message shows it (or the deadline); how many are."""
    done = 0
    while time.perf_counter() - start < DEADLINE:
        jobs = [j for u in range(USERS) for j in await rt.store.history("slack", f"U{u}", limit=JOBS)]
        roots = {m["ts"]: json.dumps(m.get("blocks")) for m in fake.messages.get("C1", []) if not m.get("thread_ts")}
        done = sum(j.status is JobStatus.DELIVERED and "Delivered" in roots.get(j.thread_id or "", "") for j in jobs)
        if done == JOBS:
            break
        await asyncio.sleep(1.0)
    return done
