"""The `local` provider: an offline stand-in that renders a real MP4 here. It is not an AI model."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from bot.contract import VideoRequest
from bot.providers.base import Fault, ProviderError, TaskLost, TaskState, TaskStatus
from bot.providers.render import render_video
from bot.tasks import TaskSupervisor

log = logging.getLogger(__name__)

CHUNK = 64 * 1024


class LocalProvider:
    """Walks Preparing -> Queueing -> Processing -> Success over `delay_seconds`, rendering meanwhile.

    Everything lives in `state_dir` (the request and submit time per task, the render), so a new
    instance after a restart answers for tasks an earlier one accepted. A finished task's
    `video_url` is a `file://` URI of the render.
    """

    name = "local"

    def __init__(
        self,
        state_dir: Path,
        *,
        delay_seconds: float = 8.0,
        fps: int = 24,
        supervisor: TaskSupervisor | None = None,
        clock: Callable[[], float] = time.time,
        max_renders: int = 1,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.delay = delay_seconds
        self.fps = fps
        self.clock = clock
        self._supervisor = supervisor or TaskSupervisor()
        self._own_supervisor = supervisor is None
        self._renders: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(max_renders)  # two cores: one encode at a time keeps the bot responsive

    async def submit(self, request: VideoRequest) -> str:
        """Accept the request and start rendering it in a worker thread."""
        task_id = f"local-{uuid.uuid4().hex}"
        record = {"request": json.loads(request.to_json()), "submitted_at": self.clock()}
        await asyncio.to_thread(self._write_record, task_id, record)
        self._start_render(task_id, request)
        return task_id

    async def status(self, task_id: str) -> TaskState:
        """Where the task is, from the clock and the files on disk."""
        record = await asyncio.to_thread(self._read_record, task_id)
        if record is None:
            raise TaskLost(f"the local provider has no task {task_id}")
        error = self._path(task_id, ".error")
        if error.exists():
            text = await asyncio.to_thread(error.read_text)
            return TaskState(task_id, TaskStatus.FAIL, error=ProviderError(Fault.OPERATOR, text))
        elapsed = self.clock() - record["submitted_at"]
        video = self._path(task_id, ".mp4")
        if elapsed >= self.delay and video.exists():
            return TaskState(task_id, TaskStatus.SUCCESS, video_url=video.resolve().as_uri())
        if not video.exists() and task_id not in self._renders:
            # An earlier process accepted it; its render died with it.
            self._start_render(task_id, VideoRequest.from_json(json.dumps(record["request"])))
        if elapsed < 0.15 * self.delay:
            return TaskState(task_id, TaskStatus.PREPARING)
        if elapsed < 0.35 * self.delay:
            return TaskState(task_id, TaskStatus.QUEUEING)
        return TaskState(task_id, TaskStatus.PROCESSING)

    async def download(self, state: TaskState) -> AsyncIterator[bytes]:
        """Stream the rendered file in chunks."""
        path = self._path(state.task_id, ".mp4")
        try:
            handle = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError:
            raise TaskLost(f"the render of {state.task_id} is gone") from None
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def aclose(self) -> None:
        """Stop renders under way (a restart resumes them)."""
        for task in list(self._renders.values()):
            task.cancel()
        await asyncio.gather(*self._renders.values(), return_exceptions=True)
        if self._own_supervisor:
            await self._supervisor.aclose()

    async def wait_rendered(self) -> None:
        """Wait for every render under way (for tests and benchmarks)."""
        while self._renders:
            await asyncio.gather(*list(self._renders.values()), return_exceptions=True)

    def _start_render(self, task_id: str, request: VideoRequest) -> None:
        self._renders[task_id] = self._supervisor.start(self._render(task_id, request), name=f"render-{task_id}")

    async def _render(self, task_id: str, request: VideoRequest) -> None:
        try:
            async with self._slots:
                frame = request.first_frame.path if request.first_frame else None
                await asyncio.to_thread(
                    render_video, self._path(task_id, ".mp4"), prompt=request.prompt, duration=request.duration,
                    resolution=request.resolution, fps=self.fps, first_frame_path=frame,
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("local render of %s failed", task_id)
            await asyncio.to_thread(self._path(task_id, ".error").write_text, f"rendering failed: {exc}")
        finally:
            self._renders.pop(task_id, None)

    def _path(self, task_id: str, suffix: str) -> Path:
        if "/" in task_id or ".." in task_id:
            raise TaskLost(f"not a local task id: {task_id!r}")
        return self.state_dir / f"{task_id}{suffix}"

    def _write_record(self, task_id: str, record: dict) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._path(task_id, ".json").write_text(json.dumps(record))

    def _read_record(self, task_id: str) -> dict | None:
        try:
            return json.loads(self._path(task_id, ".json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
