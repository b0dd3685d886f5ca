"""The fake platforms enforce Slack's and Discord's limits when asked; the shared budget and the status edits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
import pytest

from bot.budget import PlatformBudget, Rate, RateLimited
from bot.metrics import Metrics
from bot.ports import MessageRef, StatusView, ThreadRef
from bot.status_edits import StatusEdits
from tests.fakes.discord import CHANNEL_ID, DiscordLimits, FakeDiscord
from tests.fakes.slack import FakeSlack, SlackLimits
from tests.helpers import FakeClock

# -- the fakes ----------------------------------------------------------------------------------


async def _post(client: httpx.AsyncClient, fake: FakeSlack, channel: str = "C1") -> httpx.Response:
    return await client.post(f"{fake.api_url}chat.postMessage", data={"channel": channel, "text": "hi"},
                             headers={"Authorization": f"Bearer {fake.bot_token}"})


async def test_the_slack_fake_has_no_limits_unless_asked() -> None:
    fake = await FakeSlack().start()
    async with httpx.AsyncClient() as client:
        answers = [await _post(client, fake) for _ in range(30)]
    await fake.stop()
    assert {a.status_code for a in answers} == {200} and fake.rate_limited == 0


async def test_the_slack_fake_answers_429_with_retry_after_past_a_post_a_second_per_channel() -> None:
    fake = await FakeSlack(limits=SlackLimits(post_burst=3)).start()
    async with httpx.AsyncClient() as client:
        answers = [await _post(client, fake) for _ in range(5)]
        other = await _post(client, fake, "C2")  # another channel has a bucket of its own
    await fake.stop()
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert answers[3].json() == {"ok": False, "error": "ratelimited"}
    assert answers[3].headers["Retry-After"] == "1"  # whole seconds, as Slack sends them
    assert other.status_code in (200, 429) and fake.limiter.refused["post"] >= 2


async def test_the_slack_fake_limits_updates_per_workspace_on_a_faster_clock() -> None:
    fake = await FakeSlack(limits=SlackLimits(updates_per_minute=50, update_burst=2, scale=60)).start()
    async with httpx.AsyncClient() as client:
        ts = (await _post(client, fake)).json()["ts"]
        codes = []
        for _ in range(4):
            r = await client.post(f"{fake.api_url}chat.update", data={"channel": "C1", "ts": ts, "text": "x"},
                                  headers={"Authorization": f"Bearer {fake.bot_token}"})
            codes.append((r.status_code, r.headers.get("Retry-After")))
    await fake.stop()
    assert [c for c, _ in codes][:2] == [200, 200] and codes[2][0] == 429
    assert 0 < float(codes[2][1]) < 0.05  # scaled: 60/50 s of Slack's time is 0.02 s here
    assert fake.rate_limited >= 1


async def test_the_discord_fake_answers_429_with_the_headers_discord_py_reads() -> None:
    fake = await FakeDiscord(limits=DiscordLimits(messages=2, per_seconds=5.0)).start()
    url = f"{fake.api_url}/channels/{CHANNEL_ID}/messages"
    async with httpx.AsyncClient(headers={"Authorization": f"Bot {fake.token}"}) as client:
        answers = [await client.post(url, json={"content": "x"}) for _ in range(3)]
    await fake.stop()
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[1].headers["X-RateLimit-Remaining"] == "0" and answers[0].headers["X-RateLimit-Limit"] == "2"
    body = answers[2].json()
    assert body["global"] is False and 0 < body["retry_after"] <= 5 and answers[2].headers["Via"]
    assert fake.rate_limited == 1


# -- the shared budget in the database -----------------------------------------------------------


async def test_a_scope_bucket_is_shared_refills_keeps_a_reserve_and_is_blocked_by_a_429(open_test_store) -> None:
    clock = FakeClock()
    one, two = await open_test_store(clock), await open_test_store(clock)  # two processes, one database
    kw = {"per_second": 1.0, "burst": 3.0}
    assert [await s.take_platform_budget("slack:T1:post:C1", now=clock(), **kw) for s in (one, two, one)] == [0] * 3
    assert await two.take_platform_budget("slack:T1:post:C1", now=clock(), **kw) == pytest.approx(1.0)
    clock.advance(2.0)
    # Two tokens back; a routine edit keeping 1.5 of them for urgent sends may not take one...
    assert await one.take_platform_budget("slack:T1:post:C1", now=clock(), keep=1.5, **kw) == pytest.approx(0.5)
    # ...an urgent send may.
    assert await one.take_platform_budget("slack:T1:post:C1", now=clock(), **kw) == 0
    await two.block_platform_scope("slack:T1:post:C1", clock() + 30, clock())
    clock.advance(10)
    assert await one.take_platform_budget("slack:T1:post:C1", now=clock(), **kw) == pytest.approx(20)
    assert await one.take_platform_budget("slack:T1:edit", now=clock(), **kw) == 0  # other scopes go on


# -- status edits: priorities, collapsing, skipping -----------------------------------------------


@dataclass
class LimitedPort:
    """A port with one edit bucket; records edits, answers 429 when told."""

    platform: str = "lim"
    per_second: float = 1.0
    burst: float = 2.0
    edits: list[tuple[str, str]] = field(default_factory=list)
    refuse: list[float] = field(default_factory=list)

    def rates(self, action: str, to: ThreadRef) -> Sequence[Rate]:
        return [Rate("lim:edit", self.per_second, self.burst)] if action == "edit" else []

    async def edit_status(self, ref: MessageRef, view: StatusView) -> None:
        if self.refuse:
            raise RateLimited(self.refuse.pop(0))
        self.edits.append((view.job_id, view.status))


def view(job: str, status: str, place: int | None = None) -> StatusView:
    return StatusView(job, "U1", "p", 6, "768P", True, False, False, status, status, 1.0, 1, queue_position=place)


async def test_edits_collapse_finals_go_first_and_elapsed_only_edits_are_skipped_when_tight(open_test_store) -> None:
    clock = FakeClock()
    store = await open_test_store(clock)
    metrics = Metrics()
    edits = StatusEdits(PlatformBudget(store, clock=clock, metrics=metrics), clock=clock, metrics=metrics)
    port = LimitedPort(burst=4.0)  # routine edits leave 2 of the 4 to urgent ones
    to = ThreadRef("lim", "W", "C")
    for n in range(4):
        edits.want(port, to, MessageRef("C", f"m{n}"), view(f"j{n}", "queued", 5 - n), final=False)
    edits.want(port, to, MessageRef("C", "m1"), view("j1", "processing"), final=False)  # collapses into one
    edits.want(port, to, MessageRef("C", "m3"), view("j3", "delivered"), final=True)
    assert edits.pending == 4 and edits.collapsed == 2
    nap = await edits.pump()  # the final status first, then the oldest change, then the reserve is reached
    assert port.edits == [("j3", "delivered"), ("j0", "queued")] and nap == pytest.approx(1.0)
    clock.advance(10)
    await edits.pump()
    assert port.edits[2:] == [("j1", "processing"), ("j2", "queued")] and edits.pending == 0
    # Only the elapsed time moved for j1 and j2: sent while there is room, skipped once the budget is tight.
    clock.advance(1)
    edits.want(port, to, MessageRef("C", "m1"), view("j1", "processing"), final=False)
    edits.want(port, to, MessageRef("C", "m2"), view("j2", "queued"), final=False)
    await edits.pump()
    assert edits.sent == 5 and edits.skipped == 1 and edits.pending == 0


async def test_a_429_on_an_edit_blocks_the_scope_and_the_final_status_is_sent_after_it(open_test_store) -> None:
    clock = FakeClock()
    store = await open_test_store(clock)
    metrics = Metrics()
    budget = PlatformBudget(store, clock=clock, metrics=metrics)
    edits = StatusEdits(budget, clock=clock, metrics=metrics)
    port = LimitedPort(refuse=[7.0])
    edits.want(port, ThreadRef("lim", "W", "C"), MessageRef("C", "m"), view("j", "failed"), final=True)
    nap = await edits.pump()
    assert port.edits == [] and edits.pending == 1 and nap == pytest.approx(7.0) and budget.refusals == 1
    assert metrics.platform_rate_limited.labels("lim", "edit")._value.get() == 1
    clock.advance(7.0)
    await edits.pump()
    assert port.edits == [("j", "failed")] and edits.pending == 0


async def test_a_final_status_stays_owed_in_the_database_until_it_is_sent(open_test_store, tmp_path) -> None:
    from bot.contract import VideoRequest
    from bot.jobs import Job

    clock = FakeClock()
    store = await open_test_store(clock)
    job = Job(id="owed1", platform="lim", workspace_id="W", channel_id="C", user_id="U1",
              request=VideoRequest.build("x"), cost=1, provider="local", created_at=clock(), updated_at=clock())
    await store.create_job(job, day="2030-01-01", user_limit=10, workspace_limit=10)
    await store.owe_final_status("owed1", clock())
    await store.owe_final_status("owed1", clock() + 5)  # owed once, since the first time
    assert await store.final_statuses_owed(["lim"], before=clock() + 1) == ["owed1"]
    assert await store.final_statuses_owed(["other"], before=clock() + 1) == []
    assert await store.final_statuses_owed(["lim"], before=clock()) == []  # not yet late
    metrics = Metrics()
    edits = StatusEdits(PlatformBudget(store, clock=clock, metrics=metrics), clock=clock, metrics=metrics,
                        on_final=store.final_status_shown)
    edits.want(LimitedPort(), ThreadRef("lim", "W", "C"), MessageRef("C", "m"), view("owed1", "delivered"), final=True)
    await edits.pump()
    assert await store.final_statuses_owed(["lim"], before=clock() + 1) == []


async def test_the_discord_port_counts_the_429s_discord_py_waits_out_and_logs_them_as_info() -> None:
    import logging

    import discord

    from adapters.discord.port import DiscordPort

    port = DiscordPort(discord.Client(intents=discord.Intents.none()), "https://discord.com/api/v10")
    record = logging.LogRecord("discord.http", logging.WARNING, __file__, 1,
                               "We are being rate limited. %s %s responded with 429. Retrying in %.2f seconds.",
                               ("PATCH", "https://x", 0.5), None)
    assert port.rate_limits.filter(record) and record.levelno == logging.INFO and port.rate_limits.count == 1
    await port.aclose()
