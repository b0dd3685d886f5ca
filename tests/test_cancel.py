"""Cancel in the core and the store, on both backends: who may cancel, what is refunded, and the races."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from pathlib import Path

import pytest

from adapters.console.app import chat
from bot import messages
from bot.cancel import refunded_on_cancel
from bot.commands import CommandRequest
from bot.core import Core
from bot.jobs import JobStatus
from bot.poller import Poller
from bot.ports import ThreadRef
from bot.providers.base import TaskStatus
from bot.tasks import TaskSupervisor
from storage import SQLiteStore
from tests.conftest import make_settings
from tests.helpers import FakeChatPort, FakeClock, ScriptedProvider

S = JobStatus


class HeldProvider(ScriptedProvider):
    """A scripted provider whose submit and status calls can be held on the wire, with a cancel call recorded.

    Named "replicate" so the refund rule treats it as a provider with a cancel call.
    """

    name = "replicate"

    def __init__(self) -> None:
        super().__init__([TaskStatus.PREPARING, TaskStatus.PROCESSING, TaskStatus.PROCESSING, TaskStatus.SUCCESS])
        self.hold_submit: asyncio.Event | None = None
        self.hold_status: asyncio.Event | None = None
        self.on_wire = asyncio.Event()
        self.cancelled: list[str] = []

    async def submit(self, request):
        if self.hold_submit is not None:
            self.on_wire.set()
            await self.hold_submit.wait()
        return await super().submit(request)

    async def status(self, task_id: str):
        if self.hold_status is not None:
            self.on_wire.set()
            await self.hold_status.wait()
        return await super().status(task_id)

    async def cancel(self, task_id: str) -> bool:
        self.cancelled.append(task_id)
        return True


class Process:
    """One bot process: its own store connection, core and poller, on the shared database."""

    def __init__(self, settings, store, provider, port, clock) -> None:
        self.store = store
        self.supervisor = TaskSupervisor()
        self.poller = Poller(settings, store, provider, {"fake": port}, self.supervisor, clock=clock)
        self.core = Core(settings, store, provider_name=provider.name, ports={"fake": port}, clock=clock)

    async def step(self) -> None:
        await self.poller.tick()
        await self.poller.drain()


@pytest.fixture
async def world(tmp_path: Path, open_test_store):
    clock = FakeClock()
    settings = make_settings(tmp_path, poll_first_seconds=5, poll_max_seconds=20)
    provider, port = HeldProvider(), FakeChatPort()
    a = Process(settings, await open_test_store(clock), provider, port, clock)
    b = Process(settings, await open_test_store(clock), provider, port, clock)
    yield a, b, provider, port, clock
    await a.supervisor.aclose()
    await b.supervisor.aclose()


def ask(user: str = "u1") -> CommandRequest:
    return CommandRequest("fake", "w", "c", user, "video", prompt="a paper boat",
                          thread=ThreadRef("fake", "w", "c", "th1"))


def cancel(job_id: str, user: str = "u1", *, admin: bool = False) -> CommandRequest:
    return CommandRequest("fake", "w", "c", user, "cancel", job_id=job_id, is_admin=admin)


async def kinds(store, job_id: str) -> list[str]:
    return [kind for kind, _, _ in await store.ledger(job_id)]


async def test_cancel_before_submission_is_ended_at_once_and_fully_refunded(world) -> None:
    a, b, provider, port, _ = world
    job_id = (await a.core.handle(ask())).job_id
    held = await a.store.usage("fake", "w", "u1", day=(await a.store.get_job(job_id)).day, user_limit=50,
                               workspace_limit=500)
    cost = (await a.store.get_job(job_id)).cost
    assert held.user_held == cost > 0
    reply = await b.core.handle(cancel(job_id))  # another process takes the command
    assert reply.ok and reply.text == messages.CANCEL_DONE_REFUNDED.format(job=job_id, cost=cost)
    job = await a.store.get_job(job_id)
    assert job.status is S.CANCELLED and job.cancel_refunded is True and job.cancel_requested_by == "u1"
    assert await kinds(a.store, job_id) == ["reserve", "release"]  # the hold released, nothing captured
    after = await a.store.usage("fake", "w", "u1", day=job.day, user_limit=50, workspace_limit=500)
    assert (after.user_used, after.user_held) == (0, 0)
    await a.step()
    await b.step()
    assert provider.submits == []  # never sent
    assert messages.JOB_CANCELLED_REFUNDED.format(cost=cost) in port.of_kind("notify")
    again = await a.core.handle(cancel(job_id))
    assert again.text == messages.CANCEL_ALREADY.format(job=job_id)
    assert await kinds(a.store, job_id) == ["reserve", "release"]  # no refund twice


async def test_another_member_is_refused_and_an_admin_may_cancel(world) -> None:
    a, _, _, _, _ = world
    job_id = (await a.core.handle(ask())).job_id
    refused = await a.core.handle(cancel(job_id, "u2"))
    assert not refused.ok and refused.text == messages.CANCEL_NOT_YOURS
    assert (await a.store.get_job(job_id)).status is S.QUEUED
    assert (await a.store.get_job(job_id)).cancel_requested_at is None
    unknown = await a.core.handle(cancel("feedfacecafe", "u1"))
    assert not unknown.ok and unknown.text == messages.JOB_NOT_FOUND.format(job="feedfacecafe")
    which = await a.core.handle(CommandRequest("fake", "w", "c", "u1", "cancel"))
    assert not which.ok and which.text == messages.CANCEL_WHICH
    allowed = await a.core.handle(cancel(job_id, "admin1", admin=True))
    assert allowed.ok
    job = await a.store.get_job(job_id)
    assert job.status is S.CANCELLED and job.cancel_requested_by == "admin1"
    assert await kinds(a.store, job_id) == ["reserve", "release"]


async def test_a_cancel_racing_another_process_poll_is_ended_by_that_process(world) -> None:
    a, b, provider, port, clock = world
    job_id = (await a.core.handle(ask())).job_id
    await a.step()  # submitted by process A
    clock.advance(30)
    await a.step()  # polled once: PREPARING (Replicate's `starting`)
    clock.advance(30)
    await a.step()  # PROCESSING: the model is running
    assert (await a.store.get_job(job_id)).status is S.PROCESSING
    clock.advance(30)
    provider.hold_status = asyncio.Event()
    await a.poller.tick()  # A holds the lease and its poll is on the wire...
    await provider.on_wire.wait()
    reply = await b.core.handle(cancel(job_id))  # ...when B takes the cancel
    assert reply.ok and reply.text == messages.CANCEL_ASKED.format(job=job_id)
    assert (await b.store.get_job(job_id)).status is S.PROCESSING  # B does not end a job A holds
    await b.step()  # B cannot take the step A holds
    provider.hold_status.set()
    await a.poller.drain()  # A's poll lands after the request, rescheduling the job's next poll for later...
    assert (await a.store.get_job(job_id)).status is S.PROCESSING
    await b.step()  # ...yet the job is due at once: whichever process takes the step ends it (here B)
    job = await a.store.get_job(job_id)
    assert job.status is S.CANCELLED and provider.cancelled == [job.task_id]  # the provider's cancel, once
    # Running when cancelled: charged (the rule for Replicate), captured exactly once and never refunded.
    assert job.cancel_refunded is False and await kinds(a.store, job_id) == ["reserve", "capture"]
    provider.hold_status = None
    for _ in range(5):
        clock.advance(30)
        await a.step()
        await b.step()
    assert port.of_kind("video") == []  # no video is posted later
    assert await kinds(a.store, job_id) == ["reserve", "capture"]


async def test_a_submission_in_flight_when_cancel_arrives_is_cancelled_at_the_provider(world) -> None:
    a, b, provider, _, _ = world
    job_id = (await a.core.handle(ask())).job_id
    provider.hold_submit = asyncio.Event()
    await a.poller.tick()
    await provider.on_wire.wait()
    assert (await a.store.get_job(job_id)).status is S.SUBMITTING
    reply = await b.core.handle(cancel(job_id))
    assert reply.text == messages.CANCEL_ASKED.format(job=job_id)
    provider.hold_submit.set()
    await a.poller.drain()
    assert (await a.store.get_job(job_id)).status is S.SUBMITTED  # the task id is recorded first...
    await a.step()
    job = await a.store.get_job(job_id)
    # ...and cancelled at the provider on the next tick: nothing is left running there.
    assert job.status is S.CANCELLED and job.task_id == "t1" and provider.cancelled == ["t1"]
    assert job.cancel_refunded is True and await kinds(a.store, job_id) == ["reserve", "release"]
    assert provider.polls == 0


async def test_a_job_being_posted_cannot_be_cancelled(world) -> None:
    a, _, _, _, _ = world
    job_id = (await a.core.handle(ask())).job_id
    job = await a.store.get_job(job_id)
    for status in (S.SUBMITTING, S.SUBMITTED, S.SUCCEEDED, S.DELIVERING):
        job = await a.store.transition(job, status)
    reply = await a.core.handle(cancel(job_id))
    assert not reply.ok and reply.text == messages.CANCEL_TOO_LATE.format(job=job_id)
    assert (await a.store.get_job(job_id)).cancel_requested_at is None


async def test_a_finished_video_not_yet_posted_is_cancelled_charged(world) -> None:
    a, _, _, port, _ = world
    job_id = (await a.core.handle(ask())).job_id
    job = await a.store.get_job(job_id)
    for status in (S.SUBMITTING, S.SUBMITTED, S.SUCCEEDED):
        job = await a.store.transition(job, status)
    reply = await a.core.handle(cancel(job_id))
    assert reply.text == messages.CANCEL_DONE_CHARGED.format(job=job_id, cost=job.cost)
    assert await kinds(a.store, job_id) == ["reserve", "capture"]
    await a.step()
    assert port.of_kind("video") == []


async def test_the_request_is_recorded_once_by_compare_and_set(world) -> None:
    a, b, _, _, clock = world
    job_id = (await a.core.handle(ask())).job_id
    job = await a.store.transition(await a.store.get_job(job_id), S.SUBMITTING)
    first, second = await asyncio.gather(a.store.request_cancel(job_id, "u1", clock()),
                                         b.store.request_cancel(job_id, "admin", clock()))
    assert sorted([first, second]) == [False, True]
    job = await a.store.transition(job, S.FAILED)
    assert not await a.store.request_cancel("nope", "u1", clock())


def test_the_refund_rule_per_provider() -> None:
    assert refunded_on_cancel("minimax", S.QUEUED) and refunded_on_cancel("minimax", S.SUBMITTING)
    assert not refunded_on_cancel("minimax", S.SUBMITTED) and not refunded_on_cancel("cloudflare", S.PROCESSING)
    assert refunded_on_cancel("replicate", S.PREPARING, cancelled_there=True)
    assert not refunded_on_cancel("replicate", S.PREPARING, cancelled_there=False)
    assert not refunded_on_cancel("replicate", S.PROCESSING, cancelled_there=True)
    assert refunded_on_cancel("fal", S.QUEUEING, cancelled_there=True)
    assert not refunded_on_cancel("fal", S.SUCCEEDED, cancelled_there=True)
    assert refunded_on_cancel("local", S.PROCESSING)


async def test_console_cancel_through_the_terminal_chat(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    store = await SQLiteStore.open(settings.database_path)
    core = Core(settings, store, provider_name="local", ports={})

    class Typed:
        """The lines a member types; the second names the job the first one made, as its status line shows."""

        def __init__(self) -> None:
            self.said = 0

        def readline(self) -> str:
            self.said += 1
            if self.said == 1:
                return "/video a paper boat --duration 6\n"
            if self.said == 2:
                with sqlite3.connect(settings.database_path) as db:
                    (job_id,) = db.execute("SELECT id FROM jobs").fetchone()
                return f"/cancel {job_id}\n"
            return ""

    out = io.StringIO()
    try:
        (job_id,) = await chat(core, Typed(), out, user="me", prompt=False, locale="en")
        job = await store.get_job(job_id)
        assert job.status is S.CANCELLED and await kinds(store, job_id) == ["reserve", "release"]
        assert messages.CANCEL_DONE_REFUNDED.format(job=job_id, cost=job.cost) in out.getvalue()
    finally:
        await store.close()
