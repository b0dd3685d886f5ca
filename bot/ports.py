"""The few things the core asks of a chat platform, on neutral references."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from bot.i18n import SOURCE, join, render
from bot.messages import settings_words
from bot.messages.eta import time_left_text


@dataclass(frozen=True)
class ThreadRef:
    """Where a job's conversation lives: a channel and, once opened, a thread in it."""

    platform: str
    workspace_id: str
    channel_id: str
    thread_id: str | None = None


@dataclass(frozen=True)
class MessageRef:
    """A message the bot posted, so it can be edited or found again."""

    channel_id: str
    message_id: str


@dataclass(frozen=True)
class AttachmentRef:
    """An image a user attached, as the platform's own payload described it."""

    url: str
    filename: str = ""
    content_type: str = ""
    size: int | None = None
    file_id: str = ""


@dataclass(frozen=True)
class StatusView:
    """What a status message shows about a job; adapters render it (embed, Block Kit, text)."""

    job_id: str
    user_id: str
    prompt: str
    duration: int
    resolution: str
    prompt_optimizer: bool
    fast_pretreatment: bool
    has_image: bool
    status: str
    status_label: str
    elapsed_seconds: float
    cost: int
    credits_left: int | None = None
    queue_position: int | None = None
    error: str | None = None
    locale: str = SOURCE  # the requester's language: labels and words are shown in it
    cancellable: bool = False  # the status message offers a Cancel button (the job can still be called off)
    time_left_seconds: float | None = None  # likely still to go, from recent jobs of its kind (None: not shown)
    time_left_once_started: bool = False  # the estimate counts from when the provider takes it (still in line)
    fast_model: bool = False  # made with the Fast model

    @property
    def settings(self) -> str:
        """`6 s · 768P · from an image`: the same words every message uses, in the view's language."""
        return render(join(" · ", settings_words(self.duration, self.resolution, has_image=self.has_image,
                                                 prompt_optimizer=self.prompt_optimizer,
                                                 fast_pretreatment=self.fast_pretreatment,
                                                 fast_model=self.fast_model)), self.locale)

    @property
    def time_left(self) -> str | None:
        """`About 3 min left`, in the view's language; None when no estimate is shown."""
        if self.time_left_seconds is None:
            return None
        return render(time_left_text(self.time_left_seconds, once_started=self.time_left_once_started), self.locale)


@dataclass(frozen=True)
class VideoPost:
    """A finished video to post into the job's thread."""

    job_id: str
    user_id: str
    path: str
    size: int
    filename: str
    caption: str
    upload_limit: int | None = None
    link: str | None = None  # the provider's own URL for the video, when it has one (it expires)
    prompt: str = ""
    duration: int = 6
    resolution: str = "768P"
    cost: int = 0
    locale: str = SOURCE  # the requester's language, for the adapter's own words (a download link)
    buttons: bool = True  # Regenerate, Remix and Extend under it (not under a chain's joined video)
    chain_index: int = 1  # its place in a chain (Extend): from the second clip on, a Joined video button too
    # Awaited before each further message the post needs (Slack's Regenerate button): the rate budget's turn.
    pace: Callable[[], Awaitable[None]] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class StatusPlace:
    """Where an accepted job's public status message went, and the thread opened from it (if any)."""

    message: MessageRef
    thread_id: str | None = None


class CannotPost(Exception):
    """The platform will not take the job's status message here; the text tells the member what to do."""


class StatusOpener(Protocol):
    """What an adapter lends the core for one request: a way to acknowledge, and to show an accepted job."""

    async def busy(self) -> None:
        """The core is about to do slow work (download an image): acknowledge the platform now if it waits."""

    async def open(self, text: str, view: StatusView) -> StatusPlace | None:
        """Post the accepted job's public status message (and thread); None if it could not be shown.

        Args:
            text: the acceptance in words (cost, credits left), for platforms that show it to the member.
            view: what the status message shows.

        Raises:
            CannotPost: nothing could be posted; the core withdraws the job and nothing is charged.
        """


class ChatPort(Protocol):
    """What the core needs from a platform; every adapter implements it."""

    platform: str

    async def edit_status(self, ref: MessageRef, view: StatusView) -> None:
        """Bring a job's status message up to date."""

    async def post_video(self, to: ThreadRef, video: VideoPost) -> MessageRef:
        """Post the finished video (or a link when it cannot fit) into the thread.

        Args:
            to: the job's thread (or its channel when no thread could be opened).
            video: the file on disk, its size, and the caption naming the requester.
        """

    async def find_video(self, to: ThreadRef, job_id: str) -> MessageRef | None:
        """Return the video message already posted for this job, if the platform can tell."""

    async def notify(self, to: ThreadRef, user_id: str, text: str) -> None:
        """Tell the requester something in the job's thread (failures, expiries)."""

    def fetch_attachment(self, att: AttachmentRef, max_bytes: int) -> AsyncIterator[bytes]:
        """Stream an attachment from the platform, refusing more than `max_bytes`."""


class DeliveryFailed(Exception):
    """A post the platform refused; `permanent` means retrying the same post cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
