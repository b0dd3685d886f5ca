"""What the benchmarks share: figures, percentiles, memory, event-loop stalls, stand-in parts."""

from __future__ import annotations

import asyncio
import resource
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bot.contract import VideoRequest
from bot.ports import AttachmentRef, MessageRef, StatusView, ThreadRef, VideoPost
from bot.providers.base import TaskState, TaskStatus


@dataclass(frozen=True)
class Figure:
    """One measured number with its unit, and the target it is held against (if any)."""

    name: str
    value: float
    unit: str
    target: str = ""


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def free_port() -> int:
    """An unused local TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StallMonitor:
    """Measures how late the event loop wakes a 10 ms sleeper: the longest stall it saw."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, time.perf_counter() - start - 0.01)

    def __enter__(self) -> StallMonitor:
        self._task = asyncio.get_running_loop().create_task(self._watch())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


class IdleProvider:
    """A provider that accepts everything and never finishes: for measuring the front door only."""

    name = "idle"

    async def submit(self, request: VideoRequest) -> str:
        return "idle"

    async def status(self, task_id: str) -> TaskState:
        return TaskState(task_id, TaskStatus.PROCESSING)

    async def download(self, state: TaskState) -> AsyncIterator[bytes]:
        if False:
            yield b""

    async def aclose(self) -> None:
        pass


class NullPort:
    """A platform that accepts every post at once and remembers when."""

    def __init__(self, platform: str = "bench") -> None:
        self.platform = platform
        self.delivered: dict[str, float] = {}

    async def edit_status(self, ref: MessageRef, view: StatusView) -> None:
        pass

    async def post_video(self, to: ThreadRef, video: VideoPost) -> MessageRef:
        self.delivered[video.job_id] = time.time()
        return MessageRef(to.channel_id, video.job_id)

    async def find_video(self, to: ThreadRef, job_id: str) -> MessageRef | None:
        return None

    async def notify(self, to: ThreadRef, user_id: str, text: str) -> None:
        pass

    async def fetch_attachment(self, att: AttachmentRef, max_bytes: int) -> AsyncIterator[bytes]:
        if False:
            yield b""
