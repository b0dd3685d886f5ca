"""The inbox drill: a burst of signed `/video` commands, SIGKILL at a random moment during it, a restart.

Every command the bot acknowledged (HTTP 200) must end as exactly one job or one reply, and none
twice. Run in CI in a short form (tests/test_inbox_drill.py) and here in full:
`python -m benchmarks inbox`.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import sys
import tempfile
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks.common import Figure, free_port
from tests.fakes.minimax import FakeMiniMax
from tests.fakes.slack import FakeSlack, sign

SECRET = "inbox-drill-signing-secret"
COUNT = 500
REFUSED_EVERY = 5  # every fifth command: a prompt refused in its acknowledgement
OVER_QUOTA_EVERY = 7  # every seventh: a 10 s video from a user with 1 credit, refused after it


@dataclass
class DrillResult:
    """What happened to each command of the burst."""

    sent: int
    acknowledged: int = 0
    lost: list[str] = field(default_factory=list)  # acknowledged, yet neither a job nor a reply
    twice: list[str] = field(default_factory=list)  # two jobs, or a job and a reply, or two kinds of reply
    repeated: list[str] = field(default_factory=list)  # a refusal sent after the acknowledgement, sent again
    jobs: int = 0
    replies: int = 0
    charges: int = 0  # 'reserve' rows in the ledger
    killed_after: int = 0  # acknowledgements received before the SIGKILL
    seconds_to_settle: float = 0.0


def _env(tmp: Path, slack: FakeSlack, minimax: FakeMiniMax, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAILUO_", "MINIMAX_", "DISCORD_", "SLACK_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp / 'drill.db'}", MEDIA_DIR=str(tmp / "videos"),
               SLACK_BOT_TOKEN=slack.bot_token, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=slack.api_url,
               SLACK_PORT=str(port), HAILUO_PROVIDER="minimax", MINIMAX_API_KEY=minimax.api_key,
               MINIMAX_BASE_URL=minimax.base_url, QUOTA_USER_DAILY_CREDITS="1",
               QUOTA_WORKSPACE_DAILY_CREDITS="1000000", LEASE_SECONDS="2", POLL_FIRST_SECONDS="5",
               LOG_LEVEL="WARNING", PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    return env


async def _start(env: dict[str, str], port: int) -> asyncio.subprocess.Process:
    log = os.environ.get("INBOX_DRILL_LOG")  # a file to append the bot's log to, when looking into a run
    err = Path(log).open("a") if log else asyncio.subprocess.DEVNULL  # noqa: ASYNC230
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", env={**env, **(
        {"LOG_LEVEL": "INFO"} if log else {})}, stdout=asyncio.subprocess.DEVNULL, stderr=err)
    async with httpx.AsyncClient() as http:
        for _ in range(600):
            try:
                await http.get(f"http://127.0.0.1:{port}/")
                return proc
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError("the bot did not start listening")


def _ledger(tmp: Path) -> tuple[dict[str, int], int]:
    with sqlite3.connect(tmp / "drill.db") as db:
        per_user: dict[str, int] = {}
        for (user,) in db.execute("SELECT user_id FROM jobs"):
            per_user[user] = per_user.get(user, 0) + 1
        charges = db.execute("SELECT COUNT(*) FROM quota_ledger WHERE kind = 'reserve'").fetchone()[0]
    return per_user, charges


async def drill(tmp: Path, count: int = COUNT, seed: int | None = None, settle: float = 90.0) -> DrillResult:
    """Run the drill once in `tmp`; SIGKILL at a random moment of the burst."""
    rng = random.Random(seed)
    slack = await FakeSlack().start()
    minimax = await FakeMiniMax(video=b"0", steps=["Processing"] * 100_000).start()
    port = free_port()
    env = _env(tmp, slack, minimax, port)
    result = DrillResult(sent=count)
    try:
        proc = await _start(env, port)
        urls = {f"U{i}": slack.response_url() for i in range(count)}
        kill_after = rng.uniform(0.0, 0.1 + count / 400)  # from the first acknowledgement
        first = asyncio.Event()
        acked: list[str] = []
        in_ack: list[str] = []

        async def send(http: httpx.AsyncClient, user: str, i: int) -> None:
            prompt = "x" * 2001 if i % REFUSED_EVERY == 0 else f"scene {i}"
            if i % OVER_QUOTA_EVERY == 0 and i % REFUSED_EVERY:
                prompt += " --duration 10"  # 2 credits of 1: the core refuses it, through response_url
            body = urllib.parse.urlencode({"team_id": "T1", "channel_id": "C1", "user_id": user, "command": "/video",
                                           "text": prompt, "trigger_id": uuid.uuid4().hex,
                                           "response_url": urls[user]})
            try:
                answer = await http.post("/slack/events", content=body, headers=sign(body, SECRET))
            except httpx.TransportError:
                return  # cut off by the kill: never acknowledged
            if answer.status_code == 200:
                acked.append(user)
                first.set()
                if answer.text:
                    in_ack.append(user)  # refused in the acknowledgement itself: that is its one reply

        async def kill_later() -> None:
            await first.wait()
            await asyncio.sleep(kill_after)
            proc.kill()
            result.killed_after = len(acked)

        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as http:
            await asyncio.gather(kill_later(), *(send(http, f"U{i}", i) for i in range(count)))
        await proc.wait()
        result.acknowledged = len(acked)
        started = time.perf_counter()
        proc = await _start(env, port)  # the restart, on the same database
        replied_to = {url.rsplit("/", 1)[-1]: user for user, url in urls.items()}
        try:
            deadline = time.monotonic() + settle
            while time.monotonic() < deadline:
                jobs, _ = _ledger(tmp)
                replies = {replied_to[r] for r in slack.response_ids} | set(in_ack)
                if all(u in jobs or u in replies for u in acked):
                    break
                await asyncio.sleep(0.2)
            result.seconds_to_settle = time.perf_counter() - started
            await asyncio.sleep(3.0)  # long enough for a second copy of anything to show up
        finally:
            proc.terminate()
            await proc.wait()
        jobs, result.charges = _ledger(tmp)
        replies_per_user: dict[str, int] = {}
        for r in slack.response_ids:
            replies_per_user[replied_to[r]] = replies_per_user.get(replied_to[r], 0) + 1
        result.jobs, result.replies = sum(jobs.values()), len(slack.response_ids) + len(in_ack)
        for user in urls:
            made, later = jobs.get(user, 0), replies_per_user.get(user, 0)
            in_answer = user in in_ack
            if made > 1 or (made and (later or in_answer)) or (later and in_answer):
                result.twice.append(user)
            elif later > 1:
                result.repeated.append(user)
            elif not (made or later or in_answer) and user in acked:
                result.lost.append(user)
    finally:
        await slack.stop()
        await minimax.stop()
    return result


async def run() -> list[Figure]:
    """The full drill: 500 commands, three runs with different kill moments."""
    figures: list[Figure] = []
    totals = {"acknowledged": 0, "lost": 0, "twice": 0, "extra charges": 0}
    settle: list[float] = []
    for seed in (1, 2, 3):
        with tempfile.TemporaryDirectory() as tmp:
            r = await drill(Path(tmp), COUNT, seed)
        totals["acknowledged"] += r.acknowledged
        totals["lost"] += len(r.lost)
        totals["twice"] += len(r.twice)
        totals["extra charges"] += r.charges - r.jobs
        settle.append(r.seconds_to_settle)
        figures.append(Figure(f"run {seed}: killed after acks", r.killed_after, "commands"))
    figures += [Figure("commands sent", 3 * COUNT, "commands"),
                Figure("acknowledged before the kill", totals["acknowledged"], "commands"),
                Figure("acknowledged and lost", totals["lost"], "commands", "0"),
                Figure("answered or made twice", totals["twice"], "commands", "0"),
                Figure("charged twice", totals["extra charges"], "jobs", "0"),
                Figure("restart to all settled (max)", max(settle), "s")]
    return figures
