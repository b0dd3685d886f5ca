"""The Hailuo 2.3 contract: good inputs accepted, each bad one refused with its own message."""

import pytest

from bot import messages
from bot.config import Settings
from bot.contract import FirstFrame, InvalidRequest, VideoRequest

FRAME = FirstFrame("/tmp/x.png", "image/png", 800, 600)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"prompt": "a cat"}, ("a cat", 6, "768P", True, False)),
        ({"prompt": "  a cat  ", "duration": 10}, ("a cat", 10, "768P", True, False)),
        ({"prompt": "a cat", "duration": "10s", "resolution": "768p"}, ("a cat", 10, "768P", True, False)),
        ({"prompt": "a cat", "resolution": "1080P", "duration": "6"}, ("a cat", 6, "1080P", True, False)),
        ({"prompt": "a cat", "prompt_optimizer": False, "fast_pretreatment": True}, ("a cat", 6, "768P", False, True)),
        ({"prompt": "x" * 2000}, ("x" * 2000, 6, "768P", True, False)),
        ({"prompt": "", "has_image": True}, ("", 6, "768P", True, False)),
        ({"prompt": None, "first_frame": FRAME}, ("", 6, "768P", True, False)),
        ({"prompt": "line one\nline two\tand a tab"}, ("line one\nline two\tand a tab", 6, "768P", True, False)),
    ],
)
def test_good_inputs(kwargs: dict, expected: tuple) -> None:
    req = VideoRequest.build(**kwargs)
    assert (req.prompt, req.duration, req.resolution, req.prompt_optimizer, req.fast_pretreatment) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prompt": "x" * 2001}, messages.PROMPT_TOO_LONG.format(limit=2000, got=2001)),
        ({"prompt": ""}, messages.PROMPT_REQUIRED),
        ({"prompt": "   "}, messages.PROMPT_REQUIRED),
        ({"prompt": None}, messages.PROMPT_REQUIRED),
        ({"prompt": "a\x00cat"}, messages.PROMPT_CONTROL_CHARS),
        ({"prompt": "a\x1b[31mcat"}, messages.PROMPT_CONTROL_CHARS),
        ({"prompt": "a cat", "duration": 7}, messages.BAD_DURATION.format(got=7)),
        ({"prompt": "a cat", "duration": "ten"}, messages.BAD_DURATION.format(got="ten")),
        ({"prompt": "a cat", "resolution": "720P"}, messages.BAD_RESOLUTION.format(got="720P")),
        ({"prompt": "a cat", "resolution": "1080P", "duration": 10}, messages.HD_ONLY_SHORT),
    ],
)
def test_bad_inputs_each_have_their_message(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        VideoRequest.build(**kwargs)
    assert str(err.value) == message


def test_costs_default_and_overridden() -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert defaults.price_of("768P", 6).credits == 1
    assert defaults.price_of("768P", 10).credits == 2
    assert defaults.price_of("1080P", 6).credits == 2
    assert (defaults.price_of("768P", 6).usd, defaults.price_of("1080P", 6).usd) == (0.28, 0.49)
    table = Settings(_env_file=None, credits_768p_6s=3, credits_768p_10s=5, credits_1080p_6s=7)  # type: ignore[call-arg]
    req = VideoRequest.build("a", resolution="1080P")
    assert table.price_of(req.resolution, req.duration).credits == 7


def test_json_round_trip_keeps_first_frame() -> None:
    req = VideoRequest.build("a dog", duration=10, first_frame=FRAME)
    assert VideoRequest.from_json(req.to_json()) == req
    assert req.mode == "i2v" and VideoRequest.build("a").mode == "t2v"
