"""The Hailuo 2.3 input contract: the one place its rules live, with each video's cost."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from bot import camera, messages
from bot.messages import options as option_words

MAX_PROMPT_CHARS = 2000
DURATIONS = (6, 10)
RESOLUTIONS = ("768P", "1080P")
MODELS = ("standard", "fast")  # Hailuo 2.3, and its Fast model (image-to-video only): see bot/models.py


class InvalidRequest(ValueError):
    """A user-caused problem with a request; its message is shown to the user as is."""


@dataclass(frozen=True)
class FirstFrame:
    """A checked first-frame image kept on disk (its bytes are never stored in the database)."""

    path: str
    mime: str
    width: int
    height: int


@dataclass(frozen=True)
class VideoRequest:
    """A validated request for one Hailuo 2.3 video."""

    prompt: str = ""
    duration: int = 6
    resolution: str = "768P"
    prompt_optimizer: bool = True
    fast_pretreatment: bool = False
    first_frame: FirstFrame | None = field(default=None)
    model: str = "standard"

    @classmethod
    def build(
        cls,
        prompt: str | None = None,
        *,
        duration: int | str | None = None,
        resolution: str | None = None,
        prompt_optimizer: bool | None = None,
        fast_pretreatment: bool | None = None,
        has_image: bool = False,
        first_frame: FirstFrame | None = None,
        model: str | None = None,
    ) -> VideoRequest:
        """Check raw user input against the contract and return the request, or raise InvalidRequest."""
        text = (prompt or "").strip()
        has_image = has_image or first_frame is not None
        if len(text) > MAX_PROMPT_CHARS:
            raise InvalidRequest(messages.PROMPT_TOO_LONG.format(limit=MAX_PROMPT_CHARS, got=len(text)))
        if any(_is_surrogate(ch) for ch in text):
            raise InvalidRequest(messages.PROMPT_NOT_TEXT)
        if any(_is_control(ch) for ch in text):
            raise InvalidRequest(messages.PROMPT_CONTROL_CHARS)
        if text and not any(_is_visible(ch) for ch in text):
            raise InvalidRequest(messages.PROMPT_INVISIBLE)
        text, problem = camera.checked(text)  # every bracket a known camera move, at most three in one
        if problem is not None:
            raise InvalidRequest(problem)
        if not has_image and not camera.description(text):
            raise InvalidRequest(messages.PROMPT_REQUIRED)  # camera moves alone describe no scene
        model = model or "standard"
        if model not in MODELS:
            raise InvalidRequest(option_words.BAD_MODEL.format(got=model))
        if model == "fast" and not has_image:
            raise InvalidRequest(option_words.FAST_NEEDS_IMAGE)
        seconds = _parse_duration(duration)
        res = _parse_resolution(resolution)
        if res == "1080P" and seconds != 6:
            raise InvalidRequest(messages.HD_ONLY_SHORT)
        return cls(
            prompt=text,
            duration=seconds,
            resolution=res,
            prompt_optimizer=True if prompt_optimizer is None else bool(prompt_optimizer),
            fast_pretreatment=False if fast_pretreatment is None else bool(fast_pretreatment),
            first_frame=first_frame,
            model=model,
        )

    def with_first_frame(self, frame: FirstFrame) -> VideoRequest:
        """Return a copy carrying the checked first frame."""
        return replace(self, first_frame=frame)

    @property
    def fast(self) -> bool:
        """Whether this video uses the Fast model."""
        return self.model == "fast"

    @property
    def mode(self) -> str:
        """`i2v` with a first frame, else `t2v`."""
        return "i2v" if self.first_frame else "t2v"

    def to_json(self) -> str:
        """Serialise for storage; the standard model is left out, so such a job reads as it did before models."""
        data = asdict(self)
        if data["model"] == "standard":
            del data["model"]
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> VideoRequest:
        """Rebuild from `to_json` output (fields a newer version added are ignored)."""
        data: dict[str, Any] = json.loads(text)
        frame = data.pop("first_frame", None)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known}, first_frame=FirstFrame(**frame) if frame else None)


def _is_control(ch: str) -> bool:
    # Newlines and tabs are ordinary in prompts; other control characters are not.
    return (ord(ch) < 32 and ch not in "\n\t") or 0x7F <= ord(ch) < 0xA0


def _is_surrogate(ch: str) -> bool:
    # A lone surrogate is what Python makes of bytes that are not UTF-8 (argv, surrogateescape); it
    # cannot be encoded to send to the provider or shown back, so it never reaches a job.
    return 0xD800 <= ord(ch) <= 0xDFFF


# Letters that render as nothing although Unicode files them as letters or symbols (Hangul fillers,
# the blank Braille pattern, the Mongolian vowel separator).
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
# Spaces, format characters (zero-width space, joiners, word joiner, BOM) and marks that only combine.
_INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Mn", "Me", "Cs"})


def _is_visible(ch: str) -> bool:
    # A prompt of only invisible characters would be charged for a video of nothing the user typed.
    return ch not in _BLANK_LOOKING and unicodedata.category(ch) not in _INVISIBLE_CATEGORIES


def _parse_duration(value: int | str | None) -> int:
    if value is None or value == "":
        return 6
    try:
        seconds = int(str(value).strip().rstrip("sS"))
    except ValueError:
        raise InvalidRequest(messages.BAD_DURATION.format(got=value)) from None
    if seconds not in DURATIONS:
        raise InvalidRequest(messages.BAD_DURATION.format(got=value))
    return seconds


def _parse_resolution(value: str | None) -> str:
    if value is None or value == "":
        return "768P"
    res = str(value).strip().upper()
    if res not in RESOLUTIONS:
        raise InvalidRequest(messages.BAD_RESOLUTION.format(got=value))
    return res
