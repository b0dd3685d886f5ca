"""1,000 `/video` commands at once: time to the acknowledgement on the Slack HTTP path and at the core."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

import httpx

from benchmarks.common import Figure, IdleProvider, free_port, percentile
from bot.cli.runtime import open_runtime
from bot.commands import CommandRequest
from bot.config import Settings
from tests.fakes.minimax import FakeMiniMax
from tests.fakes.slack import FakeSlack, sign

COUNT = 1000
WARM_UP = 100
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


def bot_cpu(pid: int) -> float:
    """CPU time of the bot: its process and, with --workers, every worker under it."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return cpu_seconds(pid) + sum(cpu_seconds(int(child)) for child in children)


def raw_requests(port: int, response_url: str, first_user: int) -> list[str]:
    """1,000 signed `/video` commands as raw HTTP/1.1 requests, each from its own user."""
    requests = []
    for i in range(first_user, first_user + COUNT):
        body = urllib.parse.urlencode({"team_id": "T1", "channel_id": "C1", "user_id": f"U{i}", "command": "/video",
                                       "text": f"scene {i}", "trigger_id": uuid.uuid4().hex,
                                       "response_url": response_url})
        headers = {**sign(body, SECRET), "Host": f"127.0.0.1:{port}", "Content-Length": str(len(body.encode()))}
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        requests.append(f"POST /slack/events HTTP/1.1\r\n{head}\r\n{body}")
    return requests


async def send_burst(port: int, requests: list[str], tmp: Path, fresh: bool) -> list[float]:
    """Run the separate sender process on one burst; the seconds to each acknowledgement."""
    path = tmp / "requests.json"
    path.write_text(json.dumps(requests))
    sender = await asyncio.create_subprocess_exec(sys.executable, "-m", "benchmarks.burst", str(port), str(path),
                                                  *(["--fresh"] if fresh else []), stdout=asyncio.subprocess.PIPE)
    out, _ = await sender.communicate()
    answers = json.loads(out)
    assert all(status == 200 for status, _ in answers), {status for status, _ in answers}
    return [seconds for _, seconds in answers]


def status_posts(fake: FakeSlack) -> int:
    """Status messages posted so far (each accepted command gets one, with its Block Kit)."""
    return sum(1 for args in fake.args_of("chat.postMessage") if args.get("blocks"))


async def slack_path(tmp: Path, workers: int = 1) -> dict[str, list[float]]:
    """The bot runs as its own process(es) (as in production), the burst comes from another; this one plays Slack."""
    fake, minimax = await FakeSlack().start(), await FakeMiniMax(video=b"0").start()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'slack.db'}", "MEDIA_DIR": str(tmp / "videos"),
           "SLACK_BOT_TOKEN": fake.bot_token, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url,
           "SLACK_PORT": str(port), "HAILUO_PROVIDER": "minimax", "MINIMAX_API_KEY": minimax.api_key,
           "MINIMAX_BASE_URL": minimax.base_url, "QUOTA_USER_DAILY_CREDITS": "1000000",
           "QUOTA_WORKSPACE_DAILY_CREDITS": "1000000000", "QUOTA_USER_MAX_IN_FLIGHT": "1000000",
           "LOG_LEVEL": "WARNING",
           # The fake enforces no limits here: this measures the acknowledgements and the admissions,
           # not Slack's pace for status messages (`python -m benchmarks limits` does that).
           "SLACK_POSTS_PER_SECOND": "100000", "SLACK_EDITS_PER_MINUTE": "1000000"}
    env.pop("SLACK_APP_TOKEN", None)
    bot = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", "--workers", str(workers), env=env,
                                               stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    results: dict[str, list[float]] = {}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(300):  # wait for the bot to listen
                try:
                    await http.get("/")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        # A running bot has served requests before: a first small burst warms its code paths.
        await send_burst(port, raw_requests(port, fake.response_url(), 10 * COUNT)[:WARM_UP], tmp, fresh=False)
        await fake.wait_for(lambda: status_posts(fake) >= WARM_UP, 60)
        for n, label in enumerate(("warm", "fresh")):
            requests = raw_requests(port, fake.response_url(), n * COUNT)
            cpu_before = bot_cpu(bot.pid)
            results[label] = await send_burst(port, requests, tmp, fresh=label == "fresh")
            BURST[f"{label}_bot_cpu"] = bot_cpu(bot.pid) - cpu_before
            started = time.perf_counter()
            # Every command of the burst gets its status message before the next burst.
            await fake.wait_for(lambda n=n: status_posts(fake) >= WARM_UP + (n + 1) * COUNT, 300)
            BURST[f"{label}_all_status"] = time.perf_counter() - started + max(results[label])
    finally:
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), 60)
        await fake.stop()
        await minimax.stop()
    return results


# The floor: aiohttp answering an empty 200 to the same requests, with nothing else to do.
FLOOR_SERVER = """
import sys
import uuid
from aiohttp import web
async def answer(request):
    await request.read()
    return web.Response()
app = web.Application()
app.router.add_post("/slack/events", answer)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), backlog=1024, access_log=None, print=None)
"""


async def floor_path(tmp: Path) -> dict[str, list[float]]:
    """The same bursts against a bare aiohttp server: what any Python bot on this machine starts from."""
    port = free_port()
    server = await asyncio.create_subprocess_exec(sys.executable, "-c", FLOOR_SERVER, str(port))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(100):
                try:
                    await http.get("/")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        requests = raw_requests(port, "http://127.0.0.1:9/unused", 0)
        await send_burst(port, requests[:WARM_UP], tmp, fresh=False)
        return {label: await send_burst(port, requests, tmp, fresh=label == "fresh") for label in ("warm", "fresh")}
    finally:
        server.terminate()
        await server.wait()


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
        single = dict(BURST)
        workers = await slack_path(Path(tmp) / "workers", workers=2)
        two = dict(BURST)
        floor = await floor_path(Path(tmp))
        core = await core_path(Path(tmp))
    figures = []
    for label, values, target in (("slack_warm", slack["warm"], "p99 < 100 ms"),
                                  ("slack_fresh", slack["fresh"], "p99 < 100 ms"),
                                  ("slack_2_workers_warm", workers["warm"], "run --workers 2, one port"),
                                  ("slack_2_workers_fresh", workers["fresh"], "run --workers 2, one port")):
        ms = [v * 1000 for v in values]
        figures += [Figure(f"{label}_ack_p50", percentile(ms, 50), "ms"),
                    Figure(f"{label}_ack_p99", percentile(ms, 99), "ms", target),
                    Figure(f"{label}_ack_max", max(ms), "ms", "< 3000 ms (deadline)")]
    for label in ("warm", "fresh"):
        figures.append(Figure(f"bare_aiohttp_{label}_p99", percentile([v * 1000 for v in floor[label]], 99), "ms",
                              "the floor: an empty 200, no bot"))
    # The core's reply comes after the platform's acknowledgement (Slack's above, Discord's defer):
    # it is the whole command (checks, quota reservation, job insert, queue place), not held to 3 s.
    ms = [v * 1000 for v in core]
    figures += [Figure("core_handle_reply_p50", percentile(ms, 50), "ms"),
                Figure("core_handle_reply_p99", percentile(ms, 99), "ms"),
                Figure("core_handle_reply_max", max(ms), "ms", "1,000 at once, after their acks")]
    for label in ("warm", "fresh"):
        figures += [Figure(f"slack_{label}_bot_cpu_during_burst", single[f"{label}_bot_cpu"], "s",
                           "the bot process, until the last ack"),
                    Figure(f"slack_{label}_all_status_messages", single[f"{label}_all_status"], "s",
                           "until every command has its status message"),
                    Figure(f"slack_2_workers_{label}_all_status_messages", two[f"{label}_all_status"], "s",
                           "two workers on one database")]
    return figures
