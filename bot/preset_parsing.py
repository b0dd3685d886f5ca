"""Typed preset commands (Slack's `/video preset ...`, the console's `/preset ...`) as neutral requests."""

from __future__ import annotations

from typing import Any

from bot.commands import CommandRequest
from bot.contract import InvalidRequest
from bot.messages import options as option_words
from bot.parsing import parse_video_args

SHARED_FLAGS = ("--workspace", "--shared")


def as_video_text(rest: str) -> str | None:
    """`use NAME PROMPT...` as the `/video` text `--preset NAME PROMPT...`; None for every other preset command."""
    action, _, tail = rest.strip().partition(" ")
    name, _, prompt = tail.strip().partition(" ")
    if action.lower() != "use" or not name or not prompt.strip():
        return None
    return f"--preset {name} {prompt.strip()}"


def preset_request(rest: str, **base: Any) -> CommandRequest:
    """`save NAME TEXT [options] [--workspace]`, `list`, `use NAME`, `delete NAME [--workspace]` as a request.

    Anything else is `help`. `base` is the request's platform, workspace, channel and user fields.
    """
    action, _, tail = rest.strip().partition(" ")
    action = action.lower()
    if action not in ("save", "list", "use", "delete"):
        return CommandRequest(command="preset", args=("help",), **base)
    name, _, text = tail.strip().partition(" ")
    words = text.split(" ")
    shared = ("workspace",) if any(w.lower() in SHARED_FLAGS for w in words) else ()
    words = [w for w in words if w.lower() not in SHARED_FLAGS]
    if action != "save":
        return CommandRequest(command="preset", args=(action, *((name,) if name else ()), *shared), **base)
    args = parse_video_args(" ".join(words))
    for option, given in (("--image", args.image), ("--preset", args.preset), ("--model", args.model)):
        if given is not None:  # a preset keeps text and settings only (not the model: an image job's choice)
            raise InvalidRequest(option_words.UNKNOWN_OPTION.format(option=option))
    return CommandRequest(command="preset", args=("save", name, *shared), prompt=args.prompt,
                          duration=args.duration, resolution=args.resolution, prompt_optimizer=args.prompt_optimizer,
                          fast_pretreatment=args.fast_pretreatment, **base)
