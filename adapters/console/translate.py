"""Pure translation between terminal lines and the core's neutral values."""

from __future__ import annotations

from pathlib import Path

from bot import messages
from bot.commands import CommandRequest, Reply
from bot.days import human_duration
from bot.i18n import render
from bot.messages import render_refs
from bot.parsing import parse_video_args
from bot.ports import AttachmentRef, StatusView
from bot.preset_parsing import as_video_text, preset_request

PLATFORM = "console"
WORKSPACE = "local"
_ALIASES = {"video": "video", "quota": "quota", "status": "status", "history": "history", "help": "help",
            "admin": "admin", "cancel": "cancel", "remix": "remix", "extend": "extend", "preset": "preset",
            "repost": "repost"}


def to_request(line: str, *, user_id: str, channel_id: str = "terminal", locale: str | None = None
               ) -> CommandRequest | None:
    """Turn one typed line into a request; None for a blank line."""
    line = line.strip()
    if not line:
        return None
    head, _, rest = line.partition(" ")
    command = _ALIASES.get(head.lstrip("/").lower(), "unknown") if head.startswith("/") else "unknown"
    base = {"platform": PLATFORM, "workspace_id": WORKSPACE, "channel_id": channel_id, "user_id": user_id,
            "user_name": user_id, "locale": locale}
    if command == "preset" and (video := as_video_text(rest)) is not None:
        command, rest = "video", video  # `/preset use NAME PROMPT` is `/video --preset NAME PROMPT`
    if command == "preset":
        # The console is the operator's own terminal: it may keep the `local` workspace's presets too.
        return preset_request(rest, is_admin=True, **base)
    if command == "video":
        args = parse_video_args(rest)
        attachments = ()
        if args.image:
            # The console user is on this machine; a local path is theirs to name.
            path = Path(args.image).expanduser()
            attachments = (AttachmentRef(url=str(path), filename=path.name),)
        return CommandRequest(
            command="video",
            prompt=args.prompt,
            duration=args.duration,
            resolution=args.resolution,
            prompt_optimizer=args.prompt_optimizer,
            fast_pretreatment=args.fast_pretreatment,
            model=args.model,
            attachments=attachments,
            preset=args.preset,
            **base,
        )
    if command == "admin":
        # The console is the operator's own terminal: it has admin rights in the `local` workspace.
        return CommandRequest(command="admin", args=tuple(rest.split()), is_admin=True, **base)
    if command in ("remix", "extend"):
        return chain_request(command, rest, base)
    if command in ("status", "cancel", "repost"):
        return CommandRequest(command=command, job_id=rest.strip() or None, **base)
    return CommandRequest(command=command, **base)


def chain_request(command: str, rest: str, base: dict) -> CommandRequest:
    """`/remix JOB [PROMPT]`, `/extend JOB [PROMPT]`, `/extend JOB --joined`; no prompt keeps the job's own."""
    job, _, text = rest.strip().partition(" ")
    words = text.split()
    if command == "extend" and "--joined" in words:
        return CommandRequest(command="joined", job_id=job or None, **base)
    args = parse_video_args(text)
    return CommandRequest(command=command, job_id=job or None, prompt=args.prompt or None, duration=args.duration,
                          resolution=args.resolution, **base)


def render_reply(reply: Reply, locale: str | None = None) -> str:
    """A reply as terminal text (a refusal marked as an error, in the reader's language)."""
    text = render_refs(reply.text, user=lambda uid: f"@{uid}", channel=lambda cid: f"#{cid}")
    return text if reply.ok else render(messages.CONSOLE_ERROR.format(text=text), locale)


def render_status(view: StatusView) -> str:
    """One progress line: job, status, elapsed time, the place in the queue when waiting, the time left."""
    parts = [f"[{view.job_id}] {view.status_label}", render(human_duration(view.elapsed_seconds), view.locale)]
    if view.queue_position:
        parts.append(render(messages.PLACE_IN_LINE.format(n=view.queue_position), view.locale))
    if view.time_left:
        parts.append(view.time_left)
    if view.error:
        parts.append(view.error)
    return " · ".join(parts)
