"""The console's ChatPort: status lines and results written to a text stream."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO, TextIO

from adapters.console.translate import PLATFORM, render_status
from bot import messages
from bot.contract import InvalidRequest
from bot.jobs import Job
from bot.ports import AttachmentRef, MessageRef, StatusView, ThreadRef, VideoPost
from bot.safe_text import plain

CHUNK = 64 * 1024


class ConsolePort:
    """Writes progress and results to `out`; delivered videos stay in MEDIA_DIR."""

    platform = PLATFORM

    def __init__(self, out: TextIO, *, show_status: bool = True) -> None:
        self.out = out
        self.show_status = show_status
        self.delivered: dict[str, Path] = {}
        self.notices: list[str] = []

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def edit_status(self, ref: MessageRef, view: StatusView) -> None:
        """Print the job's new status line."""
        if self.show_status:
            self._say(render_status(view))

    async def post_video(self, to: ThreadRef, video: VideoPost) -> MessageRef:
        """Say where the video is (MEDIA_DIR); `generate` copies its own job's file to --out itself."""
        dest = Path(video.path)
        self.delivered[video.job_id] = dest
        caption = plain(video.caption)
        self._say(f"[{video.job_id}] {caption[0].upper()}{caption[1:]} -> {dest}")
        return MessageRef(to.channel_id, str(dest))

    async def post_link(self, job: Job) -> str | None:
        """Where a delivered video is on this machine: the terminal's "post" is the MP4 in MEDIA_DIR."""
        return job.video_path if job.video_path and Path(job.video_path).is_file() else None

    async def find_video(self, to: ThreadRef, job_id: str) -> MessageRef | None:
        """The terminal keeps no history; re-posting a path is harmless."""
        return None

    async def notify(self, to: ThreadRef, user_id: str, text: str) -> None:
        """Print a notice for the user."""
        self.notices.append(text)
        self._say(text)

    async def fetch_attachment(self, att: AttachmentRef, max_bytes: int) -> AsyncIterator[bytes]:
        """Stream a local file the console user named: a regular file only, since a FIFO or a device blocks."""
        handle = await asyncio.to_thread(_open_regular, att.url, max_bytes)
        try:
            total = 0
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                total += len(chunk)
                yield chunk
                if total >= max_bytes:
                    return
        finally:
            handle.close()


def _open_regular(path: str, max_bytes: int) -> BinaryIO:
    """Open `path` for reading if it is a regular file under `max_bytes`; InvalidRequest in plain words if not."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # stat never opens, so it cannot hang on a FIFO
            raise InvalidRequest(messages.LOCAL_IMAGE_NOT_FILE.format(path=path))
        # Non-blocking, then checked again: a FIFO swapped in after the stat still cannot hang the open.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise InvalidRequest(messages.LOCAL_IMAGE_MISSING.format(path=path)) from None
    handle = os.fdopen(fd, "rb")
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        handle.close()
        raise InvalidRequest(messages.LOCAL_IMAGE_NOT_FILE.format(path=path))
    if info.st_size >= max_bytes:
        handle.close()
        raise InvalidRequest(messages.IMAGE_TOO_LARGE.format(mb=info.st_size / 1_048_576))
    return handle
