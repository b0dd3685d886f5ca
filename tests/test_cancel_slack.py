"""Cancel through the real slack-bolt app against the fake Slack: the status message's button and /video cancel."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import pytest

from bot import messages
from bot.jobs import JobStatus
from bot.store import InboxItem
from tests.fakes.slack import FakeSlack
from tests.test_slack_e2e import Bot

S = JobStatus


@pytest.fixture
async def fake():
    server = await FakeSlack().start()
    yield server
    await server.stop()


def status_of(fake: FakeSlack, job) -> dict:
    ts = job.status_message_id.partition(":")[2]
    return next(m for m in fake.messages["C1"] if m["ts"] == ts)


def cancel_values(message: dict) -> list[str]:
    blocks = message.get("blocks") or []
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    return [e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]
            if e["action_id"] == "hailuo_cancel"]


async def until(bot: Bot, predicate, seconds: float = 30.0) -> list:
    for _ in range(int(seconds / 0.05)):
        jobs = await bot.jobs()
        if predicate(jobs):
            return jobs
        await asyncio.sleep(0.05)
    raise AssertionError([(j.id, j.status) for j in await bot.jobs()])


def said(fake: FakeSlack) -> list[str]:
    """Everything only one member saw: ephemeral posts and response_url answers."""
    return [a["text"] for a in fake.args_of("chat.postEphemeral")] + [r.get("text", "") for r in fake.responses]


async def test_the_cancel_button_and_command_for_the_requester_or_an_admin(tmp_path: Path, fake: FakeSlack) -> None:
    # One provider slot, taken by a slow first video: the second waits in the bot's own line.
    slow = Bot(tmp_path, fake, provider_max_in_flight=1)
    slow.settings = slow.settings.model_copy(update={"local_delay_seconds": 4.0})
    async with slow as bot:
        await bot.slash("a long first video")
        await until(bot, lambda jobs: len(jobs) == 1 and jobs[0].status.at_provider)
        await bot.slash("a paper boat")
        jobs = await until(bot, lambda jobs: len(jobs) == 2 and all(j.status_message_id for j in jobs))
        running = next(j for j in jobs if j.status.at_provider)
        waiting = next(j for j in jobs if j.status is S.QUEUED)
        assert cancel_values(status_of(fake, waiting)) == [waiting.id]

        def click(user: str) -> dict:
            return {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": user, "team_id": "T1"},
                    "api_app_id": "A1", "trigger_id": uuid.uuid4().hex, "channel": {"id": "C1"},
                    "container": {"type": "message", "channel_id": "C1", "message_ts": waiting.thread_id},
                    "message": {"type": "message", "ts": waiting.thread_id},
                    "actions": [{"type": "button", "action_id": "hailuo_cancel", "value": waiting.id,
                                 "block_id": "b", "action_ts": "1.2"}], "response_url": fake.response_url()}

        ack = await bot.interactive(click("U2"))
        assert ack.status_code == 200
        await fake.wait_for(lambda: messages.CANCEL_NOT_YOURS in said(fake))
        assert (await bot.rt.store.get_job(waiting.id)).status is S.QUEUED
        await bot.interactive(click("U1"))
        done = messages.CANCEL_DONE_REFUNDED.format(job=waiting.id, cost=waiting.cost)
        await fake.wait_for(lambda: done in said(fake))
        job = await bot.rt.store.get_job(waiting.id)
        assert job.status is S.CANCELLED and [k for k, _, _ in await bot.rt.store.ledger(job.id)] == ["reserve",
                                                                                                      "release"]
        await fake.wait_for(lambda: cancel_values(status_of(fake, job)) == [])  # the button is gone
        assert "Cancelled" in json.dumps(status_of(fake, job)["blocks"])

        # `/video cancel JOB`: another member is refused; a workspace admin may cancel anyone's.
        await bot.slash(f"cancel {running.id}", user="U2")
        await fake.wait_for(lambda: said(fake).count(messages.CANCEL_NOT_YOURS) == 2)
        fake.admins.add("U3")
        await bot.slash(f"cancel {running.id}", user="U3")
        await fake.wait_for(lambda: messages.CANCEL_ASKED.format(job=running.id) in said(fake))
        await until(bot, lambda jobs: all(j.status.terminal for j in jobs))
        ended = await bot.rt.store.get_job(running.id)
        assert ended.status is S.CANCELLED and ended.cancel_requested_by == "U3"
        assert [k for k, _, _ in await bot.rt.store.ledger(ended.id)] == ["reserve", "release"]  # local: free
        await fake.wait_for(lambda: cancel_values(status_of(fake, ended)) == [])
        await bot.slash("cancel", user="U1")
        await fake.wait_for(lambda: messages.CANCEL_WHICH in said(fake))
    assert fake.uploads == {}  # no video was ever posted


async def test_a_cancel_click_acknowledged_by_a_process_that_died_is_replayed(tmp_path: Path, fake: FakeSlack) -> None:
    slow = Bot(tmp_path, fake)
    slow.settings = slow.settings.model_copy(update={"local_delay_seconds": 4.0})
    async with slow as bot:
        await bot.slash("a long video")
        (job,) = await until(bot, lambda jobs: len(jobs) == 1 and jobs[0].status.at_provider)
        click = {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1", "team_id": "T1"},
                 "api_app_id": "A1", "trigger_id": uuid.uuid4().hex, "channel": {"id": "C1"},
                 "container": {"type": "message", "channel_id": "C1", "message_ts": job.thread_id},
                 "message": {"type": "message", "ts": job.thread_id},
                 "actions": [{"type": "button", "action_id": "hailuo_cancel", "value": job.id, "block_id": "b",
                              "action_ts": "1.2"}], "response_url": fake.response_url()}
        await bot.adapter.aclose()  # the process that acknowledged the click "dies" before handling it
        key = f"slack:trigger:{click['trigger_id']}"
        await bot.rt.store.inbox_add([InboxItem(key, "slack", "cancel", json.dumps(click), time.time())],
                                     "dead-process", until=time.time() - 1)
        await bot.adapter.start()  # a process serving Slack takes the orphan over
        await until(bot, lambda jobs: jobs[0].status is S.CANCELLED)
        assert bot.rt.inbox.replayed == 1
        assert [k for k, _, _ in await bot.rt.store.ledger(job.id)] == ["reserve", "release"]
        await fake.wait_for(lambda: messages.CANCEL_ASKED.format(job=job.id) in said(fake))
