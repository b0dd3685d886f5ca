"""Presets: named prompt templates with default settings, a workspace's (its admins') and each member's own.

The rule for combining a preset with a member's prompt (the README says it too):

- a preset's text that holds `{prompt}` has the member's prompt put there (at every `{prompt}`);
- any other text is appended after the prompt and a comma: `a cat` with `film noir, rain` is
  `a cat, film noir, rain`; with no prompt the text alone is the prompt;
- the combined text is what the 2000-character limit counts; too long, the request is refused
  (naming both lengths) before anything is charged.

A preset's settings (duration, resolution, the optimizer and fast pretreatment) are defaults: an
option the member gives explicitly wins. A member's own preset of a name shadows the workspace's.
`use NAME` without a prompt makes NAME the member's default preset, applied to each of their next
videos in that workspace (also those made from a form, a mention or an image) until `use off`;
`--preset off` leaves it out of one request.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Protocol

from bot.commands import CommandRequest
from bot.contract import MAX_PROMPT_CHARS, InvalidRequest
from bot.messages import presets as say
from bot.safe_text import shown

WORKSPACE = ""  # the owner of a workspace's presets; a member's are owned by their user id
PLACEHOLDER = "{prompt}"
OFF = "off"  # `use off`: no default preset; `--preset off`: none for this request
MAX_PER_SCOPE = 25  # presets per workspace, and per member in each workspace
MAX_NAME = 32
_NAME = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_NAME}}}")


@dataclass(frozen=True)
class Preset:
    """One named prompt template and its default settings (None: the request's own, or the contract's)."""

    platform: str
    workspace_id: str
    owner: str  # WORKSPACE for the workspace's, else the member's user id
    name: str
    text: str
    duration: int | None = None
    resolution: str | None = None
    prompt_optimizer: bool | None = None
    fast_pretreatment: bool | None = None
    created_by: str = ""
    created_at: float = 0.0

    @property
    def shared(self) -> bool:
        """True for a workspace's preset."""
        return self.owner == WORKSPACE


class PresetStore(Protocol):
    """What presets ask of storage (part of bot.store.Store)."""

    async def save_preset(self, preset: Preset, *, max_per_scope: int) -> bool:
        """Keep a preset, replacing one of its name and owner; False (nothing kept) when a new name would
        make its owner's presets more than `max_per_scope`. A workspace's is audited in the admin log."""
    async def delete_preset(self, platform: str, workspace_id: str, owner: str, name: str, *, by: str) -> bool:
        """Forget a preset (and its owner's default, if it was that one); False when there was none."""
    async def presets(self, platform: str, workspace_id: str, user_id: str) -> list[Preset]:
        """The workspace's presets and the member's own there, by name (the workspace's first of a name)."""
    async def find_preset(self, platform: str, workspace_id: str, user_id: str, name: str | None) -> Preset | None:
        """The preset `name` as the member sees it (their own first); with no name, their default preset's."""
    async def set_default_preset(self, platform: str, workspace_id: str, user_id: str, name: str | None) -> None:
        """Make `name` the member's default preset in the workspace (None: no default)."""
    async def default_preset(self, platform: str, workspace_id: str, user_id: str) -> str | None:
        """The name of the member's default preset in the workspace, if they chose one."""


def check_name(name: str | None) -> str:
    """A preset's name as kept (lower case), or InvalidRequest: 1-32 letters, digits, - and _, not `off`."""
    if not name:
        raise InvalidRequest(say.PRESET_NAME_MISSING)
    if not _NAME.fullmatch(name) or name.lower() == OFF:
        raise InvalidRequest(say.PRESET_BAD_NAME.format(name=shown(name[:40]), limit=MAX_NAME))
    return name.lower()


def combine(text: str, prompt: str) -> str:
    """The preset's text and the member's prompt as one prompt (the rule in this module's docstring)."""
    prompt = prompt.strip()
    if PLACEHOLDER in text:
        combined = text.replace(PLACEHOLDER, prompt)
        return combined.strip() if prompt else combined.strip().strip(",").strip()
    return f"{prompt}, {text.strip()}" if prompt else text.strip()


def with_preset(req: CommandRequest, preset: Preset) -> CommandRequest:
    """The request with the preset applied: the combined prompt, the preset's settings where none were given.

    Raises InvalidRequest when the combined prompt is over the contract's limit.
    """
    prompt = (req.prompt or "").strip()
    combined = combine(preset.text, prompt)
    if len(combined) > MAX_PROMPT_CHARS:
        raise InvalidRequest(say.PRESET_TOO_LONG.format(
            name=preset.name, prompt_chars=len(prompt), preset_chars=len(preset.text), total=len(combined),
            limit=MAX_PROMPT_CHARS))

    def given(mine: object, default: object) -> object:
        return default if mine is None or mine == "" else mine

    return dataclasses.replace(
        req, prompt=combined, duration=given(req.duration, preset.duration),  # type: ignore[arg-type]
        resolution=given(req.resolution, preset.resolution),  # type: ignore[arg-type]
        prompt_optimizer=given(req.prompt_optimizer, preset.prompt_optimizer),  # type: ignore[arg-type]
        fast_pretreatment=given(req.fast_pretreatment, preset.fast_pretreatment),  # type: ignore[arg-type]
    )


async def apply_preset(store: PresetStore, req: CommandRequest) -> CommandRequest:
    """A video request with the preset it names applied (else the member's default, if any; `off`: none).

    Raises InvalidRequest for a name nobody here has, or a combined prompt over the limit: refused, uncharged.
    """
    if req.preset is not None and req.preset.strip().lower() == OFF:
        return req
    name = check_name(req.preset.strip()) if req.preset is not None else None
    preset = await store.find_preset(req.platform, req.workspace_id, req.user_id, name)
    if preset is None:
        if name is not None:
            raise InvalidRequest(say.PRESET_UNKNOWN.format(name=shown(name)))
        return req
    return with_preset(req, preset)


async def visible_names(store: PresetStore, platform: str, workspace_id: str, user_id: str, typed: str,
                        limit: int = 25) -> list[str]:
    """The preset names the member can use that start with what they typed (Discord's autocomplete)."""
    typed = typed.strip().lower()
    names = dict.fromkeys(p.name for p in await store.presets(platform, workspace_id, user_id))
    return [n for n in names if n.startswith(typed)][:limit]
