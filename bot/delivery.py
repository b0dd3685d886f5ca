"""Fetch a finished video to MEDIA_DIR, streaming, and post it exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from bot import messages
from bot.budget import PlatformBudget, RateLimited
from bot.cancel import CancelSteps
from bot.jobs import Job, JobStatus
from bot.metrics import Metrics
from bot.notices import Notices, failure_reason
from bot.ports import ChatPort, DeliveryFailed, MessageRef
from bot.providers.base import Fault, ProviderError, TaskState, TaskStatus
from bot.providers.failover import ProviderSet
from bot.store import Store
from bot.views import thread_of, video_post

log = logging.getLogger(__name__)

S = JobStatus
MAX_VIDEO_BYTES = 2 * 1024**3
RETRY_FIRST_SECONDS = 5.0  # the first delivery retry waits this long, doubling each time
RETRY_MAX_SECONDS = 300.0
DISK_ATTEMPTS = 3  # a full disk may be freed by the operator, so a few tries; then the job fails, refunded
DISK_RETRY_SECONDS = 30.0  # the first wait after a local disk error, doubling each time
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class LocalDiskError(Exception):
    """Saving a video on this machine failed (disk full, read-only, no permission): never the provider's fault."""

    def __init__(self, path: Path, exc: OSError) -> None:
        self.path = path
        self.errno = exc.errno
        self.strerror = exc.strerror or str(exc)
        self.errname = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        super().__init__(f"{path}: {self.strerror} ({self.errname})")

    @property
    def full(self) -> bool:
        """True when the disk (or the quota, or the file size limit) ran out of room."""
        return self.errno in DISK_FULL_ERRNOS


def open_part(path: Path) -> BinaryIO:
    """Open a video's partial download for writing (tests put a full disk behind this)."""
    return open(path, "wb")


def folder_problem(folder: Path, *, create: bool = True) -> str | None:
    """Why files cannot be written in `folder` (made first when `create`), or None when they can."""
    try:
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        # A real write, not os.access: root passes access checks on a read-only mount or a full disk.
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-") as probe:
            probe.write(b"x")
            probe.flush()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


class Delivery:
    """Download and post one finished job; the poller runs it for SUCCEEDED and DELIVERING jobs."""

    def __init__(
        self,
        store: Store,
        providers: ProviderSet,
        ports: Mapping[str, ChatPort],
        notices: Notices,
        *,
        media_dir: Path,
        attempts: int,
        metrics: Metrics,
        clock: Callable[[], float],
        budget: PlatformBudget | None = None,
    ) -> None:
        self.budget = budget
        self.store = store
        self.providers = providers
        self.ports = ports
        self.notices = notices
        self.media_dir = media_dir
        self.attempts = attempts
        self.metrics = metrics
        self.clock = clock
        self.cancels = CancelSteps(store, providers, notices)

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
        elif self.cancels.asked(job):
            await self.cancels.end(job)  # cancelled before its post: the video is paid for, and never posted
            return
        try:
            path, size = await self._ensure_file(job)
        except LocalDiskError as exc:
            await self._disk_trouble(job, exc)
            return
        except ProviderError as exc:
            await self._retry_or_fail(job, exc, permanent=exc.fault is not Fault.RETRY, reason=None)
            return
        if job.video_path != str(path):
            job = await store.update(job, video_path=str(path), video_bytes=size)
        job = await store.transition(job, S.DELIVERING)
        await self.notices.show(job, force=True)
        to = thread_of(job)
        try:
            post = video_post(job, str(path), size)
            if self.budget is not None:  # a video goes before routine edits: it may use the whole bucket
                await self.budget.take(port, "video", to, urgent=True)
                budget = self.budget
                post = dataclasses.replace(post, pace=lambda: budget.take(port, "notify", to, urgent=True))
            ref = await port.post_video(to, post)
        except RateLimited as exc:
            # Not a failed try: the platform asked us to wait. It stays DELIVERING, so the next run
            # looks for the post first.
            if self.budget is not None:
                await self.budget.refused(port, "video", to, exc)
            await self.store.update(job, next_poll_at=self.clock() + exc.retry_after)
            return
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

    async def _disk_trouble(self, job: Job, exc: LocalDiskError) -> None:
        """This machine could not store the video: retry a few times (space may be freed), then fail refunded."""
        tries = job.attempts + 1
        fix = "free space on that disk" if exc.full else "make MEDIA_DIR writable by the bot"
        if tries >= min(DISK_ATTEMPTS, self.attempts):
            log.error("job %s: cannot save the video to %s: %s (errno %s %s); giving up after %d tries, refunded: %s",
                      job.id, exc.path, exc.strerror, exc.errno, exc.errname, tries, fix)
            await self.notices.fail(job, messages.DISK_FULL if exc.full else messages.DISK_UNWRITABLE, attempts=tries)
            return
        delay = DISK_RETRY_SECONDS * 2**job.attempts
        log.error("job %s: cannot save the video to %s: %s (errno %s %s); %s. Trying again in %.0f s (try %d of %d)",
                  job.id, exc.path, exc.strerror, exc.errno, exc.errname, fix, delay, tries, DISK_ATTEMPTS)
        await self.store.update(job, attempts=tries, next_poll_at=self.clock() + delay)

    async def _ensure_file(self, job: Job) -> tuple[Path, int]:
        if job.video_path and Path(job.video_path).is_file():
            return Path(job.video_path), Path(job.video_path).stat().st_size
        final = self.media_dir / f"{job.id}.mp4"
        if final.is_file():
            return final, final.stat().st_size
        if self.providers.get(job.provider) is None:
            raise ProviderError(Fault.OPERATOR, "made by a video service the bot no longer uses")
        await _on_disk(self.media_dir, self.media_dir.mkdir, parents=True, exist_ok=True)
        part = final.with_suffix(".mp4.part")
        try:
            size = await self._download(job, part)
            await _on_disk(final, os.replace, part, final)
        except BaseException:
            # No partial file is ever kept: on a full disk it only takes the room others need, and
            # the next try starts afresh.
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)
            raise
        log.info("job %s: video saved (%d bytes)", job.id, size)
        return final, size

    async def _download(self, job: Job, part: Path) -> int:
        """Stream the provider's video into `part`; local write errors raise LocalDiskError, the rest ProviderError."""
        state = TaskState(job.task_id or "", TaskStatus.SUCCESS, video_url=job.video_url)
        handle = await _on_disk(part, open_part, part)
        stream = self.providers[job.provider].download(state)
        size = 0
        try:
            async for chunk in stream:
                size += len(chunk)
                if size > MAX_VIDEO_BYTES:
                    raise ProviderError(Fault.OPERATOR, "the video is larger than the bot accepts")
                await _on_disk(part, handle.write, chunk)
            await _on_disk(part, handle.flush)
            await _on_disk(part, os.fsync, handle.fileno())
        except (ProviderError, LocalDiskError):
            raise
        except Exception as exc:
            raise ProviderError(Fault.RETRY, f"download interrupted: {type(exc).__name__}") from exc
        finally:
            # Stop the provider's stream at once (a failed write leaves it mid-body), then the file:
            # a close error after a failure adds nothing, and after success the fsync already spoke.
            close = getattr(stream, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()
            with contextlib.suppress(OSError):
                handle.close()
        return size


async def _on_disk(path: Path, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a file operation off the event loop; its OSError is this machine's disk, said as LocalDiskError."""
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except OSError as exc:
        raise LocalDiskError(path, exc) from exc


async def _safely(awaitable: object) -> MessageRef | None:
    try:
        return await awaitable  # type: ignore[misc]
    except Exception as exc:
        log.warning("could not look for an earlier post: %s", type(exc).__name__)
        return None
