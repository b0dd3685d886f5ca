"""The bot killed with SIGKILL at each stage and restarted on the same database: every job ends
delivered exactly once, and the provider saw one submission per job."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import urllib.parse
import uuid
from pathlib import Path

import httpx
import pytest

from tests.fakes.minimax import FakeMiniMax
from tests.fakes.slack import FakeSlack, sign
from tests.test_cli import env_for
from tests.test_slack_e2e import free_port

SECRET = "sigkill-signing-secret"
AT_PROVIDER = {"submitted", "preparing", "queueing", "processing"}


class Drill:
    def __init__(self, tmp_path: Path, slack: FakeSlack, minimax: FakeMiniMax, **env: str) -> None:
        self.tmp_path, self.slack, self.minimax = tmp_path, slack, minimax
        self.port = free_port()
        self.env = env_for(tmp_path, SLACK_BOT_TOKEN=slack.bot_token, SLACK_SIGNING_SECRET=SECRET,
                           SLACK_API_URL=slack.api_url, SLACK_PORT=str(self.port), HAILUO_PROVIDER="minimax",
                           MINIMAX_API_KEY=minimax.api_key, MINIMAX_BASE_URL=minimax.base_url,
                           POLL_FIRST_SECONDS="0.2", POLL_MAX_SECONDS="0.4", **env)

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=self.tmp_path, env=self.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)

    async def kill(self) -> None:
        self.proc.kill()  # SIGKILL: no clean-up at all
        await self.proc.wait()

    async def ask(self, user: str) -> None:
        body = urllib.parse.urlencode({"team_id": "T1", "channel_id": "C1", "user_id": user, "command": "/video",
                                       "text": f"scene for {user}", "response_url": self.slack.response_url(),
                                       "trigger_id": uuid.uuid4().hex})
        async with httpx.AsyncClient() as http:
            for _ in range(300):
                try:
                    answer = await http.post(f"http://127.0.0.1:{self.port}/slack/events", content=body,
                                             headers=sign(body, SECRET))
                    assert answer.status_code == 200
                    return
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)

    def statuses(self) -> list[str]:
        db = self.tmp_path / "bot.db"
        if not db.exists():
            return []
        with sqlite3.connect(db) as conn:
            return [r[0] for r in conn.execute("SELECT status FROM jobs ORDER BY created_at")]

    async def until(self, predicate, seconds: float = 40) -> list[str]:
        for _ in range(int(seconds / 0.05)):
            statuses = self.statuses()
            if predicate(statuses):
                return statuses
            await asyncio.sleep(0.05)
        raise AssertionError(self.statuses())

    def ledger(self) -> list[tuple[str, str]]:
        with sqlite3.connect(self.tmp_path / "bot.db") as conn:
            return conn.execute("SELECT job_id, kind FROM quota_ledger ORDER BY id").fetchall()


@pytest.mark.parametrize("stage", ["queued", "submitting", "at_provider", "downloading", "uploading"])
async def test_sigkill_at_each_stage_then_restart(tmp_path: Path, stage: str, sample_mp4: bytes) -> None:
    slack = await FakeSlack().start()
    minimax = await FakeMiniMax(video=sample_mp4, steps=["Processing"] * 8 + ["Success"]).start()
    extra = {"PROVIDER_SUBMITS_PER_MINUTE": "1"} if stage == "queued" else {}
    drill = Drill(tmp_path, slack, minimax, **extra)
    users = ["U1", "U2"] if stage == "queued" else ["U1"]
    if stage == "submitting":
        minimax.fail_next("create", ("stall", 60))
    if stage == "downloading":
        minimax.fail_next("download", ("stall", 60))
    if stage == "uploading":
        slack.upload_delay = 60
    try:
        await drill.start()
        for user in users:
            await drill.ask(user)
        wanted = {"queued": lambda s: s == ["processing", "queued"] or s == ["submitted", "queued"],
                  "submitting": lambda s: s == ["submitting"], "at_provider": lambda s: s and s[0] in AT_PROVIDER,
                  "downloading": lambda s: s == ["succeeded"] and any(k == "download" for k, _ in minimax.requests),
                  "uploading": lambda s: s == ["delivering"] and bool(slack.uploads)}[stage]
        await drill.until(lambda s: bool(wanted(s)))
        await drill.kill()
        minimax.faults.clear()
        slack.upload_delay = 0
        await drill.start()
        # With one submission a minute, the second job waits out the minute of the first: the budget is
        # the provider account's, kept in the database, so a restart does not reset it.
        final = await drill.until(lambda s: len(s) == len(users) and all(x == "delivered" for x in s),
                                  120 if stage == "queued" else 60)
        await drill.kill()
    finally:
        await slack.stop()
        await minimax.stop()
    assert final == ["delivered"] * len(users)
    posted = [m for m in slack.messages["C1"] if m.get("files")]
    assert len(posted) == len(users)  # each video exactly once
    assert len(minimax.submissions) == len(users)  # the provider accepted one submission per job
    kinds = [kind for _, kind in drill.ledger()]
    assert sorted(kinds) == sorted(["reserve", "capture"] * len(users))
