"""Camera moves (issue 15): brackets in a prompt checked and spelled as the model reads them; picked moves added."""

from __future__ import annotations

import pytest

from adapters.discord.help import camera_suggestions
from bot import camera
from bot.contract import InvalidRequest, VideoRequest
from bot.messages import options as words


def test_brackets_are_spelled_as_the_model_reads_them() -> None:
    prompt = VideoRequest.build("a fox [pan LEFT ,  pedestal up] in the snow, then [Static shot]").prompt
    assert prompt == "a fox [Pan left,Pedestal up] in the snow, then [Static shot]"
    assert VideoRequest.build("一只狐狸 [Pan left，Zoom in]").prompt == "一只狐狸 [Pan left,Zoom in]"
    assert len(camera.MOVES) == 15 and "[Tracking shot]" in camera.moves_list()
    link = "a cat [Discord login](https://evil) [zoom in]"  # a link's text is no camera command (shown inert)
    assert VideoRequest.build(link).prompt == "a cat [Discord login](https://evil) [Zoom in]"


@pytest.mark.parametrize(("prompt", "message"), [
    ("a fox [Pan sideways]", words.CAMERA_UNKNOWN.format(move="Pan sideways", moves=camera.moves_list())),
    ("a fox [Pan left,Pan right,Zoom in,Shake]", words.CAMERA_TOO_MANY.format(count=4, max=3)),
    ("a fox [Pan left", words.CAMERA_UNBALANCED),
    ("a fox Pan left]", words.CAMERA_UNBALANCED),
    ("a fox [[Pan left]]", words.CAMERA_UNBALANCED),
    ("a fox [ ]", words.CAMERA_EMPTY.format(moves=camera.moves_list())),
])
def test_a_bad_bracket_is_refused_naming_the_problem(prompt: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        VideoRequest.build(prompt)
    assert str(err.value) == str(message)


def test_camera_moves_alone_describe_no_scene_but_may_steer_an_image() -> None:
    with pytest.raises(InvalidRequest) as err:
        VideoRequest.build("[Push in]")
    assert "describe the video" in str(err.value)
    assert VideoRequest.build("[Push in]", has_image=True).prompt == "[Push in]"


def test_picked_moves_join_the_prompt_in_one_bracket() -> None:
    picked = ["pan left", " Pedestal up", "Pan left"]
    assert camera.with_moves("a fox", picked) == ("a fox [Pan left,Pedestal up]", None)
    assert camera.with_moves("", ["Zoom in"]) == ("[Zoom in]", None)
    assert camera.with_moves("a fox", []) == ("a fox", None)
    _, problem = camera.with_moves("a fox", ["Pan left", "Pan right", "Zoom in", "Shake"])
    assert str(problem) == str(words.CAMERA_TOO_MANY.format(count=4, max=3))
    _, problem = camera.with_moves("a fox", ["Dolly zoom"])
    assert "Dolly zoom" in str(problem)


def test_discord_suggests_moves_as_they_are_typed() -> None:
    assert camera_suggestions("pan") == ["Pan left", "Pan right"]
    assert camera_suggestions("Pan left, ped")[:3] == ["Pan left", "Pan left,Pedestal up", "Pan left,Pedestal down"]
    assert camera_suggestions("Pan left,Pedestal up,Zoom in") == ["Pan left,Pedestal up,Zoom in"]  # three: no more
    assert len(camera_suggestions("")) == 15 and len(camera_suggestions("Shake,")) == 15  # Shake, then the 14 others
