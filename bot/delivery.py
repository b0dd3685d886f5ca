"""Fetch a finished video to MEDIA_DIR, streaming, and post it exactly once."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from bot import messages
from bot.jobs import Job, JobStatus
from bot.metrics import Metrics
from bot.notices import Notices, failure_reason
from bot.ports import ChatPort, DeliveryFailed, MessageRef
from bot.providers.base import Fault, Provider, ProviderError, TaskState, TaskStatus
from bot.store import Store
from bot.views import thread_of, video_post

log = logging.getLogger(__name__)

S = JobStatus
MAX_VIDEO_BYTES = 2 * 1024**3
RETRY_FIRST_SECONDS = 5.0  # the first delivery retry waits this long, doubling each time
RETRY_MAX_SECONDS = 300.0


class Delivery:
    """Download and post one finished job; the poller runs it for SUCCEEDED and DELIVERING jobs."""

    def __init__(
        self,
        store: Store,
        provider: Provider,
        ports: Mapping[str, ChatPort],
        notices: Notices,
        *,
        media_dir: Path,
        attempts: int,
        metrics: Metrics,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.provider = provider
        self.ports = ports
        self.notices = notices
        self.media_dir = media_dir
        self.attempts = attempts
        self.metrics = metrics
        self.clock = clock

    async def run(self, job: Job) -> None:
        """Take a finished job to DELIVERED, or schedule a retry, or fail it after too many tries."""
        port = self.ports.get(job.platform)
        if port is None:
            return
        store = self.store
        if job.status is S.DELIVERING:
            # Found mid-post (a restart, or a retry after a failed post): the platform may already show the video.
            ref = await _safely(port.find_video(thread_of(job), job.id))
            if ref is not None:
                await self._delivered(job, ref)
                return
            job = await store.transition(job, S.SUCCEEDED, detail="post not found; posting again")
        try:
            path, size = await self._ensure_file(job)
        except ProviderError as exc:
            await self._retry_or_fail(job, exc, permanent=exc.fault is not Fault.RETRY, reason=None)
            return
        if job.video_path != str(path):
            job = await store.update(job, video_path=str(path), video_bytes=size)
        job = await store.transition(job, S.DELIVERING)
        await self.notices.show(job, force=True)
        try:
            ref = await port.post_video(thread_of(job), video_post(job, str(path), size))
        except Exception as exc:
            permanent = isinstance(exc, DeliveryFailed) and exc.permanent
            self.metrics.delivery_failures.inc()
            log.warning("job %s: posting the video failed: %s", job.id, exc if permanent else type(exc).__name__)
            await self._retry_or_fail(job, exc, permanent=permanent, reason=messages.DELIVERY_FAILED)
            return
        await self._delivered(job, ref)

    async def _delivered(self, job: Job, ref: MessageRef) -> None:
        job = await self.store.transition(job, S.DELIVERED, delivered_ref=f"{ref.channel_id}/{ref.message_id}")
        log.info("job %s delivered as %s/%s", job.id, ref.channel_id, ref.message_id)
        await self.notices.show(job, force=True)

    async def _retry_or_fail(self, job: Job, exc: Exception, *, permanent: bool, reason: str | None) -> None:
        attempts = job.attempts + 1
        if permanent or attempts >= self.attempts:
            text = reason or failure_reason(exc if isinstance(exc, ProviderError) else None)
            await self.notices.fail(job, text, attempts=attempts)
            return
        delay = getattr(exc, "retry_after", None) or min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2**job.attempts)
        # A DELIVERING job stays so: a post that timed out or got a 5xx may still have landed,
        # and run() looks for it before posting again.
        await self.store.update(job, attempts=attempts, next_poll_at=self.clock() + delay)

    async def _ensure_file(self, job: Job) -> tuple[Path, int]:
        if job.video_path and Path(job.video_path).is_file():
            return Path(job.video_path), Path(job.video_path).stat().st_size
        final = self.media_dir / f"{job.id}.mp4"
        if final.is_file():
            return final, final.stat().st_size
        if job.provider != self.provider.name:
            raise ProviderError(Fault.OPERATOR, "made by a video service the bot no longer uses")
        await asyncio.to_thread(self.media_dir.mkdir, parents=True, exist_ok=True)
        part = final.with_suffix(".mp4.part")
        state = TaskState(job.task_id or "", TaskStatus.SUCCESS, video_url=job.video_url)
        size = 0
        handle = await asyncio.to_thread(open, part, "wb")
        try:
            async for chunk in self.provider.download(state):
                size += len(chunk)
                if size > MAX_VIDEO_BYTES:
                    raise ProviderError(Fault.OPERATOR, "the video is larger than the bot accepts")
                await asyncio.to_thread(handle.write, chunk)
            await asyncio.to_thread(handle.flush)
            await asyncio.to_thread(os.fsync, handle.fileno())
        except ProviderError:
            raise
        except Exception as exc:
            raise ProviderError(Fault.RETRY, f"download interrupted: {type(exc).__name__}") from exc
        finally:
            await asyncio.to_thread(handle.close)
        await asyncio.to_thread(os.replace, part, final)
        log.info("job %s: video saved (%d bytes)", job.id, size)
        return final, size


async def _safely(awaitable: object) -> MessageRef | None:
    try:
        return await awaitable  # type: ignore[misc]
    except Exception as exc:
        log.warning("could not look for an earlier post: %s", type(exc).__name__)
        return None
