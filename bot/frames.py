"""First frames every process can use: kept in the database beside the file, written back where it is missing."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from bot.contract import VideoRequest
from bot.store import Store


async def keep_frame(store: Store, request: VideoRequest) -> None:
    """Put the request's checked first frame in the database, so another machine can submit the job."""
    if request.first_frame is not None:
        path = Path(request.first_frame.path)
        await store.put_frame(path.name, await asyncio.to_thread(path.read_bytes))


async def frame_here(store: Store, request: VideoRequest, frames_dir: Path) -> VideoRequest | None:
    """The request with its first frame on this machine's disk; None when the image is gone everywhere."""
    frame = request.first_frame
    if frame is None or Path(frame.path).is_file():
        return request
    local = frames_dir / Path(frame.path).name
    if not local.is_file():
        data = await store.get_frame(local.name)
        if data is None:
            return None
        await asyncio.to_thread(frames_dir.mkdir, parents=True, exist_ok=True)
        part = local.with_name(local.name + ".part")
        await asyncio.to_thread(part.write_bytes, data)
        await asyncio.to_thread(part.replace, local)
    return dataclasses.replace(request, first_frame=dataclasses.replace(frame, path=str(local)))
