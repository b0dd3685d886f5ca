"""Hand-written fakes for core tests: a recording chat port, a scripted provider, a clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from bot.contract import VideoRequest
from bot.ports import AttachmentRef, DeliveryFailed, MessageRef, StatusView, ThreadRef, VideoPost
from bot.providers.base import Fault, ProviderError, TaskLost, TaskState, TaskStatus


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeChatPort:
    """Records everything the core asks of a platform (errbot-style `.sent`)."""

    platform: str = "fake"
    sent: list[tuple[str, object]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    fail_posts: list[Exception] = field(default_factory=list)
    existing: dict[str, MessageRef] = field(default_factory=dict)
    next_id: int = 0

    async def edit_status(self, ref: MessageRef, view: StatusView) -> None:
        self.sent.append(("status", view))

    async def post_video(self, to: ThreadRef, video: VideoPost) -> MessageRef:
        if self.fail_posts:
            raise self.fail_posts.pop(0)
        with open(video.path, "rb") as f:
            self.files[video.job_id] = f.read()
        self.next_id += 1
        ref = MessageRef(to.thread_id or to.channel_id, f"m{self.next_id}")
        self.sent.append(("video", video))
        self.existing[video.job_id] = ref
        return ref

    async def find_video(self, to: ThreadRef, job_id: str) -> MessageRef | None:
        return self.existing.get(job_id)

    async def notify(self, to: ThreadRef, user_id: str, text: str) -> None:
        self.sent.append(("notify", text))

    async def fetch_attachment(self, att: AttachmentRef, max_bytes: int) -> AsyncIterator[bytes]:
        data = self.files[att.url]
        for i in range(0, len(data), 65536):
            yield data[i : i + 65536]

    def of_kind(self, kind: str) -> list[object]:
        return [item for k, item in self.sent if k == kind]

    def statuses(self) -> list[str]:
        return [v.status for v in self.of_kind("status")]  # type: ignore[attr-defined]


class ScriptedProvider:
    """A provider whose answers come from scripts: per task, a list of states or errors to return in turn."""

    name = "scripted"

    def __init__(self, script: list[TaskStatus | ProviderError] | None = None, video: bytes = b"\x00" * 1000) -> None:
        self.script = script or [TaskStatus.PREPARING, TaskStatus.QUEUEING, TaskStatus.PROCESSING, TaskStatus.SUCCESS]
        self.video = video
        self.submits: list[VideoRequest] = []
        self.submit_errors: list[ProviderError] = []
        self.download_errors: list[ProviderError] = []
        self.tasks: dict[str, list[TaskStatus | ProviderError]] = {}
        self.polls = 0

    async def submit(self, request: VideoRequest) -> str:
        if self.submit_errors:
            raise self.submit_errors.pop(0)
        self.submits.append(request)
        task_id = f"t{len(self.submits)}"
        self.tasks[task_id] = list(self.script)
        return task_id

    async def status(self, task_id: str) -> TaskState:
        self.polls += 1
        if task_id not in self.tasks:
            raise TaskLost()
        steps = self.tasks[task_id]
        step = steps.pop(0) if len(steps) > 1 else steps[0]
        if isinstance(step, ProviderError):
            raise step
        url = f"https://video.example/{task_id}.mp4" if step is TaskStatus.SUCCESS else None
        return TaskState(task_id, step, video_url=url)

    async def download(self, state: TaskState) -> AsyncIterator[bytes]:
        if self.download_errors:
            raise self.download_errors.pop(0)
        for i in range(0, len(self.video), 256):
            yield self.video[i : i + 256]

    async def aclose(self) -> None:
        pass


class SometimesRefused(ScriptedProvider):
    """Every fifth task is refused by the provider after a while (its requester must be told at once)."""

    async def submit(self, request: VideoRequest) -> str:
        task_id = await super().submit(request)
        if len(self.submits) % 5 == 0:
            self.tasks[task_id] = [TaskStatus.PROCESSING, ProviderError(Fault.USER, "refused", code=1026)]
        return task_id


__all__ = ["DeliveryFailed", "FakeChatPort", "FakeClock", "ScriptedProvider", "SometimesRefused"]
