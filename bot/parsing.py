"""Parse `/video` text (`a cat --duration 10 --resolution 1080P --no-optimizer --fast --model fast --preset noir`)."""

from __future__ import annotations

from dataclasses import dataclass

from bot import messages
from bot.contract import InvalidRequest
from bot.messages import options as option_words

_FLAGS_WITH_VALUE = {"--duration": "duration", "-d": "duration", "--resolution": "resolution", "-r": "resolution",
                     "--image": "image", "--preset": "preset", "--model": "model", "-m": "model"}
_SWITCHES = {
    "--no-optimizer": ("prompt_optimizer", False),
    "--no-prompt-optimizer": ("prompt_optimizer", False),
    "--optimizer": ("prompt_optimizer", True),
    "--fast": ("fast_pretreatment", True),  # fast pretreatment, as it always meant; the Fast model is --model fast
    "--fast-pretreatment": ("fast_pretreatment", True),
    "--fast-model": ("model", "fast"),
}


@dataclass(frozen=True)
class VideoArgs:
    """The pieces of a `/video` command line; values are unvalidated strings."""

    prompt: str = ""
    duration: str | None = None
    resolution: str | None = None
    prompt_optimizer: bool | None = None
    fast_pretreatment: bool | None = None
    image: str | None = None
    preset: str | None = None  # `--preset NAME` (bot/presets.py)
    model: str | None = None


def parse_video_args(text: str) -> VideoArgs:
    """Split flags from the prompt; everything that is not a known flag is prompt text."""
    words = text.split(" ")
    values: dict[str, object] = {}
    prompt: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        name, _, inline = word.partition("=")
        key = name.lower()
        if key in _FLAGS_WITH_VALUE:
            if inline:
                values[_FLAGS_WITH_VALUE[key]] = inline
            elif i + 1 < len(words) and words[i + 1].strip():
                values[_FLAGS_WITH_VALUE[key]] = words[i + 1].strip()
                i += 1
            else:
                raise InvalidRequest(messages.OPTION_NEEDS_VALUE.format(option=name))
        elif key in _SWITCHES:
            field, value = _SWITCHES[key]
            values[field] = value
        elif key.startswith("--") and len(key) > 2:
            raise InvalidRequest(option_words.UNKNOWN_OPTION.format(option=name))
        else:
            prompt.append(word)
        i += 1
    return VideoArgs(prompt=" ".join(prompt).strip(), **values)  # type: ignore[arg-type]
