"""Stopping mid-delivery: uploads under way get a grace period; whatever is cut off resumes once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.cli.runtime import open_runtime
from bot.commands import CommandRequest
from bot.jobs import JobStatus
from bot.ports import MessageRef, ThreadRef, VideoPost
from tests.conftest import make_settings
from tests.helpers import FakeChatPort


class SlowPort(FakeChatPort):
    """A platform whose uploads take `seconds`; `started` is set when one begins."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.started = asyncio.Event()

    async def post_video(self, to: ThreadRef, video: VideoPost) -> MessageRef:
        self.started.set()
        await asyncio.sleep(self.seconds)
        return await super().post_video(to, video)


async def run_until(rt, job_id: str, statuses: set[JobStatus], seconds: float = 20) -> JobStatus:
    for _ in range(int(seconds / 0.05)):
        status = (await rt.store.get_job(job_id)).status
        if status in statuses:
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"job still {status}")


async def test_upload_under_way_finishes_within_the_grace_period(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, local_delay_seconds=0.2, poll_first_seconds=0.1, shutdown_grace_seconds=5)
    port = SlowPort(0.5)
    async with open_runtime(settings, {"fake": port}) as rt:
        job = (await rt.core.handle(CommandRequest("fake", "w", "c", "u1", "video", prompt="rain"))).job_id
        await asyncio.wait_for(port.started.wait(), 20)
        await rt.poller.stop(settings.shutdown_grace_seconds)  # what SIGTERM does first
        assert (await rt.store.get_job(job)).status is JobStatus.DELIVERED
    assert len(port.of_kind("video")) == 1


async def test_upload_cut_off_resumes_after_restart_and_posts_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, local_delay_seconds=0.2, poll_first_seconds=0.1, shutdown_grace_seconds=0.1)
    port = SlowPort(30)
    async with open_runtime(settings, {"fake": port}) as rt:
        job = (await rt.core.handle(CommandRequest("fake", "w", "c", "u1", "video", prompt="rain"))).job_id
        await asyncio.wait_for(port.started.wait(), 20)
    # Cut off mid-upload: the job is left DELIVERING, nothing was posted.
    restarted = FakeChatPort()
    async with open_runtime(settings, {"fake": restarted}) as rt:
        assert (await rt.store.get_job(job)).status is JobStatus.DELIVERING
        assert await run_until(rt, job, {JobStatus.DELIVERED}) is JobStatus.DELIVERED
        assert [k for k, _, _ in await rt.store.ledger(job)] == ["reserve", "capture"]
    assert len(port.of_kind("video")) == 0 and len(restarted.of_kind("video")) == 1
