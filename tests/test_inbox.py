"""The inbox: an acknowledged command is recorded once, replayed after a crash, and never charged twice."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
import uuid
from pathlib import Path

import httpx

from bot.commands import CommandRequest, request_to_json
from bot.core import job_id_for
from bot.store import InboxItem
from tests.fakes.discord import FakeDiscord, snowflake
from tests.fakes.slack import FakeSlack
from tests.test_discord_e2e import ALICE
from tests.test_discord_e2e import Bot as DiscordBot
from tests.test_slack_e2e import Bot as SlackBot


def item(key: str, at: float = 1.0, platform: str = "slack") -> InboxItem:
    return InboxItem(key, platform, "command", json.dumps({"k": key}), at)


async def test_each_key_is_recorded_once_and_a_dead_owners_items_are_taken_over(open_test_store) -> None:
    store = await open_test_store()
    fresh = await store.inbox_add([item("a"), item("b"), item("a")], "p1", until=100.0)
    assert fresh == [True, True, False]  # a key repeated inside one batch is new once
    assert await store.inbox_add([item("b"), item("c", at=1.5)], "p2", until=100.0) == [False, True]
    assert await store.inbox_claim("p3", ["slack"], now=50.0, until=200.0) == []  # leases still held
    await store.inbox_done("a")
    taken = await store.inbox_claim("p3", ["slack"], now=150.0, until=200.0)
    assert [(i.key, i.attempts) for i in taken] == [("b", 2), ("c", 2)]  # "a" is done: never replayed
    assert await store.inbox_claim("p4", ["slack"], now=150.0, until=300.0) == []  # p3 holds them now
    assert await store.inbox_claim("p4", ["discord"], now=250.0, until=300.0) == []  # another platform's
    await store.inbox_renew("p3", until=400.0)
    assert await store.inbox_claim("p4", ["slack"], now=350.0, until=500.0) == []
    await store.inbox_release("p3")
    assert {i.key for i in await store.inbox_claim("p4", ["slack"], now=350.0, until=500.0)} == {"b", "c"}
    assert await store.inbox_prune(before=2.0) == 1  # "a": done; the unfinished stay
    assert await store.inbox_add([item("a")], "p5", until=1.0) == [True]


def slash(form_team: str = "T1", trigger: str | None = None, text: str = "a heron at dawn", url: str = "") -> str:
    return urllib.parse.urlencode({"team_id": form_team, "channel_id": "C1", "user_id": "U1", "user_name": "u1",
                                   "command": "/video", "text": text, "response_url": url,
                                   "trigger_id": trigger or uuid.uuid4().hex})


async def test_a_resent_signed_command_makes_one_job_and_one_charge(tmp_path: Path) -> None:
    fake = await FakeSlack().start()
    try:
        async with SlackBot(tmp_path, fake) as bot:
            body = slash(url=fake.response_url())
            answers = [await bot.send(body) for _ in range(3)]  # the same signed body, within its 5 minutes
            assert [a.status_code for a in answers] == [200, 200, 200]
            trigger = urllib.parse.parse_qs(body)["trigger_id"][0]
            again = slash(trigger=trigger, text="another", url=fake.response_url())
            assert (await bot.send(again)).status_code == 200  # the same trigger_id, another body
            await bot.until_delivered()
            await asyncio.sleep(0.5)
            (job,) = await bot.jobs()
            assert [k for k, _, _ in await bot.rt.store.ledger(job.id)] == ["reserve", "capture"]
            statuses = [a for a in fake.args_of("chat.postMessage") if a.get("blocks") and not a.get("thread_ts")]
            assert len(statuses) == 1
            assert bot.rt.inbox.duplicates == 3
    finally:
        await fake.stop()


async def test_slack_requests_from_another_workspace_or_with_a_bad_timestamp_are_refused(tmp_path: Path) -> None:
    fake = await FakeSlack().start()
    try:
        async with SlackBot(tmp_path, fake) as bot:
            other = await bot.send(slash(form_team="T999", url=fake.response_url()))
            assert other.status_code == 200 and "not set up for this workspace" in other.json()["text"]
            body = slash(url=fake.response_url())
            headers = {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00",
                       "Content-Type": "application/x-www-form-urlencoded"}
            bad = await bot.http.post("/slack/events", content=body, headers=headers)
            assert bad.status_code == 401
            event = {"token": "t", "team_id": "T999", "api_app_id": "A1", "type": "event_callback",
                     "event_id": "Ev1", "event_time": int(time.time()),
                     "event": {"type": "app_mention", "user": "U1", "text": "<@UBOT> a cat", "ts": "1.1",
                               "channel": "C1"}}
            assert (await bot.send(json.dumps(event))).status_code in (200, 401)
            await asyncio.sleep(0.5)
            assert await bot.jobs() == [] and "chat.postMessage" not in fake.methods()
    finally:
        await fake.stop()


async def test_a_command_acknowledged_by_a_process_that_died_is_replayed_once(tmp_path: Path) -> None:
    fake = await FakeSlack().start()
    try:
        form = dict(urllib.parse.parse_qsl(slash(url=fake.response_url())))
        key = f"slack:trigger:{form['trigger_id']}"
        async with SlackBot(tmp_path, fake) as bot:  # the first process records it, then "dies"
            await bot.adapter.aclose()
            await bot.rt.store.inbox_add([InboxItem(key, "slack", "command", json.dumps(form), time.time())],
                                         "dead-process", until=time.time() - 1)
            await bot.adapter.start()  # a process serving Slack takes over the orphan
            await bot.until_delivered()
            (job,) = await bot.jobs()
            assert job.id == job_id_for(CommandRequest("slack", "T1", "C1", "U1", "video", request_key=key))
            assert bot.rt.inbox.replayed == 1
            # The same payload resent by Slack after the replay: dropped, not charged again.
            assert (await bot.send(urllib.parse.urlencode(form))).status_code == 200
            await asyncio.sleep(0.5)
            assert len(await bot.jobs()) == 1
    finally:
        await fake.stop()


async def test_a_replay_after_the_job_was_recorded_charges_nothing_more(tmp_path: Path) -> None:
    fake = await FakeSlack().start()
    try:
        async with SlackBot(tmp_path, fake, quota_user_daily_credits=1) as bot:
            body = slash(url=fake.response_url())
            await bot.send(body)
            await bot.until_delivered()
            (job,) = await bot.jobs()
            # As if the process had died after recording the job, before marking the command done.
            form = dict(urllib.parse.parse_qsl(body))
            key = f"slack:trigger:{form['trigger_id']}"
            await _reopen(bot, key)
            await bot.rt.inbox._take_over(time.time())
            await asyncio.sleep(1.0)
            assert len(await bot.jobs()) == 1
            assert not any("credit" in r.get("text", "") for r in fake.responses)  # no "no credits left" either
            assert [k for k, _, _ in await bot.rt.store.ledger(job.id)] == ["reserve", "capture"]
    finally:
        await fake.stop()


async def _reopen(bot: SlackBot, key: str) -> None:
    db = bot.rt.store._db  # the SQLite store of these tests: mark the item unfinished and orphaned
    await db.execute("UPDATE inbox SET done_at = NULL, lease_owner = 'dead', lease_until = 0 WHERE key = ?", (key,))


async def test_a_deferred_discord_interaction_is_finished_after_a_crash(tmp_path: Path,
                                                                        discord_fake: FakeDiscord) -> None:
    fake = discord_fake
    data = {"id": snowflake(), "name": "video", "type": 1,
            "options": [{"name": "prompt", "type": 3, "value": "lanterns over a river"}]}
    raw = fake.remember(fake.interaction(2, data, user_id=ALICE))
    async with httpx.AsyncClient() as http:  # the process that died had deferred it privately
        url = f"{fake.api_url}/interactions/{raw['id']}/{raw['token']}/callback"
        assert (await http.post(url, json={"type": 5, "data": {"flags": 64}})).status_code in (200, 204)
    key = f"discord:{raw['id']}"
    req = CommandRequest("discord", raw["guild_id"], raw["channel_id"], ALICE, "video",
                         prompt="lanterns over a river", request_key=key)
    async with DiscordBot(tmp_path, fake) as bot:
        await bot.rt.store.inbox_add([InboxItem(key, "discord", "interaction",
                                                json.dumps({"interaction": raw, "request": request_to_json(req)}),
                                                time.time())], "dead-process", until=time.time() - 1)
        bot.rt.inbox._sweep.set()
        (job,) = await bot.until(lambda jobs: jobs and jobs[0].thread_id)
        assert job.id == job_id_for(req) and job.request.prompt == "lanterns over a river"
        shown = [m for m in fake.messages_in(raw["channel_id"]) if m.get("embeds")]
        assert len(shown) == 1 and not shown[0].get("flags", 0) & 64  # the status, in public
        await bot.until(lambda jobs: jobs[0].status.value == "delivered")
        # the gateway delivering the same interaction again changes nothing
        await bot.send(raw)
        await asyncio.sleep(0.5)
        assert len(await bot.jobs()) == 1
