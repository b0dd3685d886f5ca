"""Remix and Extend on Discord: buttons under a delivered video, a prefilled modal, the joined video."""

from __future__ import annotations

import re
from typing import Any, Protocol

import discord

from adapters.discord.translate import render_text
from bot import messages
from bot.chains import ChainForm, chain_form
from bot.i18n import render
from bot.messages import chains as words

JOB = r"(?P<job>[0-9a-f]{6,32})"


class DiscordAdapter(Protocol):
    """What Remix and Extend need of adapters.discord.app.DiscordAdapter (not imported: app imports this module)."""

    ctx: Any

    def request(self, interaction: discord.Interaction, command: str, **extra: Any) -> Any: ...
    async def start_video(self, interaction: discord.Interaction, req: Any) -> None: ...
    async def _private(self, interaction: discord.Interaction, req: Any) -> None: ...


def _adapter(interaction: discord.Interaction) -> DiscordAdapter:
    return interaction.client.adapter  # type: ignore[attr-defined]


class RemixButton(discord.ui.DynamicItem[discord.ui.Button], template=rf"hailuo:remix:{JOB}"):
    """Remix: a form with the job's prompt and settings; works after a restart (the job id is in its custom_id)."""

    def __init__(self, job_id: str, locale: str | None = None) -> None:
        super().__init__(discord.ui.Button(label=render(words.REMIX_BUTTON, locale), emoji="\u270f\ufe0f",
                                           style=discord.ButtonStyle.secondary, custom_id=f"hailuo:remix:{job_id}"))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> RemixButton:
        return cls(match["job"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await open_form(_adapter(interaction), interaction, "remix", self.job_id)


class ExtendButton(discord.ui.DynamicItem[discord.ui.Button], template=rf"hailuo:extend:{JOB}"):
    """Extend: a form for the next clip's prompt; the clip starts from this video's last frame."""

    def __init__(self, job_id: str, locale: str | None = None) -> None:
        super().__init__(discord.ui.Button(label=render(words.EXTEND_BUTTON, locale), emoji="\u23ed\ufe0f",
                                           style=discord.ButtonStyle.secondary, custom_id=f"hailuo:extend:{job_id}"))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> ExtendButton:
        return cls(match["job"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await open_form(_adapter(interaction), interaction, "extend", self.job_id)


class JoinedButton(discord.ui.DynamicItem[discord.ui.Button], template=rf"hailuo:joined:{JOB}"):
    """Joined video: the chain up to this clip in one MP4, posted in the thread; answered privately."""

    def __init__(self, job_id: str, locale: str | None = None) -> None:
        super().__init__(discord.ui.Button(label=render(words.JOINED_BUTTON, locale), emoji="\U0001f39e\ufe0f",
                                           style=discord.ButtonStyle.secondary, custom_id=f"hailuo:joined:{job_id}"))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> JoinedButton:
        return cls(match["job"])

    async def callback(self, interaction: discord.Interaction) -> None:
        adapter = _adapter(interaction)
        await adapter._private(interaction, adapter.request(interaction, "joined", job_id=self.job_id))


CHAIN_ITEMS = (RemixButton, ExtendButton, JoinedButton)


def add_chain_buttons(view: discord.ui.View, job_id: str, chain_index: int, locale: str | None) -> None:
    """Remix and Extend under a delivered video; Joined video too from a chain's second clip on."""
    view.add_item(RemixButton(job_id, locale))
    view.add_item(ExtendButton(job_id, locale))
    if chain_index > 1:
        view.add_item(JoinedButton(job_id, locale))


async def open_form(adapter: DiscordAdapter, interaction: discord.Interaction, kind: str, job_id: str) -> None:
    """Open the prefilled modal (its first answer, inside the 3 s), or say privately why it cannot open."""
    form = await chain_form(adapter.ctx.core, adapter.request(interaction, kind, job_id=job_id))
    if isinstance(form, ChainForm):
        await interaction.response.send_modal(ChainModal(form))
    else:
        await interaction.response.send_message(render_text(form.text)[:2000], ephemeral=True)


FORM_ID = re.compile(rf"hailuo:chainform:(?P<kind>remix|extend):{JOB}")


class ChainModal(discord.ui.Modal):
    """The Remix or Extend form: prompt, duration and resolution, filled in from the job.

    Its custom_id carries the kind and the job, and its submission is read from the interaction alone
    (`form_submitted`), so a form opened before a restart is still taken after it.
    """

    def __init__(self, form: ChainForm) -> None:
        def say(text: str) -> str:
            return render(text, form.locale)

        super().__init__(title=say(words.REMIX_TITLE if form.kind == "remix" else words.EXTEND_TITLE)[:45],
                         custom_id=f"hailuo:chainform:{form.kind}:{form.job_id}", timeout=None)
        hint = words.EXTEND_PROMPT_HINT if form.kind == "extend" else messages.FORM_PROMPT_HINT
        prompt = discord.ui.TextInput(style=discord.TextStyle.paragraph, required=False, max_length=2000,
                                      default=form.prompt or None, placeholder=say(hint)[:100], custom_id="prompt")
        duration = discord.ui.Select(custom_id="duration", options=[
            discord.SelectOption(label=say(messages.FORM_SECONDS.format(n=n)), value=str(n), default=n == form.duration)
            for n in (6, 10)])
        resolution = discord.ui.Select(custom_id="resolution", options=[
            discord.SelectOption(label=say(label), value=value, default=value == form.resolution)
            for value, label in (("768P", "768P"), ("1080P", messages.FORM_HD_SHORT))])
        keeps = words.EXTEND_KEEPS_FRAME if form.kind == "extend" else words.REMIX_KEEPS_FRAME
        self.add_item(discord.ui.Label(text=say(messages.FORM_PROMPT), component=prompt,
                                       description=say(keeps)[:100] if form.kind == "extend" or form.has_image
                                       else None))
        self.add_item(discord.ui.Label(text=say(messages.FORM_DURATION), component=duration))
        self.add_item(discord.ui.Label(text=say(messages.FORM_RESOLUTION), component=resolution))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Nothing here: `form_submitted` takes every submission, from this process or an earlier one."""


def _fields(components: list[dict[str, Any]]) -> dict[str, Any]:
    """A modal submission's values by custom_id (text: its value; a select: its first choice)."""
    found: dict[str, Any] = {}
    for component in components:
        inner = component.get("components") or ([component["component"]] if "component" in component else [])
        if inner:
            found.update(_fields(inner))
        elif "custom_id" in component:
            found[component["custom_id"]] = component.get("value", (component.get("values") or [None])[0])
    return found


async def form_submitted(interaction: discord.Interaction) -> None:
    """A Remix or Extend form sent back: a new job, charged like any /video, where the button was (the thread)."""
    data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
    match = FORM_ID.fullmatch(str(data.get("custom_id", "")))
    if interaction.type is not discord.InteractionType.modal_submit or match is None:
        return
    fields = _fields(list(data.get("components") or []))
    adapter = _adapter(interaction)
    req = adapter.request(interaction, match["kind"], job_id=match["job"], prompt=fields.get("prompt") or "",
                          duration=fields.get("duration"), resolution=fields.get("resolution"))
    await adapter.start_video(interaction, req)


def install_chain_forms(client: discord.Client) -> None:
    """Take the forms' submissions from every interaction the client sees (from `setup_hook`)."""

    async def on_interaction(interaction: discord.Interaction) -> None:
        await form_submitted(interaction)

    client.event(on_interaction)
