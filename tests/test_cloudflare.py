"""The real Cloudflare provider against a local fake of Workers AI's blocking `ai/run`."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from bot import messages
from bot.jobs import JobStatus
from bot.providers.base import Fault, ProviderError
from bot.providers.cloudflare import CloudflareProvider
from bot.tasks import TaskSupervisor
from tests.fakes.cloudflare import FakeCloudflare
from tests.provider_rig import ProviderRig

D = JobStatus.DELIVERED


@pytest.fixture
async def fake(sample_mp4: bytes):
    server = await FakeCloudflare(video=sample_mp4).start()
    yield server
    await server.stop()


def provider_for(fake: FakeCloudflare, supervisor: TaskSupervisor, token: str | None = None) -> CloudflareProvider:
    return CloudflareProvider(fake.account_id, token or fake.api_token, fake.base_url, supervisor=supervisor,
                              timeout=5.0)


@pytest.fixture
async def rig(tmp_path: Path, fake: FakeCloudflare):
    supervisor = TaskSupervisor()
    provider = provider_for(fake, supervisor)
    rig = await ProviderRig(tmp_path, provider).open()
    yield rig
    await rig.close()
    await provider.aclose()
    await supervisor.aclose()


async def wait_calls(rig: ProviderRig) -> None:
    """Let the background `ai/run` calls (real time) finish between fake-clock steps."""
    import asyncio

    for _ in range(100):
        if not rig.provider._calls:
            return
        await asyncio.sleep(0.02)


async def finish(rig: ProviderRig, *jobs: str, steps: int = 40) -> list[JobStatus]:
    for _ in range(steps):
        await rig.step()
        await wait_calls(rig)
        statuses = [(await rig.store.get_job(j)).status for j in jobs]
        if all(s.terminal for s in statuses):
            return statuses
    return statuses


async def test_text_to_video_wire_format_and_delivery(rig: ProviderRig, fake: FakeCloudflare, sample_mp4) -> None:
    job = await rig.ask("Fireworks over a city skyline", duration=10)
    assert await finish(rig, job) == [D]
    assert fake.runs == [{"model": "minimax/hailuo-2.3", "input": {
        "prompt": "Fireworks over a city skyline", "duration": 10, "resolution": "768P",
        "prompt_optimizer": True, "fast_pretreatment": False}}]
    assert Path((await rig.store.get_job(job)).video_path).read_bytes() == sample_mp4
    assert await rig.ledger(job) == ["reserve", "capture"]


async def test_retryable_failures_are_sent_again(rig: ProviderRig, fake: FakeCloudflare) -> None:
    fake.fail_next(("http", 429), ("http", 502), ("html",))
    job = await rig.ask()
    assert await finish(rig, job) == [D]
    assert len(fake.runs) == 4
    assert await rig.ledger(job) == ["reserve", "capture"]


@pytest.mark.parametrize(
    ("fault", "message"),
    [(("http", 401, 10000), messages.PROVIDER_UNAVAILABLE), (("http", 402, 0), messages.PROVIDER_UNAVAILABLE),
     (("http", 400, 5006), messages.PROVIDER_BAD_INPUT), (("fail",), messages.PROVIDER_FAILED)],
)
async def test_final_failures_refund(rig: ProviderRig, fake: FakeCloudflare, fault: tuple, message: str) -> None:
    fake.fail_next(fault)
    job = await rig.ask()
    assert await finish(rig, job) == [JobStatus.FAILED]
    assert (await rig.store.get_job(job)).error == message
    assert await rig.ledger(job) == ["reserve", "release"]


async def test_call_cut_off_by_a_restart_is_resubmitted_once(tmp_path: Path, fake: FakeCloudflare) -> None:
    fake.delay = 30  # still blocking when the bot "dies"
    async with contextlib.AsyncExitStack() as stack:  # everything opened is closed, however the test ends
        rig = await opened_rig(stack, tmp_path, fake)
        once, twice = await rig.ask("first"), await rig.ask("second", user="u2")
        await rig.step(0)
        twice_job = await rig.store.get_job(twice)
        await rig.store.update(twice_job, submit_attempts=2)  # it was already resent once before
    fake.delay = 0.05
    async with contextlib.AsyncExitStack() as stack:
        again = await opened_rig(stack, tmp_path, fake, clock=rig.clock)
        assert await finish(again, once, twice) == [D, JobStatus.FAILED]
        assert (await again.store.get_job(twice)).error == messages.SUBMISSION_INTERRUPTED
        assert await again.ledger(once) == ["reserve", "capture"]
        assert await again.ledger(twice) == ["reserve", "release"]
        prompts = [run["input"]["prompt"] for run in fake.runs]
        assert prompts.count("first") == 2 and prompts.count("second") == 1


async def opened_rig(stack: contextlib.AsyncExitStack, tmp_path: Path, fake: FakeCloudflare,
                     clock=None) -> ProviderRig:
    """A rig whose supervisor, provider and store `stack` closes (in reverse order) when it unwinds."""
    supervisor = TaskSupervisor()
    stack.push_async_callback(supervisor.aclose)
    provider = provider_for(fake, supervisor)
    stack.push_async_callback(provider.aclose)
    rig = ProviderRig(tmp_path, provider)
    if clock is not None:
        rig.clock = clock
    await rig.open()
    stack.push_async_callback(rig.close)
    return rig


async def test_check(fake: FakeCloudflare) -> None:
    supervisor = TaskSupervisor()
    good, bad = provider_for(fake, supervisor), provider_for(fake, supervisor, token="wrong-token-000000")
    try:
        assert "accepted the API token" in await good.check()
        with pytest.raises(ProviderError) as err:
            await bad.check()
        assert err.value.fault is Fault.OPERATOR
    finally:
        for p in (good, bad):
            await p.aclose()
        await supervisor.aclose()
