"""The Slack HTTP front door and the after-acknowledgement pool: bursts, shutdown, bolt's parser quirk."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from pathlib import Path

import pytest

from adapters.slack.backlog import MAX_HOLD, AfterAck
from adapters.slack.front import _slash_command
from bot import messages
from bot.tasks import TaskSupervisor
from tests.fakes.slack import FakeSlack
from tests.test_slack_e2e import Bot


@pytest.fixture
async def fake():
    server = await FakeSlack().start()
    yield server
    await server.stop()


def command(user: str, text: str, response_url: str) -> str:
    return urllib.parse.urlencode({"team_id": "T1", "channel_id": "C1", "user_id": user, "user_name": user.lower(),
                                   "command": "/video", "text": text, "trigger_id": f"trig-{user}",
                                   "response_url": response_url})


async def test_a_command_mentioning_payload_is_not_dropped(tmp_path: Path, fake: FakeSlack) -> None:
    # bolt's own HTTP parser takes any body containing "payload" for an interactive payload.
    async with Bot(tmp_path, fake) as bot:
        ack = await bot.slash("a payload of oranges drifting through space")
        assert ack.status_code == 200 and ack.text == ""
        await bot.until_delivered()
        (job,) = await bot.jobs()
        assert job.request.prompt == "a payload of oranges drifting through space"


async def test_a_burst_is_acknowledged_then_every_command_recorded(tmp_path: Path, fake: FakeSlack) -> None:
    # The fake enforces no limits here, and the bot is told Slack's are generous: this is about the
    # acknowledgements and the records, not the pace of status messages (tests/test_rate_limit_scenario.py).
    async with Bot(tmp_path, fake, quota_user_max_in_flight=5, quota_user_daily_credits=1,
                   slack_posts_per_second=100) as bot:
        url = fake.response_url()
        bodies = [command(f"U{i}", f"scene number {i}", url) for i in range(40)]
        bodies.append(command("UMODAL", "", url))  # opens the form: its trigger_id must not wait behind the rest
        bodies.append(command("ULONG", "x" * 2001, url))  # refused by the contract, in the acknowledgement
        bodies.append(command("UBAD", "a cat --bogus", url))  # refused in the acknowledgement itself
        bodies.append(command("UOVER", "a cat --duration 10", url))  # 2 credits of 1: the core, after the ack
        answers = await asyncio.gather(*(bot.send(b) for b in bodies))
        assert all(a.status_code == 200 for a in answers)
        assert all(a.text == "" for a in answers[:41]) and answers[43].text == ""
        too_long = json.loads(answers[41].text)
        assert too_long["text"] == messages.PROMPT_TOO_LONG.format(limit=2000, got=2001)
        refusal = json.loads(answers[42].text)
        assert refusal["response_type"] == "ephemeral" and "--bogus" in refusal["text"]
        await fake.wait_for(lambda: len([a for a in fake.args_of("chat.postMessage") if a.get("blocks")]) >= 40, 30)
        await fake.wait_for(lambda: any("2 credit" in r.get("text", "") for r in fake.responses), 10)
        jobs = await bot.rt.store.active_jobs()
        assert sorted(j.user_id for j in jobs) == sorted(f"U{i}" for i in range(40))
        (opened,) = fake.args_of("views.open")
        assert opened["trigger_id"] == "trig-UMODAL"
        # The refused commands cost nothing and left nothing behind.
        for user in ("ULONG", "UBAD", "UOVER"):
            assert await bot.rt.store.history("slack", user) == []


async def test_stopping_right_after_the_acknowledgements_loses_no_command(tmp_path: Path, fake: FakeSlack) -> None:
    async with Bot(tmp_path, fake, slack_posts_per_second=100) as bot:
        url = fake.response_url()
        answers = await asyncio.gather(*(bot.send(command(f"U{i}", f"scene {i}", url)) for i in range(20)))
        assert all(a.status_code == 200 for a in answers)
        # The stop comes before any follow-up work has run: closing still finishes it.
        close = bot.adapter.aclose
        await close()
        bot.adapter.aclose = _nothing  # type: ignore[method-assign]
        jobs = await bot.rt.store.active_jobs()
        assert len(jobs) == 20 and len(fake.args_of("chat.postMessage")) >= 20


async def _nothing() -> None:
    pass


async def test_slacks_set_up_checks_still_reach_bolt(tmp_path: Path, fake: FakeSlack) -> None:
    # Slack sends these when the Request URL is entered: the challenge must come back as it was sent.
    async with Bot(tmp_path, fake) as bot:
        challenge = await bot.send(json.dumps({"token": "legacy", "type": "url_verification", "challenge": "c-123"}))
        assert challenge.status_code == 200 and challenge.json() == {"challenge": "c-123"}
        ssl_check = await bot.send("ssl_check=1&token=legacy")
        assert ssl_check.status_code == 200


def test_only_slash_command_forms_take_the_fast_path() -> None:
    form = "application/x-www-form-urlencoded"
    assert _slash_command("command=%2Fvideo&text=a+cat", form) == {"command": "/video", "text": "a cat"}
    assert _slash_command("payload=%7B%7D", form) is None
    assert _slash_command("ssl_check=1&token=x", form) is None
    assert _slash_command('{"type": "event_callback"}', "application/json") is None


async def test_after_ack_runs_urgent_work_first_and_waits_out_a_burst() -> None:
    supervisor = TaskSupervisor()
    later = AfterAck(supervisor, workers=1)
    ran: list[str] = []

    def note(name: str):
        async def work() -> None:
            ran.append(name)
        return work

    later.arrived()
    later.put(note("first"))
    later.put(note("second"))
    later.put(note("modal"), urgent=True)
    later.start()
    await asyncio.sleep(0)
    assert ran == []  # a request has just arrived: its acknowledgement goes first
    assert await later.drain(MAX_HOLD + 1)
    assert ran == ["modal", "first", "second"]
    await later.aclose()
    await supervisor.aclose()


async def test_after_ack_does_not_let_a_steady_stream_starve_work() -> None:
    supervisor = TaskSupervisor()
    later = AfterAck(supervisor, workers=2)
    later.start()
    done = asyncio.Event()

    async def work() -> None:
        done.set()

    later.put(work)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + MAX_HOLD * 4
    while not done.is_set() and loop.time() < deadline:
        later.arrived()  # a request every millisecond
        await asyncio.sleep(0.001)
    assert done.is_set()
    await later.aclose()
    await supervisor.aclose()
