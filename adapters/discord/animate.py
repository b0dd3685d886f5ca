"""The `Animate image` form: the prompt and every option a member types or picks for a video from a message's image."""

from __future__ import annotations

from typing import Any

import discord

from adapters.discord import translate as t
from bot import camera, messages
from bot.i18n import render
from bot.messages import options as words


def _select(options: list[tuple[str, str]], default: str | None = None, *, most: int = 1,
            placeholder: str | None = None) -> discord.ui.Select[Any]:
    """A select for the form; one with no default may be left empty."""
    return discord.ui.Select(
        options=[discord.SelectOption(label=label, value=value, default=value == default) for value, label in options],
        min_values=0 if default is None else 1, max_values=most, required=default is not None,
        placeholder=placeholder)


class AnimateModal(discord.ui.Modal):
    """Asks for the prompt, duration, resolution, model and camera moves; the image comes from the message."""

    def __init__(self, adapter: Any, image: dict[str, Any], locale: str | None = None) -> None:
        def say(text: str) -> str:
            return render(text, locale)

        super().__init__(title=say(messages.ANIMATE_TITLE))
        self.adapter = adapter  # the DiscordAdapter (not imported: its module imports this one)
        self.image = image
        self.prompt: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label=say(messages.ANIMATE_LABEL), style=discord.TextStyle.paragraph, required=False, max_length=2000,
            placeholder=say(messages.ANIMATE_HINT))
        self.duration = _select([(str(n), say(messages.FORM_SECONDS.format(n=n))) for n in (6, 10)], "6")
        self.resolution = _select([("768P", "768P"), ("1080P", say(messages.FORM_HD_SHORT))], "768P")
        # No default: left alone, an image job gets the operator's default model (bot/models.py).
        self.model = _select([("standard", say(words.FORM_MODEL_STANDARD)), ("fast", say(words.FORM_MODEL_FAST))],
                             placeholder=say(words.FORM_MODEL_DEFAULT))
        self.camera = _select([(m, m) for m in camera.MOVES], most=camera.MAX_COMBINED)
        self.add_item(self.prompt)  # Discord allows five fields: the prompt and four choices
        for label, select, hint in ((messages.FORM_DURATION, self.duration, None),
                                    (messages.FORM_RESOLUTION, self.resolution, None),
                                    (words.FORM_MODEL, self.model, None),
                                    (words.FORM_CAMERA, self.camera, words.FORM_CAMERA_HINT)):
            self.add_item(discord.ui.Label(text=say(label), component=select,
                                           description=say(hint) if hint else None))

    def choices(self) -> dict[str, Any]:
        """What the member picked, as the request's fields (nothing picked: the defaults)."""
        def one(select: discord.ui.Select[Any]) -> str | None:
            return select.values[0] if select.values else None

        return {"duration": one(self.duration), "resolution": one(self.resolution), "model": one(self.model),
                "camera": tuple(self.camera.values)}

    async def on_submit(self, interaction: discord.Interaction) -> None:
        req = self.adapter.request(interaction, "video", prompt=self.prompt.value or None,
                                   attachments=(t.attachment(self.image),), **self.choices())
        await self.adapter.start_video(interaction, req)
