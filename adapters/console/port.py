"""The console's ChatPort: status lines and results written to a text stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TextIO

from adapters.console.translate import PLATFORM, render_status
from bot.ports import AttachmentRef, MessageRef, StatusView, ThreadRef, VideoPost

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
        self._say(f"[{video.job_id}] {video.caption[0].upper()}{video.caption[1:]} -> {dest}")
        return MessageRef(to.channel_id, str(dest))

    async def find_video(self, to: ThreadRef, job_id: str) -> MessageRef | None:
        """The terminal keeps no history; re-posting a path is harmless."""
        return None

    async def notify(self, to: ThreadRef, user_id: str, text: str) -> None:
        """Print a notice for the user."""
        self.notices.append(text)
        self._say(text)

    async def fetch_attachment(self, att: AttachmentRef, max_bytes: int) -> AsyncIterator[bytes]:
        """Stream a local file the console user named."""
        handle = await asyncio.to_thread(open, att.url, "rb")
        try:
            total = 0
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                total += len(chunk)
                yield chunk
                if total >= max_bytes:
                    return
        finally:
            handle.close()
