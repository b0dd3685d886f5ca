"""The poller: statuses in order, failures refunded, expiry, restart safety, fair order."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import messages
from bot.contract import VideoRequest
from bot.days import utc_day
from bot.jobs import Job, JobStatus
from bot.poller import Poller
from bot.ports import DeliveryFailed, MessageRef
from bot.providers.base import Fault, ProviderError, TaskStatus
from bot.tasks import TaskSupervisor
from storage import SQLiteStore
from tests.conftest import make_settings
from tests.helpers import FakeChatPort, FakeClock, ScriptedProvider

T = TaskStatus
OPEN: list[Rig] = []


@pytest.fixture(autouse=True)
async def close_rigs():
    yield
    while OPEN:
        await OPEN.pop().close()


class Rig:
    """A store, a scripted provider, a recording port and a poller on a fake clock."""

    def __init__(self, tmp_path: Path, provider: ScriptedProvider | None = None, **settings: object) -> None:
        self.tmp_path = tmp_path
        self.clock = FakeClock()
        self.settings = make_settings(tmp_path, **settings)
        self.provider = provider or ScriptedProvider()
        self.port = FakeChatPort()
        self.n = 0

    async def open(self) -> Rig:
        self.store = await SQLiteStore.open(self.settings.database_path, clock=self.clock)
        self.supervisor = TaskSupervisor()
        self.poller = Poller(self.settings, self.store, self.provider, {"fake": self.port}, self.supervisor,
                             clock=self.clock)
        OPEN.append(self)
        return self

    async def close(self) -> None:
        if self in OPEN:
            OPEN.remove(self)
        await self.supervisor.aclose()
        await self.store.close()

    async def add(self, user: str = "u1", cost: int = 1) -> Job:
        self.n += 1
        now = self.clock()
        job = Job(id=f"j{self.n}", platform="fake", workspace_id="w", channel_id="c", user_id=user,
                  request=VideoRequest.build(f"prompt {self.n}"), cost=cost, provider="scripted",
                  status_message_id=f"s{self.n}", thread_id=f"th{self.n}",
                  created_at=now + self.n * 1e-3, updated_at=now, next_poll_at=now)
        assert (await self.store.create_job(job, day=utc_day(now), user_limit=100, workspace_limit=100)).ok
        return job

    async def step(self, seconds: float = 0.0) -> None:
        self.clock.advance(seconds)
        await self.poller.tick()
        await self.poller.drain()

    async def run(self, steps: int = 40, seconds: float = 6.0) -> None:
        for _ in range(steps):
            await self.step(seconds)

    async def status(self, job: Job) -> JobStatus:
        return (await self.store.get_job(job.id)).status

    async def ledger_kinds(self, job: Job) -> list[str]:
        return [k for k, _, _ in await self.store.ledger(job.id)]


async def test_statuses_recorded_in_order_and_delivered_once(tmp_path: Path) -> None:
    rig = await Rig(tmp_path).open()
    job = await rig.add()
    await rig.run()
    events = [e[0] for e in await rig.store.events(job.id)]
    assert events == ["queued", "submitting", "submitted", "preparing", "queueing", "processing",
                      "succeeded", "delivering", "delivered"]
    assert len(rig.port.of_kind("video")) == 1
    assert rig.port.files[job.id] == rig.provider.video
    stored = await rig.store.get_job(job.id)
    assert Path(stored.video_path).read_bytes() == rig.provider.video and stored.delivered_ref == "th1/m1"
    assert await rig.ledger_kinds(job) == ["reserve", "capture"]
    assert rig.port.statuses()[-1] == "delivered"
    await rig.close()


async def test_failed_job_is_refunded_and_told(tmp_path: Path) -> None:
    provider = ScriptedProvider([T.PROCESSING, T.FAIL])
    rig = await Rig(tmp_path, provider).open()
    job = await rig.add(cost=2)
    await rig.run()
    assert await rig.status(job) is JobStatus.FAILED
    assert await rig.ledger_kinds(job) == ["reserve", "release"]
    notes = rig.port.of_kind("notify")
    assert notes == [messages.JOB_FAILED_REFUNDED.format(reason=messages.PROVIDER_FAILED, cost=2)]
    await rig.close()


async def test_job_that_outlives_the_limit_expires_refunded(tmp_path: Path) -> None:
    provider = ScriptedProvider([T.PROCESSING])
    rig = await Rig(tmp_path, provider, job_timeout_minutes=1).open()
    job = await rig.add()
    await rig.run(steps=15, seconds=5)
    assert await rig.status(job) is JobStatus.EXPIRED
    assert await rig.ledger_kinds(job) == ["reserve", "release"]
    assert "longer than 1 minute and" in rig.port.of_kind("notify")[0]
    await rig.close()


async def test_store_closed_mid_job_and_reopened_finishes_exactly_once(tmp_path: Path) -> None:
    rig = await Rig(tmp_path).open()
    job = await rig.add()
    await rig.step()
    await rig.step(6)
    assert (await rig.status(job)).at_provider
    await rig.close()  # the process "dies"
    again = Rig(tmp_path, rig.provider)
    again.clock = rig.clock
    again.port = rig.port
    await again.open()
    await again.run()
    assert await again.status(job) is JobStatus.DELIVERED
    assert len(rig.provider.submits) == 1 and len(again.port.of_kind("video")) == 1
    assert await again.ledger_kinds(job) == ["reserve", "capture"]
    await again.close()


async def test_restart_mid_submission_resubmits_once_then_gives_up(tmp_path: Path) -> None:
    rig = await Rig(tmp_path).open()
    job = await rig.add()
    # The process died after marking the submission but before the task id came back.
    stuck = await rig.store.transition(job, JobStatus.SUBMITTING, submit_attempts=1)
    await rig.step()
    assert await rig.status(job) is JobStatus.QUEUED
    await rig.run()
    assert await rig.status(job) is JobStatus.DELIVERED and len(rig.provider.submits) == 1
    second = await rig.add()
    stuck = await rig.store.transition(second, JobStatus.SUBMITTING, submit_attempts=2)
    await rig.step()
    assert (await rig.status(stuck)) is JobStatus.FAILED
    assert await rig.ledger_kinds(second) == ["reserve", "release"]
    await rig.close()


async def test_restart_mid_delivery_does_not_post_twice(tmp_path: Path) -> None:
    rig = await Rig(tmp_path).open()
    rig.poller.steps.succeeded = lambda job: None  # left SUCCEEDED, as if the process died before delivering
    posted, lost = await rig.add(), await rig.add()
    for _ in range(30):
        if {await rig.status(posted), await rig.status(lost)} == {JobStatus.SUCCEEDED}:
            break
        rig.clock.advance(6)
        await rig.poller.tick()
        await rig.poller.drain()
    # Both died mid-post; the platform shows the first one's video, not the second's.
    for job in (posted, lost):
        await rig.store.transition(await rig.store.get_job(job.id), JobStatus.DELIVERING)
    rig.port.existing[posted.id] = MessageRef("th1", "already")
    await rig.run(steps=3)
    first, second = await rig.store.get_job(posted.id), await rig.store.get_job(lost.id)
    assert first.status is JobStatus.DELIVERED and first.delivered_ref == "th1/already"
    assert second.status is JobStatus.DELIVERED
    assert [v.job_id for v in rig.port.of_kind("video")] == [lost.id]
    await rig.close()


async def test_transient_errors_retry_then_deliver_and_permanent_ones_fail(tmp_path: Path) -> None:
    provider = ScriptedProvider([ProviderError(Fault.RETRY, "busy", code=1002), T.PROCESSING, T.SUCCESS])
    provider.submit_errors.append(ProviderError(Fault.RETRY, "timeout"))
    provider.download_errors.append(ProviderError(Fault.RETRY, "reset"))
    rig = await Rig(tmp_path, provider).open()
    ok = await rig.add()
    await rig.run(steps=60, seconds=10)
    assert await rig.status(ok) is JobStatus.DELIVERED
    assert len(provider.submits) == 1
    provider.submit_errors.append(ProviderError(Fault.USER, "sensitive", code=1026))
    refused = await rig.add()
    await rig.run(steps=3)
    assert await rig.status(refused) is JobStatus.FAILED
    assert (await rig.store.get_job(refused.id)).error == messages.PROVIDER_REJECTED_INPUT
    provider.submit_errors.append(ProviderError(Fault.OPERATOR, "invalid api key", code=2049))
    broken = await rig.add()
    await rig.run(steps=3)
    assert (await rig.store.get_job(broken.id)).error == messages.PROVIDER_UNAVAILABLE
    assert await rig.ledger_kinds(broken) == ["reserve", "release"]
    await rig.close()


async def test_delivery_that_keeps_failing_ends_failed_and_refunded(tmp_path: Path) -> None:
    rig = await Rig(tmp_path, delivery_attempts=3).open()
    rig.port.fail_posts.extend([RuntimeError("500")] * 2 + [DeliveryFailed("channel gone", permanent=True)])
    job = await rig.add()
    await rig.run(steps=40, seconds=60)
    final = await rig.store.get_job(job.id)
    assert final.status is JobStatus.FAILED and final.error == messages.DELIVERY_FAILED
    assert await rig.ledger_kinds(job) == ["reserve", "release"]
    await rig.close()


async def test_fair_round_robin_and_in_flight_cap(tmp_path: Path) -> None:
    provider = ScriptedProvider([T.PROCESSING])
    rig = await Rig(tmp_path, provider, provider_max_in_flight=3).open()
    for user in ["a"] * 4 + ["b"] * 3 + ["c"] * 2:
        await rig.add(user=user)
    await rig.step()
    submitted = [r.prompt for r in provider.submits]
    assert submitted == ["prompt 1", "prompt 5", "prompt 8"]  # a, b, c: one each, cap of three
    positions = {v.job_id: v.queue_position for v in rig.port.of_kind("status") if v.status == "queued"}
    assert positions["j2"] == 1 and positions["j6"] == 2 and positions["j9"] == 3 and positions["j3"] == 4
    await rig.close()
