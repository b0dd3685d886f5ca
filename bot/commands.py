"""The neutral request every adapter builds, and the neutral reply the core returns."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from bot.ports import AttachmentRef, StatusView, ThreadRef


@dataclass(frozen=True)
class CommandRequest:
    """One thing a user asked, translated out of the platform's payload."""

    platform: str
    workspace_id: str
    channel_id: str
    user_id: str
    command: str  # video, quota, history, status, help, regenerate, admin, cancel, preset
    user_name: str = ""
    prompt: str | None = None
    duration: int | str | None = None
    resolution: str | None = None
    prompt_optimizer: bool | None = None
    fast_pretreatment: bool | None = None
    model: str | None = None  # `standard` or `fast` as the member chose (None: the operator's default)
    camera: tuple[str, ...] = ()  # camera moves picked in a form or an option, added to the prompt in one bracket
    attachments: tuple[AttachmentRef, ...] = ()
    thread: ThreadRef | None = None
    job_id: str | None = None  # for status and regenerate
    args: tuple[str, ...] = ()  # for admin: the action and its operands, ids already extracted
    upload_limit: int | None = None  # bytes the platform accepts per file here
    is_admin: bool = False
    request_key: str | None = None  # the inbox key of the platform's payload: a replay maps to the same job
    locale: str | None = None  # the member's language as the platform says it (normalized), if it says
    server_locale: str | None = None  # the server's own language (Discord's guild_locale), after the admins' default
    preset: str | None = None  # for video: the preset to apply (`off`: not even the member's default; bot/presets.py)


@dataclass(frozen=True)
class Reply:
    """What the core answers at once; later output goes through the ChatPort."""

    text: str
    ok: bool = True
    ephemeral: bool = False
    job_id: str | None = None
    view: StatusView | None = None
    reposts: tuple[str, ...] = ()  # delivered jobs the answer offers to post again here (history's buttons)


def request_to_json(req: CommandRequest) -> dict[str, Any]:
    """The request as plain JSON values, to keep in the inbox."""
    return dataclasses.asdict(req)


def request_from_json(data: dict[str, Any]) -> CommandRequest:
    """The request `request_to_json` kept."""
    values = dict(data)
    values["attachments"] = tuple(AttachmentRef(**a) for a in values.get("attachments") or ())
    values["thread"] = ThreadRef(**values["thread"]) if values.get("thread") else None
    values["args"] = tuple(values.get("args") or ())
    values["camera"] = tuple(values.get("camera") or ())
    return CommandRequest(**values)


def job_id_for(req: CommandRequest) -> str:
    """The id a new job gets: fixed by the platform's payload when there is one, so a replay finds it."""
    if req.request_key:
        return hashlib.sha256(req.request_key.encode()).hexdigest()[:12]
    return uuid.uuid4().hex[:12]
