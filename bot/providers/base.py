"""The provider seam: submit a request, ask how it is going, stream the video down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.contract import VideoRequest


class TaskStatus(StrEnum):
    """The provider-side states of the Hailuo 2.3 contract."""

    PREPARING = "Preparing"
    QUEUEING = "Queueing"
    PROCESSING = "Processing"
    SUCCESS = "Success"
    FAIL = "Fail"


class Fault(StrEnum):
    """Whose problem a provider error is, which decides what the bot does about it."""

    RETRY = "retry"  # transient: back off and try again
    USER = "user"  # the input was refused: tell the user, refund
    OPERATOR = "operator"  # key, balance, plan: log loudly, apologise, refund


class ProviderError(Exception):
    """A provider call that did not work, classified by who must act."""

    def __init__(self, fault: Fault, message: str, *, code: int | str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.fault = fault
        self.code = code
        self.retry_after = retry_after


@dataclass(frozen=True)
class TaskState:
    """What the provider says about one task."""

    task_id: str
    status: TaskStatus
    video_url: str | None = None
    file_id: str | None = None
    error: ProviderError | None = None
    queue_position: int | None = None  # the provider's own place in its line, when it says (fal)


class Provider(Protocol):
    """A Hailuo 2.3 backend: MiniMax, Cloudflare, Replicate, fal, or the offline local renderer."""

    name: str

    async def submit(self, request: VideoRequest) -> str:
        """Start a video; return the provider's task id. Raises ProviderError."""

    async def status(self, task_id: str) -> TaskState:
        """Ask how a task is going. Raises ProviderError."""

    def download(self, state: TaskState) -> AsyncIterator[bytes]:
        """Stream a finished video's bytes. Raises ProviderError."""

    async def aclose(self) -> None:
        """Release connections and background work."""


class TaskLost(ProviderError):
    """The provider no longer knows the task (e.g. a blocking call cut off by a restart).

    The poller resubmits such a job once, then fails and refunds it.
    """

    def __init__(self, message: str = "the provider lost this task") -> None:
        super().__init__(Fault.RETRY, message)
