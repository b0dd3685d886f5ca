"""SIGTERM while a video is uploading, then a restart: the video is delivered exactly once."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
import urllib.parse
import uuid
from pathlib import Path

import httpx

from tests.fakes.slack import FakeSlack, sign
from tests.test_cli import env_for
from tests.test_slack_e2e import free_port

SECRET = "sigterm-signing-secret"


async def start_bot(tmp_path: Path, slack: FakeSlack, port: int) -> asyncio.subprocess.Process:
    env = env_for(tmp_path, SLACK_BOT_TOKEN=slack.bot_token, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=slack.api_url,
                  SLACK_PORT=str(port), LOCAL_DELAY_SECONDS="0.3", SHUTDOWN_GRACE_SECONDS="0.5")
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


def statuses(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "bot.db") as db:
        return [r[0] for r in db.execute("SELECT status FROM jobs")]


async def test_sigterm_mid_upload_then_restart_delivers_once(tmp_path: Path) -> None:
    slack = await FakeSlack(upload_delay=30).start()
    port = free_port()
    first = await start_bot(tmp_path, slack, port)
    body = urllib.parse.urlencode({"team_id": "T1", "channel_id": "C1", "user_id": "U1", "command": "/video",
                                   "text": "a heron", "response_url": slack.response_url(),
                                   "trigger_id": uuid.uuid4().hex})
    async with httpx.AsyncClient() as http:
        for _ in range(200):
            try:
                await http.post(f"http://127.0.0.1:{port}/slack/events", content=body, headers=sign(body, SECRET))
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.05)
    await slack.wait_for(lambda: slack.uploads, 60)  # the upload has started and hangs
    first.send_signal(signal.SIGTERM)
    await asyncio.wait_for(first.communicate(), 30)
    assert first.returncode == 0
    assert statuses(tmp_path) == ["delivering"]
    assert not any("size" in u for u in slack.uploads.values())

    slack.upload_delay = 0
    second = await start_bot(tmp_path, slack, port)
    try:
        for _ in range(400):
            if statuses(tmp_path) == ["delivered"]:
                break
            await asyncio.sleep(0.05)
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.communicate(), 30)
        await slack.stop()
    assert statuses(tmp_path) == ["delivered"]
    shared = [m for m in slack.messages["C1"] if m.get("files")]
    assert len(shared) == 1  # posted once, not twice
