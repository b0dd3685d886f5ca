"""`/video` text parsing shared by the console and Slack."""

import pytest

from bot.contract import InvalidRequest
from bot.parsing import VideoArgs, parse_video_args


def test_flags_and_prompt() -> None:
    args = parse_video_args("a cat's dance --duration 10 --resolution=768P --no-optimizer --fast")
    assert args == VideoArgs("a cat's dance", "10", "768P", False, True)


def test_prompt_only_keeps_inner_spacing_words() -> None:
    assert parse_video_args("sunset over the sea").prompt == "sunset over the sea"


def test_missing_value_and_unknown_option() -> None:
    with pytest.raises(InvalidRequest, match="--duration needs a value"):
        parse_video_args("a cat --duration")
    with pytest.raises(InvalidRequest, match="--loop"):
        parse_video_args("a cat --loop")
