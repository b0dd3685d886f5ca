"""Pure Slack translation: payloads in, neutral requests out; views out as Block Kit."""

from pathlib import Path

import pytest

from adapters.slack import translate as t
from bot.contract import InvalidRequest
from bot.ports import StatusView

SLASH = {"team_id": "T1", "channel_id": "C1", "user_id": "U1", "user_name": "alice", "command": "/video"}


def test_slash_video_with_flags() -> None:
    req = t.slash_request({**SLASH, "text": "a quiet harbour --duration 10 --no-optimizer --fast"})
    assert (req.command, req.prompt, req.duration, req.prompt_optimizer, req.fast_pretreatment) == (
        "video", "a quiet harbour", "10", False, True)
    assert (req.platform, req.workspace_id, req.channel_id, req.user_id) == ("slack", "T1", "C1", "U1")


@pytest.mark.parametrize(("text", "command", "job"), [("quota", "quota", None), ("history", "history", None),
                                                       ("HELP", "help", None), ("status ab12", "status", "ab12")])
def test_slash_subcommands(text: str, command: str, job: str | None) -> None:
    req = t.slash_request({**SLASH, "text": text})
    assert (req.command, req.job_id) == (command, job)


def test_empty_slash_opens_the_modal_and_typed_urls_are_refused() -> None:
    assert t.slash_request({**SLASH, "text": "  "}) is None
    with pytest.raises(InvalidRequest, match="can't fetch images"):
        t.slash_request({**SLASH, "text": "cat --image https://evil.example/x.png"})


def test_mention_strips_the_mention_and_keeps_files() -> None:
    file = {"id": "F1", "name": "a.png", "mimetype": "image/png", "size": 10,
            "url_private_download": "https://files.slack.com/files-pri/T1-F1/download/a.png"}
    req = t.mention_request({"type": "app_mention", "user": "U1", "channel": "C1", "ts": "1.0",
                             "text": "<@UBOT> make it snow --duration 10", "files": [file]}, "T1")
    assert (req.prompt, req.duration, req.attachments[0].url, req.attachments[0].file_id) == (
        "make it snow", "10", file["url_private_download"], "F1")


def test_modal_submission_uses_the_shortcut_image_when_none_uploaded() -> None:
    meta = {"channel": "C1", "thread": "9.9", "file": {"id": "F2", "name": "b.jpg", "url_private_download": "u"}}
    view = t.modal_view(meta, chosen=meta["file"])
    body = {"user": {"id": "U1", "team_id": "T1"}, "view": {"private_metadata": view["private_metadata"], "state": {
        "values": {"prompt": {"prompt": {"value": None}},
                   "duration": {"duration": {"selected_option": {"value": "6"}}},
                   "resolution": {"resolution": {"selected_option": {"value": "1080P"}}}}}}}
    req, got = t.modal_request(body)
    assert (req.prompt, req.resolution, req.attachments[0].file_id, got["thread"]) == ("", "1080P", "F2", "9.9")


def test_status_blocks_and_regenerate_button() -> None:
    view = StatusView("j1", "U1", "waves", 6, "768P", True, False, False, "queued", "Waiting for a slot", 65.0, 1,
                      credits_left=4, queue_position=2)
    text, blocks = t.status_message(view)
    flat = str(blocks)
    assert "Waiting for a slot" in text and "#2 in line" in flat and "1 min 5 s" in flat and "4 left today" in flat
    (actions,) = t.regenerate_blocks("j1", 2)
    button = actions["elements"][0]
    assert button["value"] == "j1" and button["text"]["text"] == "Regenerate (2 credits)"


def test_manifest_declares_what_the_code_uses() -> None:
    manifest = (Path(__file__).resolve().parent.parent / "slack" / "manifest.yml").read_text()
    for needed in ("command: /video", "callback_id: animate_image", "app_mention", "socket_mode_enabled: true",
                   "commands", "chat:write", "chat:write.public", "channels:join", "files:write", "files:read",
                   "app_mentions:read", "channels:history", "users:read"):
        assert needed in manifest
