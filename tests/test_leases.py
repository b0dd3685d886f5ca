"""Two pollers on one database (SQLite and PostgreSQL): each job step is taken by one of them, a dead one's steps
pass on, the provider's budget is shared."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.contract import VideoRequest
from bot.days import utc_day
from bot.jobs import Job, JobStatus
from bot.poller import Poller
from bot.providers.base import TaskStatus
from bot.tasks import TaskSupervisor
from storage import open_store
from tests.conftest import make_settings
from tests.helpers import FakeChatPort, FakeClock, ScriptedProvider

S = JobStatus


class SlowProvider(ScriptedProvider):
    """Submissions and downloads that take as long as the test says."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()

    async def submit(self, request: VideoRequest) -> str:
        self.entered.set()
        await self.gate.wait()
        return await super().submit(request)


class Pair:
    """Two pollers (two 'processes'), each with its own connection (pool), on one database and one clock."""

    def __init__(self, tmp_path: Path, url: str, provider: ScriptedProvider, **settings: object) -> None:
        self.clock = FakeClock()
        self.settings = make_settings(tmp_path, lease_seconds=30, database_url=url, **settings)
        self.provider = provider
        self.ports = [FakeChatPort(), FakeChatPort()]

    async def open(self, per_minute: int | None = None) -> Pair:
        self.stores = [await open_store(self.settings.database_url, clock=self.clock) for _ in range(2)]
        self.supervisors = [TaskSupervisor(), TaskSupervisor()]
        self.pollers = [Poller(self.settings, store, self.provider, {"fake": port}, sup, clock=self.clock,
                               submits_per_minute=per_minute)
                        for store, port, sup in zip(self.stores, self.ports, self.supervisors, strict=True)]
        return self

    async def close(self) -> None:
        for sup in self.supervisors:
            await sup.aclose()
        for store in self.stores:
            await store.close()

    async def add(self, n: int, user: str = "u1") -> Job:
        now = self.clock()
        job = Job(id=f"j{n}", platform="fake", workspace_id="w", channel_id="c", user_id=user,
                  request=VideoRequest.build(f"prompt {n}"), cost=1, provider=self.provider.name,
                  status_message_id=f"s{n}", thread_id=f"th{n}", created_at=now + n * 1e-3, updated_at=now,
                  next_poll_at=now)
        assert (await self.stores[0].create_job(job, day=utc_day(now), user_limit=100, workspace_limit=100)).ok
        return job

    async def status(self, job: Job) -> JobStatus:
        return (await self.stores[0].get_job(job.id)).status


@pytest.fixture
async def pair_of(tmp_path: Path, store_url: str):
    opened: list[Pair] = []

    async def make(provider: ScriptedProvider, per_minute: int | None = None, **settings: object) -> Pair:
        pair = await Pair(tmp_path, store_url, provider, **settings).open(per_minute)
        opened.append(pair)
        return pair

    yield make
    for pair in opened:
        await pair.close()


async def test_a_slow_submission_is_not_taken_over_by_the_other_process(pair_of) -> None:
    provider = SlowProvider([TaskStatus.PROCESSING])
    pair = await pair_of(provider)
    job = await pair.add(1)
    a, b = pair.pollers
    assert await a.tick() == 1
    await asyncio.wait_for(provider.entered.wait(), 5)
    assert await pair.status(job) is S.SUBMITTING
    # B looks while A's submission is on the wire, now and well into it (A keeps its lease renewed).
    for _ in range(3):
        pair.clock.advance(20)
        await pair.stores[0].renew_leases(a.owner, [job.id], pair.clock() + 30)
        assert await b.tick() == 0
    provider.gate.set()
    await a.drain()
    assert await pair.status(job) is S.SUBMITTED and len(provider.submits) == 1
    assert await pair.stores[0].lease_of(job.id) == (None, 0.0)  # handed back when the step ended


async def test_a_dead_process_loses_its_steps_after_the_lease(pair_of) -> None:
    provider = SlowProvider([TaskStatus.PROCESSING, TaskStatus.SUCCESS])
    pair = await pair_of(provider)
    job = await pair.add(1)
    a, b = pair.pollers
    await a.tick()
    await asyncio.wait_for(provider.entered.wait(), 5)
    await pair.supervisors[0].aclose()  # A dies mid-submission: no clean stop, its lease stays
    pair.clock.advance(10)
    assert await b.tick() == 0  # the lease is still A's
    pair.clock.advance(25)
    provider.gate.set()
    assert await b.tick() == 1  # expired: B finds the submission cut off and puts it back in line
    await b.drain()
    assert await pair.status(job) is S.QUEUED
    for _ in range(6):
        pair.clock.advance(10)
        await b.tick()
        await b.drain()
    assert await pair.status(job) is S.DELIVERED
    assert len(pair.ports[1].of_kind("video")) == 1 and pair.ports[0].of_kind("video") == []


async def test_a_clean_stop_hands_steps_back_at_once(pair_of) -> None:
    provider = SlowProvider([TaskStatus.PROCESSING])
    pair = await pair_of(provider, shutdown_grace_seconds=0)
    job = await pair.add(1)
    a, b = pair.pollers
    await a.tick()
    await asyncio.wait_for(provider.entered.wait(), 5)
    await a.stop(grace=0)  # cut off mid-submission, but alive enough to say so
    assert await pair.stores[0].lease_of(job.id) == (None, 0.0)
    assert await b.tick() == 1  # no wait for the lease to run out


async def test_a_post_under_way_elsewhere_is_not_posted_again(pair_of) -> None:
    pair = await pair_of(ScriptedProvider([TaskStatus.SUCCESS]))
    job = await pair.add(1)
    a, b = pair.pollers
    stalled = asyncio.Event()
    original = pair.ports[0].post_video

    async def slow_post(to, video):
        stalled.set()
        await asyncio.sleep(0.5)
        return await original(to, video)

    pair.ports[0].post_video = slow_post  # type: ignore[method-assign]
    await a.tick()  # submitted
    await a.drain()
    pair.clock.advance(10)
    await a.tick()  # the poll that sees Success posts the video in the same step, under A's lease
    await asyncio.wait_for(stalled.wait(), 5)
    assert await pair.status(job) is S.DELIVERING
    assert await b.tick() == 0  # no "post not found, posting again" while A is posting
    await a.drain()
    assert await pair.status(job) is S.DELIVERED
    assert len(pair.ports[0].of_kind("video")) == 1 and pair.ports[1].of_kind("video") == []
    assert S.SUCCEEDED.value not in [s for s, _, _ in (await pair.stores[0].events(job.id))[-2:]]


async def test_the_submission_rate_is_shared_by_every_process(pair_of) -> None:
    provider = ScriptedProvider([TaskStatus.PROCESSING])
    pair = await pair_of(provider, per_minute=1, provider_max_in_flight=5)
    jobs = [await pair.add(n, user=f"u{n}") for n in range(3)]
    a, b = pair.pollers

    async def both() -> int:
        for poller in (a, b):
            await poller.tick()
            await poller.drain()
        return len(provider.submits)

    assert await both() == 1  # the minute's one submission is spent, whoever spent it
    pair.clock.advance(30)
    assert await both() == 1
    pair.clock.advance(31)
    assert await both() == 2
    statuses = [await pair.status(j) for j in jobs]
    assert statuses.count(S.QUEUED) == 1


async def test_the_in_flight_cap_is_shared_by_every_process(pair_of) -> None:
    pair = await pair_of(ScriptedProvider([TaskStatus.PROCESSING]), provider_max_in_flight=2)
    for n in range(5):
        await pair.add(n, user=f"u{n}")
    a, b = pair.pollers
    started = await a.tick() + await b.tick()
    await a.drain()
    await b.drain()
    assert started == 2 and await pair.stores[0].count_in_flight() == 2


async def test_a_lease_is_one_owners_until_it_runs_out(pair_of) -> None:
    # The compare-and-set itself, as two processes racing for the same due job would meet it.
    pair = await pair_of(ScriptedProvider())
    job = await pair.add(1)
    a, b = pair.stores
    now = pair.clock()
    assert await a.take_lease(job, "A", now + 30, now)
    assert await a.take_lease(job, "A", now + 40, now)  # its owner may take it again (renewal)
    assert not await b.take_lease(job, "B", now + 30, now)  # live: B is refused
    moved = await a.transition(job, JobStatus.SUBMITTING)
    assert not await b.take_lease(job, "B", now + 80, now + 50)  # a stale status never takes it
    assert await b.take_lease(moved, "B", now + 80, now + 50)  # A's lease ran out at now + 40
    assert await a.lease_of(job.id) == ("B", now + 80)
    assert await a.renew_leases("A", [job.id], now + 99) == 0  # A no longer holds it
    await b.release_lease(job.id, "A")  # only the owner can hand it back
    assert (await a.lease_of(job.id))[0] == "B"
    await b.release_lease(job.id, "B")
    assert await a.lease_of(job.id) == (None, 0.0)
