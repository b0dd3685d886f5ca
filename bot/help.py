"""The help text of each platform: only the commands and options that work there, the camera moves, the costs."""

from __future__ import annotations

from bot import camera, i18n
from bot.config import Settings
from bot.messages import options as words
from bot.models import FAST, offers_fast

_BY_PLATFORM = {"discord": words.HELP_DISCORD, "slack": words.HELP_SLACK}


def help_text(settings: Settings, platform: str, provider: str) -> i18n.Text:
    """What a member on `platform` can do, which camera moves there are, and what each video costs on `provider`."""
    def credits(resolution: str, duration: int, model: str = "") -> int:
        return settings.price_of(resolution, duration, model=model).credits

    parts: list[str] = [
        _BY_PLATFORM.get(platform, words.HELP_CONSOLE),  # the console's (and `generate`'s) for any other
        words.HELP_CAMERA.format(max=camera.MAX_COMBINED, moves=camera.moves_list()),
        words.HELP_COSTS.format(c1=credits("768P", 6), c2=credits("768P", 10), c3=credits("1080P", 6)),
    ]
    if offers_fast(settings, provider):
        parts.append(words.HELP_COSTS_FAST.format(f1=credits("768P", 6, FAST), f2=credits("768P", 10, FAST),
                                                  f3=credits("1080P", 6, FAST)))
    else:
        parts.append(words.HELP_NO_FAST)
    return i18n.join(" ", parts)
