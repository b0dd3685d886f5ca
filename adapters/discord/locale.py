"""Discord's command names, descriptions and choices in every language the bot speaks (name_localizations)."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.i18n import SOURCE, gettext_in, normalize

# Option names stay as they are (the interaction reports them by these names); the rest is translated.
_KEPT = {app_commands.TranslationContextLocation.parameter_name}


class CatalogTranslator(app_commands.Translator):
    """discord.py's Translator over the bot's gettext catalogs; None where a language has no translation."""

    async def translate(self, string: app_commands.locale_str, locale: discord.Locale,
                        context: app_commands.TranslationContextTypes) -> str | None:
        """The catalog's words for `string` in `locale`, or None to leave Discord's default (English)."""
        spoken = normalize(locale.value)
        if spoken is None or spoken == SOURCE or context.location in _KEPT:
            return None
        said = gettext_in(spoken, string.message)
        return said if said != string.message else None
