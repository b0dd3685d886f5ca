"""The Fast model per request (issue 15): chosen or defaulted, refused for text before anything is accepted, priced."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import models
from bot.commands import CommandRequest
from bot.config import Price
from bot.contract import InvalidRequest, VideoRequest
from bot.help import help_text
from bot.i18n import render
from bot.messages import options as words
from bot.providers.cloudflare import CloudflareProvider
from bot.providers.fal import endpoint_for
from bot.providers.replicate import ReplicateProvider
from bot.tasks import TaskSupervisor
from tests.conftest import make_settings
from tests.test_cli import hailuo, ledger_rows


def test_prices_by_model(tmp_path: Path) -> None:
    s = make_settings(tmp_path, credits_fast_1080p_6s=3, provider_prices="minimax-fast:768P_10S=0.30")
    assert [s.price_of("768P", 6, model=m) for m in ("", "fast")] == [Price(1, 0.28), Price(1, 0.19)]
    assert s.price_of("1080P", 6, model="fast") == Price(3, 0.33)
    assert s.price_of("768P", 10, provider="minimax", model="fast") == Price(1, 0.30)  # the host's own table
    assert s.price_of("768P", 10, provider="minimax") == Price(2, 0.56)


def test_the_member_choice_the_operator_default_and_text_only(tmp_path: Path) -> None:
    s = make_settings(tmp_path)
    assert models.model_for(s, "minimax", "fast", has_image=True) == "fast"
    assert models.model_for(s, "minimax", None, has_image=True) == "standard"
    with pytest.raises(InvalidRequest) as err:
        models.model_for(s, "minimax", "Fast", has_image=False)
    assert str(err.value) == str(words.FAST_NEEDS_IMAGE)
    with pytest.raises(InvalidRequest) as err:
        models.model_for(s, "minimax", "turbo", has_image=True)
    assert "turbo" in str(err.value)
    for default in ({"hailuo_default_model": "fast"}, {"minimax_model": "MiniMax-Hailuo-2.3-Fast"}):
        s = make_settings(tmp_path, **default)
        assert models.model_for(s, "minimax", None, has_image=True) == "fast"
        assert models.model_for(s, "minimax", None, has_image=False) == "standard"  # never for text alone
        assert models.model_for(s, "minimax", "standard", has_image=True) == "standard"
    custom = make_settings(tmp_path, replicate_model="someone/other-video-model")
    with pytest.raises(InvalidRequest) as err:
        models.model_for(custom, "replicate", "fast", has_image=True)
    assert str(err.value) == str(words.FAST_NOT_OFFERED.format(provider="replicate"))
    assert not models.offers_fast(custom, "replicate") and models.offers_fast(custom, "cloudflare")


def test_the_contract_refuses_fast_without_an_image_and_the_request_remembers_it() -> None:
    with pytest.raises(InvalidRequest):
        VideoRequest.build("a cat", model="fast")
    request = VideoRequest.build("", has_image=True, model="fast")
    assert VideoRequest.from_json(request.to_json()).model == "fast"
    standard = VideoRequest.build("a cat")
    assert "model" not in standard.to_json()  # a standard job reads as it did before models
    assert VideoRequest.from_json('{"prompt": "x", "duration": 6, "resolution": "768P", "prompt_optimizer": true,'
                                  ' "fast_pretreatment": false, "first_frame": null, "later": 1}').model == "standard"


async def test_each_provider_names_the_fast_model_its_own_way() -> None:
    fast = VideoRequest("waves", model="fast")
    assert CloudflareProvider("a", "t", supervisor=TaskSupervisor()).body(fast, "data:image/png;base64,x")["model"] \
        == "minimax/hailuo-2.3-fast"
    replicate = ReplicateProvider("t", model="minimax/hailuo-2.3-fast")
    assert (replicate.model_for(fast), replicate.model_for(VideoRequest("x"))) == (
        "minimax/hailuo-2.3-fast", "minimax/hailuo-2.3")
    fal = endpoint_for(fast, fast=fast.fast, has_image=True)
    assert fal == "fal-ai/minimax/hailuo-2.3-fast/standard/image-to-video"
    await replicate.aclose()


def test_help_per_platform_lists_camera_moves_and_fast_costs(tmp_path: Path) -> None:
    s = make_settings(tmp_path, credits_fast_768p_6s=4)
    slack, discord, console = (render(help_text(s, p, "minimax"), "en") for p in ("slack", "discord", "console"))
    assert "/quota" not in slack.replace("/video quota", "") and "--image" not in slack
    assert "--image PATH" in console and "/quota" in console and "/remix JOB" in console
    assert "/video-status" in discord and "--duration" not in discord
    for text in (slack, discord, console):
        assert "[Tracking shot]" in text and "With the Fast model: 768P 6 s = 4 credits" in text
    no_fast = render(help_text(make_settings(tmp_path, replicate_model="x/y"), "slack", "replicate"), "en")
    assert str(words.HELP_NO_FAST) in no_fast


def test_generate_fast_without_an_image_exits_2_and_charges_nothing(tmp_path: Path) -> None:
    result = hailuo(tmp_path, "generate", "a paper boat", "--fast")
    assert result.returncode == 2 and "only animates an image" in result.stderr
    assert ledger_rows(tmp_path) == []


def test_generate_fast_with_an_image_and_camera_moves(tmp_path: Path) -> None:
    import sqlite3

    from PIL import Image

    Image.new("RGB", (640, 480), (10, 80, 160)).save(tmp_path / "frame.png")
    result = hailuo(tmp_path, "generate", "waves", "--image", str(tmp_path / "frame.png"), "--fast",
                    "--camera", "push in,Shake", "--duration", "10")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        (text, cost, usd), = conn.execute("SELECT request, cost, price_usd FROM jobs").fetchall()
    request = VideoRequest.from_json(text)
    assert (request.model, request.prompt, request.duration) == ("fast", "waves [Push in,Shake]", 10)
    assert (cost, usd) == (1, 0.32)  # CREDITS_FAST_768P_10S and the Fast list price, not 2 and $0.56
    assert ledger_rows(tmp_path) == [("reserve", 1), ("capture", 1)]


def test_console_requests_carry_the_model() -> None:
    from adapters.console.translate import to_request

    req = to_request("/video a cat --image cat.png --model fast --fast", user_id="u")
    assert isinstance(req, CommandRequest)
    assert (req.model, req.fast_pretreatment) == ("fast", True)  # --fast stays fast pretreatment
    assert to_request("/video a cat --fast-model", user_id="u").model == "fast"


async def test_the_fast_model_on_a_host_without_it_is_refused_before_anything_is_accepted(tmp_path: Path) -> None:
    from bot.core import Core
    from bot.ports import AttachmentRef
    from storage import SQLiteStore
    from tests.helpers import FakeChatPort

    settings = make_settings(tmp_path, replicate_model="someone/other-video-model")
    store = await SQLiteStore.open(settings.database_path)
    port = FakeChatPort()
    core = Core(settings, store, provider_name="replicate", ports={"fake": port})
    req = CommandRequest("fake", "w", "c", "u1", "video", prompt="waves", model="fast",
                         attachments=(AttachmentRef("att://1", "a.png"),))
    reply = await core.handle(req)
    assert not reply.ok and reply.text == str(words.FAST_NOT_OFFERED.format(provider="replicate"))
    assert await store.history("fake", "u1", 10) == [] and port.sent == []  # nothing fetched, held or posted
    await store.close()
