"""1,000 `/video` commands at once: time to the acknowledgement on the Slack HTTP path and at the core."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import httpx

from benchmarks.common import Figure, IdleProvider, free_port, percentile
from bot.commands import CommandRequest
from bot.config import Settings
from bot.runtime import open_runtime
from tests.fakes.minimax import FakeMiniMax
from tests.fakes.slack import FakeSlack, sign

COUNT = 1000
SECRET = "benchmark-signing-secret"


def settings_for(tmp: Path, **extra: object) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite:///{tmp / 'bench.db'}", media_dir=tmp / "videos",
                    quota_user_daily_credits=10**6, quota_workspace_daily_credits=10**9,
                    quota_user_max_in_flight=10**6, **extra)  # type: ignore[call-arg]


BURST: dict[str, float] = {}


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def slack_path(tmp: Path) -> list[float]:
    """The bot runs as its own process (as in production); this process plays Slack and MiniMax."""
    fake, minimax = await FakeSlack().start(), await FakeMiniMax(video=b"0").start()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'slack.db'}", "MEDIA_DIR": str(tmp / "videos"),
           "SLACK_BOT_TOKEN": fake.bot_token, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url,
           "SLACK_PORT": str(port), "HAILUO_PROVIDER": "minimax", "MINIMAX_API_KEY": minimax.api_key,
           "MINIMAX_BASE_URL": minimax.base_url, "QUOTA_USER_DAILY_CREDITS": "1000000",
           "QUOTA_WORKSPACE_DAILY_CREDITS": "1000000000", "QUOTA_USER_MAX_IN_FLIGHT": "1000000",
           "LOG_LEVEL": "WARNING"}
    env.pop("SLACK_APP_TOKEN", None)
    bot = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", env=env,
                                               stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    bodies = [urllib.parse.urlencode({"team_id": "T1", "channel_id": "C1", "user_id": f"U{i}", "command": "/video",
                                      "text": f"scene {i}", "trigger_id": "t", "response_url": fake.response_url()})
              for i in range(COUNT)]
    limits = httpx.Limits(max_connections=COUNT, max_keepalive_connections=COUNT)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60) as http:
            for _ in range(300):  # wait for the bot to listen
                try:
                    await http.get("/")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)

            async def one(body: str) -> float:
                start = time.perf_counter()
                answer = await http.post("/slack/events", content=body, headers=sign(body, SECRET))
                assert answer.status_code == 200
                return time.perf_counter() - start

            cpu_before = cpu_seconds(bot.pid)
            burst_start = time.perf_counter()
            latencies = await asyncio.gather(*(one(b) for b in bodies))
            BURST["wall"] = time.perf_counter() - burst_start
            BURST["bot_cpu"] = cpu_seconds(bot.pid) - cpu_before
        await fake.wait_for(lambda: len(fake.args_of("chat.update")) >= COUNT, 300)
    finally:
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), 60)
        await fake.stop()
        await minimax.stop()
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
    for label, values, target in (("slack_http", slack, "p99 < 100 ms"), ("core_handle", core, "")):
        ms = [v * 1000 for v in values]
        figures += [Figure(f"{label}_ack_p50", percentile(ms, 50), "ms"),
                    Figure(f"{label}_ack_p99", percentile(ms, 99), "ms", target),
                    Figure(f"{label}_ack_max", max(ms), "ms", "< 3000 ms (deadline)")]
    figures += [Figure("slack_burst_wall_time", BURST["wall"], "s", "until the last ack"),
                Figure("bot_cpu_during_burst", BURST["bot_cpu"], "s", "the bot process alone")]
    return figures
