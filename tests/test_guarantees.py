"""Guarantees no other test pinned down (issue 14): each test here fails when its one line is broken."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot import messages
from bot.commands import CommandRequest
from bot.contract import VideoRequest
from bot.core import Core
from bot.days import utc_day
from bot.jobs import TERMINAL, IllegalTransition, Job, JobStatus, allowed, check_transition
from bot.ports import AttachmentRef
from bot.provider_steps import MAX_RETRIES
from bot.providers.base import Fault, ProviderError, TaskStatus
from bot.providers.cloudflare import CloudflareProvider
from bot.providers.minimax import MiniMaxProvider
from bot.tasks import TaskSupervisor
from storage import SQLiteStore
from tests.conftest import make_settings
from tests.fakes.cloudflare import FakeCloudflare
from tests.fakes.minimax import FakeMiniMax
from tests.helpers import FakeChatPort, FakeClock, ScriptedProvider
from tests.provider_rig import ProviderRig
from tests.test_core import png
from tests.test_poller import OPEN, Rig
from tests.test_store import DAY, make_job

S = JobStatus


@pytest.fixture(autouse=True)
async def close_poller_rigs():
    yield
    while OPEN:
        await OPEN.pop().close()


# -- 1. the database's limit check counts the new job's cost (both backends) --------------------------------------

async def test_two_credit_jobs_racing_never_overspend_the_user_limit(open_test_store) -> None:
    a, b = await open_test_store(), await open_test_store()
    results = await asyncio.gather(*((a if n % 2 else b).create_job(make_job(n, cost=2), day=DAY, user_limit=3,
                                                                     workspace_limit=100) for n in range(10)))
    assert sum(r.ok for r in results) == 1  # 2 + 2 > 3: the second one never fits
    assert {(r.refused_by, r.limit, r.used) for r in results if not r.ok} == {("user", 3, 2)}
    usage = await a.usage("fake", "w1", "u1", day=DAY, user_limit=3, workspace_limit=100)
    assert usage.user_used == 2 and usage.user_left == 1
    assert (await b.create_job(make_job(20, cost=1), day=DAY, user_limit=3, workspace_limit=100)).ok  # exactly 3
    refused = await a.create_job(make_job(21, cost=1), day=DAY, user_limit=3, workspace_limit=100)
    assert (refused.ok, refused.refused_by) == (False, "user")


async def test_two_credit_jobs_racing_never_overspend_the_workspace_pool(open_test_store) -> None:
    a, b = await open_test_store(), await open_test_store()
    jobs = [make_job(n, user=f"user{n}", cost=2) for n in range(10)]
    results = await asyncio.gather(*((a if n % 2 else b).create_job(j, day=DAY, user_limit=10, workspace_limit=5)
                                     for n, j in enumerate(jobs)))
    assert sum(r.ok for r in results) == 2  # 4 of 5 used; a third would make 6
    assert {r.refused_by for r in results if not r.ok} == {"workspace"}
    usage = await a.usage("fake", "w1", "user0", day=DAY, user_limit=10, workspace_limit=5)
    assert usage.workspace_used == 4 and usage.workspace_left == 1


# -- 2. an ended job stays ended ------------------------------------------------------------------------------------

@pytest.mark.parametrize("end", sorted(TERMINAL))
def test_the_table_has_no_way_back_from_an_end(end: JobStatus) -> None:
    for new in JobStatus:
        assert not allowed(end, new), f"{end} -> {new}"
        with pytest.raises(IllegalTransition):
            check_transition(end, new)


@pytest.mark.parametrize("end", [S.FAILED, S.EXPIRED])
async def test_the_store_never_puts_a_failed_or_expired_job_back_in_line(open_test_store, end: JobStatus) -> None:
    store = await open_test_store()
    job = make_job(1, cost=2)
    assert (await store.create_job(job, day=DAY, user_limit=5, workspace_limit=5)).ok
    ended = await store.transition(job, end)
    for stale in (ended, job):  # the ended job itself, and a copy that still thinks it is waiting
        for new in (S.QUEUED, S.SUBMITTING):
            with pytest.raises(IllegalTransition):
                await store.transition(stale, new)
    assert (await store.get_job(job.id)).status is end
    assert [e[0] for e in await store.events(job.id)] == ["queued", end.value]
    assert await store.ledger(job.id) == [("reserve", 2, DAY), ("release", 2, DAY)]
    assert await store.queued_line() == []


# -- 3. prompt_optimizer=false reaches the provider ----------------------------------------------------------------

async def test_prompt_optimizer_off_reaches_minimax(tmp_path: Path, sample_mp4: bytes) -> None:
    fake = await FakeMiniMax(video=sample_mp4).start()
    provider = MiniMaxProvider(fake.api_key, fake.base_url, timeout=2.0)
    rig = await ProviderRig(tmp_path, provider).open()
    try:
        rig.port.files["att://1"] = png(640, 480)
        off = await rig.ask("plain words, please", prompt_optimizer=False)
        on = await rig.ask("polish this", user="u2")
        image = await rig.ask("an image, as it is", user="u3", prompt_optimizer=False,
                              attachments=(AttachmentRef("att://1", "a.png"),))
        assert await rig.until_done(off, on, image) == [S.DELIVERED] * 3
        sent = {s["prompt"]: s["prompt_optimizer"] for s in fake.submissions}
        assert sent == {"plain words, please": False, "polish this": True, "an image, as it is": False}
    finally:
        await rig.close()
        await provider.aclose()
        await fake.stop()


async def test_prompt_optimizer_off_reaches_cloudflare(tmp_path: Path, sample_mp4: bytes) -> None:
    fake = await FakeCloudflare(video=sample_mp4, delay=0.05).start()
    supervisor = TaskSupervisor()
    provider = CloudflareProvider(fake.account_id, fake.api_token, fake.base_url, supervisor=supervisor, timeout=5.0)
    rig = await ProviderRig(tmp_path, provider).open()
    try:
        off = await rig.ask("plain words, please", prompt_optimizer=False)
        for _ in range(40):
            await rig.step()
            await asyncio.sleep(0.05)  # the blocking ai/run call runs in real time
            if (await rig.store.get_job(off)).status.terminal:
                break
        assert (await rig.store.get_job(off)).status is S.DELIVERED
        assert [run["input"]["prompt_optimizer"] for run in fake.runs] == [False]
    finally:
        await rig.close()
        await provider.aclose()
        await supervisor.aclose()
        await fake.stop()


# -- 8. what MiniMax refuses ends the job as the member's bad input, refunded, never retried ----------------------

@pytest.mark.parametrize("request_", [
    VideoRequest(prompt="x", duration=10, resolution="1080P"),  # 1080P is 6 s only
    VideoRequest(prompt="x", resolution="768p"),
    VideoRequest(prompt="x", duration=8),
    VideoRequest(prompt="x" * 2001),
], ids=["1080P-10s", "lowercase-resolution", "8s", "long-prompt"])
async def test_a_body_minimax_refuses_fails_the_job_as_bad_input(tmp_path: Path, request_: VideoRequest) -> None:
    fake = await FakeMiniMax().start()
    provider = MiniMaxProvider(fake.api_key, fake.base_url, timeout=2.0)
    rig = await ProviderRig(tmp_path, provider).open()
    try:
        job = Job(id="bad1", platform="fake", workspace_id="w", channel_id="c", user_id="u1", request=request_,
                  cost=2, provider="minimax", thread_id="th", status_message_id="s1", created_at=rig.clock(),
                  updated_at=rig.clock(), next_poll_at=rig.clock())
        assert (await rig.store.create_job(job, day=utc_day(rig.clock()), user_limit=9, workspace_limit=9)).ok
        assert await rig.until_done(job.id) == [S.FAILED]
        assert (await rig.store.get_job(job.id)).error == messages.PROVIDER_BAD_INPUT
        assert await rig.ledger(job.id) == ["reserve", "release"]
        assert rig.port.of_kind("notify") == [messages.JOB_FAILED_REFUNDED.format(reason=messages.PROVIDER_BAD_INPUT,
                                                                                  cost=2)]
        assert fake.submissions == [] and [k for k, _ in fake.requests] == ["create"]  # refused once, not retried
    finally:
        await rig.close()
        await provider.aclose()
        await fake.stop()


# -- 4. nothing waits forever: queued jobs expire, transient errors are given up on ------------------------------

async def stored(rig: Rig, job_id: str, platform: str, user: str, at: float) -> Job:
    job = Job(id=job_id, platform=platform, workspace_id="w", channel_id="c", user_id=user,
              request=VideoRequest.build(job_id), cost=1, provider="scripted", status_message_id=f"s-{job_id}",
              created_at=at, updated_at=at, next_poll_at=at)
    assert (await rig.store.create_job(job, day=utc_day(at), user_limit=9, workspace_limit=9)).ok
    return job


async def test_a_job_waiting_in_line_expires_refunded_and_is_never_sent(tmp_path: Path) -> None:
    provider = ScriptedProvider([TaskStatus.PROCESSING])
    rig = await Rig(tmp_path, provider, job_timeout_minutes=10, provider_max_in_flight=1).open()
    waiting = await rig.add(cost=2)
    await stored(rig, "elsewhere", "gone", "u3", rig.clock())  # a platform no process here serves
    # The provider's only slot is held by a later job on another platform, which this process never polls.
    busy = await stored(rig, "busy", "other", "u2", rig.clock() + 300)
    busy = await rig.store.transition(busy, S.SUBMITTING)
    await rig.store.transition(busy, S.SUBMITTED, task_id="t-other")
    for _ in range(8):
        await rig.step(60)
    assert await rig.status(waiting) is S.QUEUED  # 8 minutes: still within the limit
    await rig.run(steps=4, seconds=60)
    assert await rig.status(waiting) is S.EXPIRED and provider.submits == []
    assert await rig.ledger_kinds(waiting) == ["reserve", "release"]
    assert rig.port.of_kind("notify") == [messages.JOB_EXPIRED_REFUNDED.format(minutes=10, cost=2)]
    assert (await rig.store.get_job("elsewhere")).status is S.EXPIRED  # nobody can deliver it, yet it ends
    assert (await rig.store.get_job("busy")).status is S.SUBMITTED  # its own limit is not up yet


async def test_the_store_offers_a_waiting_job_once_its_time_is_up(open_test_store) -> None:
    store = await open_test_store()
    old, young = make_job(1), make_job(2)  # created at 1.0 and 2.0
    gone = Job(**{**old.__dict__, "id": "gone", "platform": "gone"})  # a platform no process serves
    for job in (old, young, gone):
        assert (await store.create_job(job, day=DAY, user_limit=9, workspace_limit=9)).ok
    assert await store.due_jobs(100.0, ["fake"], expire_before=0.5) == []  # waiting jobs come from the line
    due = await store.due_jobs(100.0, ["fake"], expire_before=1.5)
    assert sorted(j.id for j in due) == ["gone", "job1"]  # over the limit: offered to expire, whatever platform


@pytest.mark.parametrize("where", ["submit", "poll"])
async def test_transient_errors_are_given_up_after_the_limit(tmp_path: Path, where: str) -> None:
    busy = ProviderError(Fault.RETRY, "busy", code=1013)
    provider = ScriptedProvider([busy] if where == "poll" else None)
    if where == "submit":
        provider.submit_errors.extend([busy] * (MAX_RETRIES + 5))
    rig = await Rig(tmp_path, provider, job_timeout_minutes=100_000).open()
    job = await rig.add()
    await rig.run(steps=3 * MAX_RETRIES, seconds=400)
    final = await rig.store.get_job(job.id)
    assert (final.status, final.error) == (S.FAILED, messages.PROVIDER_GAVE_UP)
    tries = MAX_RETRIES + 5 - len(provider.submit_errors) if where == "submit" else provider.polls
    assert tries == MAX_RETRIES
    assert await rig.ledger_kinds(job) == ["reserve", "release"]
    assert rig.port.of_kind("notify") == [messages.JOB_FAILED_REFUNDED.format(reason=messages.PROVIDER_GAVE_UP,
                                                                              cost=1)]


# -- 5. Regenerate goes through the same doors as a new video -------------------------------------------------------

@pytest.fixture
async def core(tmp_path: Path):
    settings, clock = make_settings(tmp_path), FakeClock()
    store = await SQLiteStore.open(settings.database_path, clock=clock)
    port = FakeChatPort()
    port.files["att://frame"] = png(640, 480)
    yield Core(settings, store, provider_name="scripted", ports={"fake": port}, clock=clock)
    await store.close()


def ask(command: str, channel: str = "c", **kw) -> CommandRequest:
    return CommandRequest(platform="fake", workspace_id="w", channel_id=channel, user_id="u1", command=command, **kw)


async def regenerate_refused(core: Core, job_id: str, text: str, channel: str = "c") -> None:
    reply = await core.handle(ask("regenerate", channel=channel, job_id=job_id))
    assert (reply.ok, reply.ephemeral, reply.text) == (False, True, text)
    assert [j.id for j in await core.store.active_jobs()] == [job_id]  # nothing new, nothing charged
    usage = await core.answers.usage("fake", "w", "u1")
    assert (usage.user_used, usage.user_held) == (1, 1)


async def test_regenerate_refused_to_a_blocked_member(core: Core) -> None:
    first = (await core.handle(ask("video", prompt="waves"))).job_id
    await core.store.set_blocked("fake", "w", "u1", True, set_by="admin")
    await regenerate_refused(core, first, messages.USER_BLOCKED)


async def test_regenerate_refused_outside_the_allowed_channels(core: Core) -> None:
    first = (await core.handle(ask("video", prompt="waves"))).job_id
    await core.store.set_channel_allowed("fake", "w", "c-video", True, set_by="admin")
    text = messages.CHANNEL_NOT_ALLOWED.format(channels=messages.channel_ref("c-video"))
    await regenerate_refused(core, first, text)
    assert (await core.handle(ask("regenerate", channel="c-video", job_id=first))).ok  # where it is allowed


async def test_regenerate_refused_when_the_first_frame_is_gone(core: Core) -> None:
    first = (await core.handle(ask("video", prompt="drift", attachments=(AttachmentRef("att://frame"),)))).job_id
    frame = Path((await core.store.get_job(first)).request.first_frame.path)
    frame.unlink()
    await core.store.drop_frame(frame.name)  # pruned everywhere
    await regenerate_refused(core, first, messages.REGENERATE_IMAGE_GONE)
