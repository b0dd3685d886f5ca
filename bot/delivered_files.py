"""A delivered clip's MP4 on this machine: where delivery left it, else fetched again from its provider."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from typing import Any

from bot.jobs import Job
from bot.providers.base import Fault, ProviderError, TaskState, TaskStatus

log = logging.getLogger(__name__)

MAX_CLIP_BYTES = 2 * 1024**3


async def clip_file(store: Any, providers: Any, media_dir: Path, job: Job) -> Path | None:
    """The clip's file: its recorded path, `MEDIA_DIR/<job>.mp4`, or downloaded there again; None if gone everywhere.

    Another machine's process delivered it, say: the provider's copy is fetched (while its address lasts).
    """
    for candidate in (Path(job.video_path) if job.video_path else None, media_dir / f"{job.id}.mp4"):
        if candidate is not None and await asyncio.to_thread(candidate.is_file):
            return candidate
    provider = providers.get(job.provider) if providers is not None else None
    if provider is None or not job.task_id:
        return None
    final = media_dir / f"{job.id}.mp4"
    part = final.with_name(f"{final.name}.{os.getpid()}.chain.part")
    try:
        await asyncio.to_thread(media_dir.mkdir, parents=True, exist_ok=True)
        handle = await asyncio.to_thread(open, part, "wb")
        try:
            size = 0
            async for chunk in provider.download(TaskState(job.task_id, TaskStatus.SUCCESS, video_url=job.video_url)):
                size += len(chunk)
                if size > MAX_CLIP_BYTES:
                    raise ProviderError(Fault.OPERATOR, "the video is larger than the bot accepts")
                await asyncio.to_thread(handle.write, chunk)
        finally:
            await asyncio.to_thread(handle.close)
        await asyncio.to_thread(os.replace, part, final)
    except Exception as exc:  # the provider no longer has it (addresses expire), or this disk is full
        log.warning("job %s: its video is not here and could not be fetched again: %s", job.id, type(exc).__name__)
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
        return None
    return final
