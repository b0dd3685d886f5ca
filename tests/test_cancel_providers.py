"""Cancel after submission with the real providers against their local fakes: the provider's cancel, and the ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import messages
from bot.commands import CommandRequest
from bot.jobs import JobStatus
from bot.providers.fal import FalProvider
from bot.providers.minimax import MiniMaxProvider
from bot.providers.replicate import ReplicateProvider
from tests.fakes.fal import FakeFal
from tests.fakes.minimax import FakeMiniMax
from tests.fakes.replicate import FakeReplicate
from tests.provider_rig import ProviderRig

S = JobStatus


async def cancel(rig: ProviderRig, job_id: str, user: str = "u1"):
    return await rig.core.handle(CommandRequest("fake", "w", "c", user, "cancel", job_id=job_id))


async def ends_cancelled(rig: ProviderRig, job_id: str):
    """Steps on until the job ends, then a few more: nothing may be downloaded or posted afterwards."""
    assert await rig.until_done(job_id) == [S.CANCELLED]
    for _ in range(5):
        await rig.step(30)
    assert rig.port.of_kind("video") == []
    return await rig.store.get_job(job_id)


@pytest.fixture
async def replicate(tmp_path: Path, sample_mp4: bytes):
    fake = await FakeReplicate(video=sample_mp4).start()
    provider = ReplicateProvider(fake.token, fake.base_url, timeout=2.0)
    rig = await ProviderRig(tmp_path, provider).open()
    yield rig, fake
    await rig.close()
    await provider.aclose()
    await fake.stop()


async def test_replicate_cancelled_while_starting_is_cancelled_there_and_refunded(replicate) -> None:
    rig, fake = replicate
    job_id = await rig.ask()
    await rig.step()  # submitted
    await rig.step()  # polled: `starting`
    job = await rig.store.get_job(job_id)
    assert job.status is S.PREPARING
    reply = await cancel(rig, job_id)
    assert reply.ok and reply.text == messages.CANCEL_ASKED.format(job=job_id)
    job = await ends_cancelled(rig, job_id)
    assert ("cancel", f"/v1/predictions/{job.task_id}/cancel") in fake.requests
    assert fake.predictions[job.task_id].status == "canceled"
    assert job.cancel_refunded is True and await rig.ledger(job_id) == ["reserve", "release"]
    assert messages.JOB_CANCELLED_REFUNDED.format(cost=job.cost) in rig.port.of_kind("notify")


async def test_replicate_cancelled_while_processing_is_cancelled_there_and_charged(replicate) -> None:
    rig, fake = replicate
    job_id = await rig.ask()
    for _ in range(3):
        await rig.step()
    job = await rig.store.get_job(job_id)
    assert job.status is S.PROCESSING
    await cancel(rig, job_id)
    job = await ends_cancelled(rig, job_id)
    assert [kind for kind, _ in fake.requests].count("cancel") == 1
    # The model ran: Replicate bills that time, so the credits are captured, once.
    assert job.cancel_refunded is False and await rig.ledger(job_id) == ["reserve", "capture"]
    assert messages.JOB_CANCELLED_CHARGED.format(cost=job.cost) in rig.port.of_kind("notify")


async def test_minimax_has_no_cancel_call_so_a_submitted_job_ends_charged(tmp_path: Path, sample_mp4: bytes) -> None:
    fake = await FakeMiniMax(video=sample_mp4).start()
    provider = MiniMaxProvider(fake.api_key, fake.base_url, timeout=2.0)
    rig = await ProviderRig(tmp_path, provider).open()
    try:
        job_id = await rig.ask()
        await rig.step()  # submitted: MiniMax has the task and will make (and bill) it
        assert (await rig.store.get_job(job_id)).status is S.SUBMITTED
        reply = await cancel(rig, job_id)
        assert reply.text == messages.CANCEL_ASKED.format(job=job_id)
        job = await ends_cancelled(rig, job_id)
        assert job.cancel_refunded is False and await rig.ledger(job_id) == ["reserve", "capture"]
        # Ended at the next poll; the finished task is never fetched or downloaded.
        assert not any(kind in ("retrieve", "download") for kind, _ in fake.requests)
    finally:
        await rig.close()
        await provider.aclose()
        await fake.stop()


async def test_minimax_cancelled_before_submission_is_refunded_and_never_sent(tmp_path: Path,
                                                                             sample_mp4: bytes) -> None:
    fake = await FakeMiniMax(video=sample_mp4).start()
    provider = MiniMaxProvider(fake.api_key, fake.base_url, timeout=2.0)
    rig = await ProviderRig(tmp_path, provider).open()
    try:
        job_id = await rig.ask()
        reply = await cancel(rig, job_id)
        job = await rig.store.get_job(job_id)
        assert reply.text == messages.CANCEL_DONE_REFUNDED.format(job=job_id, cost=job.cost)
        await ends_cancelled(rig, job_id)
        assert fake.requests == [] and await rig.ledger(job_id) == ["reserve", "release"]
    finally:
        await rig.close()
        await provider.aclose()
        await fake.stop()


async def test_fal_cancelled_in_its_queue_is_refunded(tmp_path: Path, sample_mp4: bytes) -> None:
    fake = await FakeFal(video=sample_mp4, queued_polls=3).start()
    rig = await ProviderRig(tmp_path, FalProvider(fake.key, fake.queue_url)).open()
    fake.clock = rig.clock
    try:
        job_id = await rig.ask()
        await rig.step()
        await rig.step()
        assert (await rig.store.get_job(job_id)).status is S.QUEUEING
        await cancel(rig, job_id)
        job = await ends_cancelled(rig, job_id)
        assert any(what == "cancel" for what, _ in fake.calls)
        assert job.cancel_refunded is True and await rig.ledger(job_id) == ["reserve", "release"]
    finally:
        await rig.close()
        await rig.provider.aclose()
        await fake.stop()
