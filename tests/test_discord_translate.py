"""Pure Discord translation with recorded payloads; the invite URL; re-encoding to fit a limit."""

from pathlib import Path

import av

from adapters.discord import translate as t
from adapters.discord.invite import application_id_from_token, invite_url
from adapters.discord.reencode import reencode_to_fit
from bot.ports import StatusView
from bot.providers.render import render_video

SLASH_DATA = {
    "id": "555", "name": "video", "type": 1,
    "options": [{"name": "prompt", "type": 3, "value": "a cat"}, {"name": "duration", "type": 4, "value": 10},
                {"name": "prompt_optimizer", "type": 5, "value": False}, {"name": "image", "type": 11, "value": "777"}],
    "resolved": {"attachments": {"777": {"id": "777", "filename": "in.png", "size": 2048,
                                         "content_type": "image/png", "url": "https://cdn.discordapp.com/a/in.png",
                                         "proxy_url": "https://media.discordapp.net/a/in.png"}}},
}


def test_slash_payload_to_request() -> None:
    req = t.video_request(SLASH_DATA, guild_id="G", channel_id="C", user_id="U", user_name="alice",
                          upload_limit=26214400, permissions=1 << 5)
    assert (req.command, req.prompt, req.duration, req.prompt_optimizer, req.fast_pretreatment) == (
        "video", "a cat", 10, False, None)
    (att,) = req.attachments
    assert (att.url, att.filename, att.size, att.content_type) == (
        "https://cdn.discordapp.com/a/in.png", "in.png", 2048, "image/png")
    assert req.upload_limit == 26214400 and req.is_admin and req.workspace_id == "G"


def test_admin_bits() -> None:
    assert t.is_admin(1 << 3) and t.is_admin(1 << 5) and not t.is_admin((1 << 11) | (1 << 10))


def test_status_embed() -> None:
    view = StatusView("j1", "U", "waves", 6, "1080P", True, True, True, "processing", "Processing", 130.0, 2,
                      credits_left=8)
    embed = t.status_embed(view).to_dict()
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert embed["title"] == "Processing" and embed["description"] == "waves"
    assert fields["Settings"] == "6 s · 1080P · from an image · fast" and fields["Elapsed"] == "2 min 10 s"
    assert fields["Credits"] == "2 (8 left today)" and embed["footer"]["text"] == "job j1"


def test_invite_url_has_exactly_the_needed_permissions() -> None:
    assert application_id_from_token("MTExMTExMTExMTExMTExMTEx.GxYz12.abcdefghijklmnopqrstuvwxyz0123") == \
        "111111111111111111"
    assert application_id_from_token("not a token") is None
    url = invite_url("111111111111111111")
    assert url == ("https://discord.com/oauth2/authorize?client_id=111111111111111111"
                   "&scope=bot+applications.commands&permissions=309237763072")


def test_reencode_fits_the_limit_or_says_it_cannot(tmp_path: Path) -> None:
    src = tmp_path / "in.mp4"
    render_video(src, prompt="detail " * 300, duration=6, resolution="1080P", fps=12)
    limit = src.stat().st_size // 3
    out = tmp_path / "out.mp4"
    assert reencode_to_fit(src, out, limit) and out.stat().st_size <= limit
    with av.open(str(out)) as container:
        assert abs(float(container.duration / av.time_base) - 6) <= 0.5
    assert not reencode_to_fit(src, tmp_path / "tiny.mp4", 20_000)  # a few kbit/s: better to send a link
