"""Limits beyond daily credits: jobs in flight, the daily budget, blocked users and terms, channels."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import messages
from bot.commands import CommandRequest
from bot.core import Core
from bot.jobs import JobStatus
from storage import SQLiteStore
from tests.conftest import make_settings
from tests.helpers import FakeChatPort, FakeClock


async def make_core(tmp_path: Path, **overrides):
    clock = FakeClock()
    settings = make_settings(tmp_path, **overrides)
    store = await SQLiteStore.open(settings.database_path, clock=clock)
    return Core(settings, store, provider_name="scripted", ports={"fake": FakeChatPort()}, clock=clock), store


def ask(user: str = "u1", channel: str = "c", **kw) -> CommandRequest:
    return CommandRequest(platform="fake", workspace_id="w", channel_id=channel, user_id=user, command="video",
                          prompt=kw.pop("prompt", "a quiet harbour"), **kw)


@pytest.fixture
async def closing():
    stores: list[SQLiteStore] = []
    yield stores
    for s in stores:
        await s.close()


async def test_jobs_in_flight_cap_frees_up_when_one_ends(tmp_path: Path, closing) -> None:
    core, store = await make_core(tmp_path, quota_user_max_in_flight=2)
    closing.append(store)
    first = (await core.handle(ask())).job_id
    assert (await core.handle(ask())).ok
    refused = await core.handle(ask())
    assert refused.text == messages.QUOTA_IN_FLIGHT.format(running=2, limit=2)
    assert (await core.handle(ask(user="u2"))).ok  # another user is not held up
    await store.transition(await store.get_job(first), JobStatus.FAILED)
    assert (await core.handle(ask())).ok


async def test_daily_budget_stops_new_jobs(tmp_path: Path, closing) -> None:
    core, store = await make_core(tmp_path, budget_daily_usd=1.0)
    closing.append(store)
    assert (await core.handle(ask(resolution="1080P"))).ok  # $0.49
    assert (await core.handle(ask(user="u2", resolution="1080P"))).ok  # $0.98
    refused = await core.handle(ask(user="u3"))  # $0.28 more would pass $1.00
    assert refused.text.startswith("The bot has reached today's spending limit ($1.00)")
    assert len(await store.active_jobs()) == 2
    job = (await store.history("fake", "u1"))[0]
    assert job.price_usd == 0.49


async def test_blocked_user_term_and_channel_allow_list(tmp_path: Path, closing) -> None:
    core, store = await make_core(tmp_path, blocked_terms="gore, Blood")
    closing.append(store)
    await store.set_blocked("fake", "w", "bad", True, set_by="admin1")
    assert (await core.handle(ask(user="bad"))).text == messages.USER_BLOCKED
    term = await core.handle(ask(prompt="a blood moon"))
    assert term.text == messages.BLOCKED_TERM.format(term="blood")
    assert (await core.handle(ask(prompt="bloodhound puppies"))).ok  # whole words only
    await store.set_channel_allowed("fake", "w", "videos", True, set_by="admin1")
    elsewhere = await core.handle(ask(channel="general"))
    assert elsewhere.text == messages.CHANNEL_NOT_ALLOWED.format(channels=messages.channel_ref("videos"))
    assert (await core.handle(ask(channel="videos"))).ok
    log = await store.admin_log("fake", "w")
    assert [(actor, action, detail) for _, actor, action, detail in log] == [
        ("admin1", "allow_channel", "videos"), ("admin1", "block", "bad")]
    assert len(await store.active_jobs()) == 2


async def test_admin_actions_through_the_core(tmp_path: Path, closing) -> None:
    core, store = await make_core(tmp_path)
    closing.append(store)

    async def admin(*args: str, is_admin: bool = True) -> str:
        req = CommandRequest(platform="fake", workspace_id="w", channel_id="c", user_id="boss", command="admin",
                             args=args, is_admin=is_admin)
        return (await core.handle(req)).text

    assert await admin("quota", "set", "3", is_admin=False) == messages.ADMIN_ONLY
    assert await admin("quota", "set", "3") == "Daily credits for this workspace set to 3."
    assert (await admin("quota", "set", "lots")).startswith("I didn't understand")
    assert (await core.handle(ask())).ok
    assert await admin("quota", "u1") == ("<user:u1>: 0 used, 1 held, 2 left of 10 today. "
                                          "This workspace: 1 used or held, 2 left of 3 today.")
    assert await admin("channels") == messages.ADMIN_CHANNELS_NONE
    await admin("channels", "allow", "c9")
    assert await admin("channels") == "Videos can be made only in: <channel:c9>."
    await admin("channels", "remove", "c9")
    assert await admin("channels") == messages.ADMIN_CHANNELS_NONE
    assert (await admin("usage")).startswith("Last 7 days: 1 video, 0 delivered, 0 failed")
    assert await admin("dance") == messages.ADMIN_HELP
    assert "boss set_limit workspace = 3" in await admin("log")
