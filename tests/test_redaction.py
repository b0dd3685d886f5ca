"""The whole bot, run as a process with real-looking secrets at DEBUG level: none of them reaches the logs."""

from __future__ import annotations

import asyncio
import signal
import sys
import urllib.parse
import uuid
from pathlib import Path

import httpx

from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import FakeSlack, sign
from tests.test_cli import env_for
from tests.test_slack_e2e import free_port

DISCORD_TOKEN = "MTExMTExMTExMTExMTExMTEx.GxYz12.abcdefghijklmnopqrstuvwxyz0123456"
SLACK_BOT = "xoxb-1234567890123-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
SIGNING = "8f742231b10e8888abcd99yyyzzz85a5"
MINIMAX_KEY = "sk-api-Zq9Xw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa"


async def test_no_secret_in_the_logs_of_a_running_bot(tmp_path: Path) -> None:
    discord, slack = FakeDiscord(token=DISCORD_TOKEN), FakeSlack(bot_token=SLACK_BOT)
    await discord.start()
    await slack.start()
    port = free_port()
    env = env_for(tmp_path, LOG_LEVEL="DEBUG", DISCORD_TOKEN=DISCORD_TOKEN, DISCORD_API_BASE_URL=discord.api_url,
                  DISCORD_GATEWAY_URL=discord.gateway_url, DISCORD_GUILD_IDS="222222222222222222",
                  SLACK_BOT_TOKEN=SLACK_BOT, SLACK_SIGNING_SECRET=SIGNING, SLACK_API_URL=slack.api_url,
                  SLACK_PORT=str(port), MINIMAX_API_KEY=MINIMAX_KEY, LOCAL_DELAY_SECONDS="0.3")
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await discord.wait_for(lambda: discord.commands, 60)
        body = urllib.parse.urlencode({"team_id": "T1", "channel_id": "C1", "user_id": "U1", "command": "/video",
                                       "text": "a heron", "response_url": slack.response_url(),
                                   "trigger_id": uuid.uuid4().hex})
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                try:
                    answer = await http.post(f"http://127.0.0.1:{port}/slack/events", content=body,
                                             headers=sign(body, SIGNING))
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
        assert answer.status_code == 200
        await slack.wait_for(lambda: any("size" in u for u in slack.uploads.values()), 60)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        await discord.stop()
        await slack.stop()
    logs = err.decode()
    assert proc.returncode == 0, logs[-2000:]
    assert "Discord connected" in logs and "delivered" in logs and "DEBUG" in logs
    for secret in (DISCORD_TOKEN, SLACK_BOT, SIGNING, MINIMAX_KEY, DISCORD_TOKEN.split(".")[2], SLACK_BOT[-24:]):
        assert secret not in logs
