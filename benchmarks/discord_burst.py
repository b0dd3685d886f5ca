"""1,000 `/video` interactions at once through the fake Discord gateway: seconds to each first answer.

The bot runs as its own process (`python -m bot run`, as in production) against the fake Discord
(`tests/fakes/discord.py`, REST and gateway, in this process) and the fake MiniMax (no video is
rendered). Once the gateway is READY and the commands are synced, the fake sends 1,000
INTERACTION_CREATE payloads back to back over the one gateway connection, each from its own member;
for each, the time from its dispatch to its FIRST interaction callback at the fake is measured.
Discord drops an interaction not answered within 3 s.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.ack import bot_cpu, cpu_seconds
from benchmarks.common import Figure, percentile
from tests.fakes.discord import CHANNEL_ID, GUILD_ID, FakeDiscord, snowflake
from tests.fakes.minimax import FakeMiniMax

COUNT = 1000
WARM_UP = 50
DEADLINE = 3.0  # seconds Discord waits for an interaction's first answer


def peak_rss_mb(pid: int) -> float:
    """A process's peak resident memory so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def video(fake: FakeDiscord, i: int) -> dict[str, Any]:
    """A `/video prompt:...` interaction from member number `i` (each its own user id)."""
    data = {"id": snowflake(), "name": "video", "type": 1,
            "options": [{"name": "prompt", "type": 3, "value": f"scene {i}"}]}
    return fake.interaction(2, data, user_id=str(10**17 + i))


def status_messages(fake: FakeDiscord) -> int:
    """Public status messages in the channel (each accepted job gets one, an embed)."""
    return sum(1 for m in fake.messages_in(CHANNEL_ID) if m["embeds"])


def jobs_per_user(database: Path) -> dict[str, int]:
    """How many jobs the bot recorded for each Discord member (read beside the running bot)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT user_id, count(*) FROM jobs WHERE platform = 'discord' GROUP BY user_id")
        return dict(rows.fetchall())


@dataclass
class BotProcess:
    """`python -m bot run` with Discord pointed at the fake and MiniMax at the fake MiniMax."""

    tmp: Path
    fake: FakeDiscord
    minimax: FakeMiniMax
    process: asyncio.subprocess.Process | None = None
    database: Path = field(init=False)

    def __post_init__(self) -> None:
        self.database = self.tmp / "discord.db"

    async def __aenter__(self) -> BotProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "QUOTA_"))}
        env.update({"DATABASE_URL": f"sqlite:///{self.database}", "MEDIA_DIR": str(self.tmp / "videos"),
                    "DISCORD_TOKEN": self.fake.token, "DISCORD_API_BASE_URL": self.fake.api_url,
                    "DISCORD_GATEWAY_URL": self.fake.gateway_url, "DISCORD_GUILD_IDS": GUILD_ID,
                    "HAILUO_PROVIDER": "minimax", "MINIMAX_API_KEY": self.minimax.api_key,
                    "MINIMAX_BASE_URL": self.minimax.base_url, "QUOTA_USER_DAILY_CREDITS": "1000000",
                    "QUOTA_WORKSPACE_DAILY_CREDITS": "1000000000", "QUOTA_USER_MAX_IN_FLIGHT": "1000000",
                    "LOG_LEVEL": "WARNING",
                    # The fake enforces no limits here: the first answers and admissions are measured,
                    # not Discord's pace for messages (`python -m benchmarks limits` does that).
                    "DISCORD_MESSAGES_PER_SECOND": "100000"})
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        try:
            await self.fake.wait_for(lambda: self.fake.identified and GUILD_ID in self.fake.commands, 60)
            # A probe (/video-quota, no job) answered proves the interaction path is up; then a moment
            # for the client's ready wait (guild_ready_timeout 0.5 s) and the rest of start-up.
            probe = self.fake.interaction(2, {"id": snowflake(), "name": "video-quota", "type": 1})
            await self.fake.burst([probe])
            await self.fake.wait_for(lambda: probe["id"] in self.fake.answered, 30)
            await asyncio.sleep(1.0)
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 60)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


async def burst(bot: BotProcess, first: int, count: int, timeout: float = 300) -> dict[str, Any]:
    """`count` interactions at once; every first answer and status message awaited; what was seen."""
    fake = bot.fake
    payloads = [video(fake, i) for i in range(first, first + count)]
    statuses_before = status_messages(fake)
    cpu_before, fake_cpu_before = bot_cpu(bot.pid), cpu_seconds(os.getpid())
    started = time.perf_counter()
    sent = await fake.burst(payloads)
    dispatched = time.perf_counter() - started
    await fake.wait_for(lambda: all(p["id"] in fake.answered for p in payloads), timeout)
    answered = time.perf_counter() - started
    cpu, fake_cpu = bot_cpu(bot.pid) - cpu_before, cpu_seconds(os.getpid()) - fake_cpu_before
    await fake.wait_for(lambda: status_messages(fake) >= statuses_before + count, timeout)
    all_status = time.perf_counter() - started
    firsts = [fake.answered[p["id"]] for p in payloads]
    seconds = [at - sent[p["id"]] for p, (at, _) in zip(payloads, firsts, strict=True)]
    public = sum(1 for _, body in firsts if body["type"] == 4 and (body.get("data") or {}).get("embeds"))
    deferred = sum(1 for _, body in firsts if body["type"] == 5)
    return {"seconds": seconds, "public": public, "deferred": deferred, "other": count - public - deferred,
            "dispatched": dispatched, "answered": answered, "all_status": all_status, "cpu": cpu,
            "fake_cpu": fake_cpu}


async def discord_path(tmp: Path, warm_up: int) -> dict[str, Any]:
    """A fresh bot and database; `warm_up` interactions first (0: none), then the burst of COUNT."""
    tmp.mkdir(parents=True, exist_ok=True)
    fake, minimax = await FakeDiscord().start(), await FakeMiniMax(video=b"0").start()
    try:
        async with BotProcess(tmp, fake, minimax) as bot:
            if warm_up:
                await burst(bot, 10 * COUNT, warm_up)
            result = await burst(bot, 0, COUNT)
            members = {str(10**17 + i) for i in range(COUNT)}
            jobs = {user: n for user, n in jobs_per_user(bot.database).items() if user in members}
            result["jobs"] = sum(jobs.values())
            result["members_with_one_job"] = sum(1 for n in jobs.values() if n == 1)
            result["rss"] = peak_rss_mb(bot.pid)
    finally:
        await fake.stop()
        await minimax.stop()
    return result


def figures(label: str, r: dict[str, Any]) -> list[Figure]:
    seconds = r["seconds"]
    return [
        Figure(f"{label}_first_answer_p50", percentile(seconds, 50), "s"),
        Figure(f"{label}_first_answer_p99", percentile(seconds, 99), "s"),
        Figure(f"{label}_first_answer_max", max(seconds), "s", "< 3 s"),
        Figure(f"{label}_answered_within_3s", sum(s < DEADLINE for s in seconds), "of 1000", "1000"),
        Figure(f"{label}_first_answer_public_status", r["public"], "of 1000", "type 4 with the status embed"),
        Figure(f"{label}_first_answer_private_defer", r["deferred"], "of 1000", "type 5, ephemeral"),
        Figure(f"{label}_first_answer_other", r["other"], "of 1000", "0 (refusals)"),
        Figure(f"{label}_gateway_dispatch", r["dispatched"], "s", "the fake sending all 1000 frames"),
        Figure(f"{label}_all_first_answers", r["answered"], "s", "from the first dispatch"),
        Figure(f"{label}_all_status_messages", r["all_status"], "s", "until every job has its status message"),
        Figure(f"{label}_jobs", r["jobs"], "jobs", "1000"),
        Figure(f"{label}_members_with_one_job", r["members_with_one_job"], "of 1000", "1000"),
        Figure(f"{label}_bot_cpu_during_burst", r["cpu"], "s", "the bot process, until the last first answer"),
        Figure(f"{label}_fake_discord_cpu_during_burst", r["fake_cpu"], "s",
               "this process (the fake Discord) in the same window"),
        Figure(f"{label}_bot_peak_rss", r["rss"], "MB", "VmHWM of the bot process"),
    ]


async def run() -> list[Figure]:
    """A cold bot (the burst right after start-up), then a fresh one warmed by 50 interactions first."""
    with tempfile.TemporaryDirectory() as tmp:
        cold = await discord_path(Path(tmp) / "cold", warm_up=0)
        warm = await discord_path(Path(tmp) / "warm", warm_up=WARM_UP)
    return figures("discord_cold", cold) + figures("discord_warm", warm)
