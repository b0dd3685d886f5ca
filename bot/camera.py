"""Hailuo 2.3's camera commands: `[Pan left]`, up to three combined as `[Pan left,Pedestal up]`, checked in prompts."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.i18n import Text
from bot.messages import options as words

# The commands the model understands, as MiniMax spells them (its video generation guide).
MOVES = (
    "Truck left", "Truck right", "Pan left", "Pan right", "Push in", "Pull out", "Pedestal up", "Pedestal down",
    "Tilt up", "Tilt down", "Zoom in", "Zoom out", "Shake", "Tracking shot", "Static shot",
)
MAX_COMBINED = 3
_BY_KEY = {m.lower(): m for m in MOVES}
_SEPARATORS = re.compile(r"[,\uff0c\u3001]")  # a comma, a full-width comma or an ideographic one
_GROUP = re.compile(r"\[([^\[\]]*)\]")
# A bracket right before `(` is a link's text (`[words](address)`), not camera commands: left as typed.
_MOVES_GROUP = re.compile(r"\[([^\[\]]*)\](?!\()")


def moves_list() -> str:
    """Every command, as help shows them: `[Truck left], [Truck right], ...`."""
    return ", ".join(f"[{m}]" for m in MOVES)


def canonical(move: str) -> str | None:
    """A typed command (any case, any spacing) as the model spells it; None when it is not one."""
    return _BY_KEY.get(" ".join(move.split()).lower())


def combined(moves: Iterable[str]) -> tuple[str | None, Text | None]:
    """Commands chosen one by one as one bracket (`[Pan left,Pedestal up]`), or the problem with them."""
    chosen: list[str] = []
    for move in moves:
        name = canonical(move)
        if name is None:
            return None, words.CAMERA_UNKNOWN.format(move=move.strip(), moves=moves_list())
        if name not in chosen:
            chosen.append(name)
    if len(chosen) > MAX_COMBINED:
        return None, words.CAMERA_TOO_MANY.format(count=len(chosen), max=MAX_COMBINED)
    return (f"[{','.join(chosen)}]" if chosen else ""), None


def split(text: str) -> list[str]:
    """`Pan left, Pedestal up` (as typed in one field) as its commands."""
    return [part for part in _SEPARATORS.split(text or "") if part.strip()]


def with_moves(prompt: str, moves: Iterable[str]) -> tuple[str, Text | None]:
    """The prompt with the chosen commands added at its end in one bracket; or the problem with them."""
    bracket, problem = combined(moves)
    if problem is not None or not bracket:
        return prompt, problem
    return f"{prompt.rstrip()} {bracket}".lstrip(), None


def checked(prompt: str) -> tuple[str, Text | None]:
    """The prompt with each bracket's commands spelled as the model expects, or the first problem found.

    A problem is an unbalanced or nested bracket, an unknown command, an empty bracket or more than
    three commands in one bracket. A link's text (`[words](address)`) is not a bracket of commands.
    """
    if "[" not in prompt and "]" not in prompt:
        return prompt, None  # most prompts: nothing to check
    left = _GROUP.sub("", prompt)  # every innermost [..] taken out: any bracket left has no partner (or nests)
    if "[" in left or "]" in left:
        return prompt, words.CAMERA_UNBALANCED
    problems: list[Text] = []

    def fix(match: re.Match[str]) -> str:
        parts = split(match.group(1))
        if not parts:
            problems.append(words.CAMERA_EMPTY.format(moves=moves_list()))
            return match.group(0)
        bracket, problem = combined(parts)
        if problem is not None:
            problems.append(problem)
            return match.group(0)
        return bracket or match.group(0)

    fixed = _MOVES_GROUP.sub(fix, prompt)
    return (prompt, problems[0]) if problems else (fixed, None)


def description(prompt: str) -> str:
    """The prompt without its camera commands: what is left to describe the scene."""
    return _MOVES_GROUP.sub(" ", prompt).strip()
