"""1,000 `/video` commands at once: time to the acknowledgement on the Slack HTTP path and at the core."""

from __future__ import annotations

import asyncio
import tempfile
import time
import urllib.parse
from pathlib import Path

import httpx

from adapters.slack.app import SlackAdapter
from benchmarks.common import Figure, IdleProvider, free_port, percentile
from bot.commands import CommandRequest
from bot.config import Settings
from bot.runtime import open_runtime
from tests.fakes.slack import FakeSlack, sign

COUNT = 1000
SECRET = "benchmark-signing-secret"


def settings_for(tmp: Path, **extra: object) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite:///{tmp / 'bench.db'}", media_dir=tmp / "videos",
                    quota_user_daily_credits=10**6, quota_workspace_daily_credits=10**9,
                    quota_user_max_in_flight=10**6, **extra)  # type: ignore[call-arg]


async def slack_path(tmp: Path) -> list[float]:
    fake = await FakeSlack().start()
    port = free_port()
    settings = settings_for(tmp / "slack", slack_bot_token=fake.bot_token, slack_signing_secret=SECRET,
                            slack_api_url=fake.api_url, slack_port=port)
    try:
        async with open_runtime(settings, provider=IdleProvider(), start_poller=False) as rt:
            adapter = SlackAdapter(settings, rt)
            await adapter.start()
            bodies = [urllib.parse.urlencode({"team_id": "T1", "channel_id": "C1", "user_id": f"U{i}",
                                              "command": "/video", "text": f"scene {i}", "trigger_id": "t",
                                              "response_url": fake.response_url()}) for i in range(COUNT)]
            limits = httpx.Limits(max_connections=COUNT, max_keepalive_connections=COUNT)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60) as http:
                async def one(body: str) -> float:
                    start = time.perf_counter()
                    answer = await http.post("/slack/events", content=body, headers=sign(body, SECRET))
                    assert answer.status_code == 200
                    return time.perf_counter() - start

                latencies = await asyncio.gather(*(one(b) for b in bodies))
            await fake.wait_for(lambda: len(fake.args_of("chat.update")) >= COUNT, 120)
            await adapter.aclose()
    finally:
        await fake.stop()
    return list(latencies)


async def core_path(tmp: Path) -> list[float]:
    async with open_runtime(settings_for(tmp / "core"), provider=IdleProvider(), start_poller=False) as rt:
        async def one(i: int) -> float:
            start = time.perf_counter()
            reply = await rt.core.handle(CommandRequest("bench", "W", "C", f"U{i}", "video", prompt=f"scene {i}"))
            assert reply.ok
            return time.perf_counter() - start

        return list(await asyncio.gather(*(one(i) for i in range(COUNT))))


async def run() -> list[Figure]:
    """Both paths, 1,000 requests each, all at once."""
    with tempfile.TemporaryDirectory() as tmp:
        slack = await slack_path(Path(tmp))
        core = await core_path(Path(tmp))
    figures = []
    for label, values, target in (("slack_http", slack, "p99 < 100 ms"), ("core", core, "")):
        ms = [v * 1000 for v in values]
        figures += [Figure(f"{label}_ack_p50", percentile(ms, 50), "ms"),
                    Figure(f"{label}_ack_p99", percentile(ms, 99), "ms", target),
                    Figure(f"{label}_ack_max", max(ms), "ms", "< 3000 ms (deadline)")]
    return figures
