"""The real slack-bolt app, end to end against a local fake Slack, in HTTP mode and Socket Mode."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import socket
import time
import urllib.parse
import uuid
from pathlib import Path

import av
import httpx
import pytest
from PIL import Image

from adapters.slack.app import SlackAdapter
from bot import messages
from bot.cli.runtime import open_runtime
from bot.jobs import JobStatus
from bot.providers.minimax import MiniMaxProvider
from tests.conftest import make_settings
from tests.fakes.minimax import FakeMiniMax
from tests.fakes.slack import FakeSlack, sign

SECRET = "fake-signing-secret-0123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def png(w: int = 640, h: int = 480) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (90, 20, 160)).save(buf, "PNG")
    return buf.getvalue()


def opened_view(fake: FakeSlack) -> dict:
    view = fake.args_of("views.open")[-1]["view"]
    return json.loads(view) if isinstance(view, str) else view


class Bot:
    """A runtime plus the Slack adapter in HTTP mode, and a client that sends signed requests."""

    def __init__(self, tmp_path: Path, fake: FakeSlack, provider=None, **settings: object) -> None:
        self.fake = fake
        self.provider = provider
        self.port = free_port()
        self.settings = make_settings(
            tmp_path, slack_bot_token=fake.bot_token, slack_signing_secret=SECRET, slack_api_url=fake.api_url,
            slack_port=self.port, local_delay_seconds=0.3, poll_first_seconds=0.2, poll_max_seconds=0.4, **settings)

    async def __aenter__(self) -> Bot:
        self._rt = open_runtime(self.settings, provider=self.provider)
        self.rt = await self._rt.__aenter__()
        self.adapter = SlackAdapter(self.settings, self.rt.context)
        await self.adapter.start()
        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()
        await self.rt.poller.stop(5)
        await self.adapter.aclose()
        await self._rt.__aexit__(None, None, None)

    async def send(self, body: str, *, secret: str = SECRET, ts: int | None = None) -> httpx.Response:
        return await self.http.post("/slack/events", content=body, headers=sign(body, secret, ts))

    async def slash(self, text: str, user: str = "U1", channel: str = "C1") -> httpx.Response:
        form = {"token": "legacy", "team_id": "T1", "team_domain": "fake", "channel_id": channel, "user_id": user,
                "user_name": user.lower(), "command": "/video", "text": text, "api_app_id": "A1",
                "response_url": self.fake.response_url(), "trigger_id": uuid.uuid4().hex}
        return await self.send(urllib.parse.urlencode(form))

    async def interactive(self, payload: dict) -> httpx.Response:
        return await self.send(urllib.parse.urlencode({"payload": json.dumps(payload)}))

    async def event(self, event: dict) -> httpx.Response:
        body = {"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                "event_id": f"Ev{time.time_ns()}", "event_time": int(time.time()), "event": event}
        return await self.send(json.dumps(body))

    async def jobs(self) -> list:
        return await self.rt.store.history("slack", "U1", limit=50) + await self.rt.store.history("slack", "U2")

    async def until_delivered(self, count: int = 1) -> None:
        await self.fake.wait_for(lambda: len([u for u in self.fake.uploads.values() if "size" in u]) >= count, 30)
        for _ in range(200):
            jobs = await self.jobs()
            if sum(j.status is JobStatus.DELIVERED for j in jobs) >= count:
                return
            await asyncio.sleep(0.05)
        raise AssertionError([j.status for j in jobs])


@pytest.fixture
async def fake():
    server = await FakeSlack().start()
    yield server
    await server.stop()


async def test_video_command_acked_at_once_then_delivered_in_the_thread(tmp_path: Path, fake: FakeSlack) -> None:
    async with Bot(tmp_path, fake) as bot:
        started = time.monotonic()
        ack = await bot.slash("a lighthouse in a storm --duration 10")
        assert ack.status_code == 200 and time.monotonic() - started < 3
        await bot.until_delivered()
        (job,) = await bot.jobs()
        root = fake.messages["C1"][0]
        assert job.thread_id == root["ts"] and job.request.duration == 10
        (upload,) = fake.uploads.values()
        assert upload["thread_ts"] == root["ts"] and upload["channel"] == "C1"
        assert upload["size"] == Path(job.video_path).stat().st_size
        assert {"files.getUploadURLExternal", "files.completeUploadExternal"} <= set(fake.methods())
        with av.open(upload["path"]) as container:  # the bytes Slack received are a real video
            assert container.streams.video[0].codec_context.name == "h264"
        assert upload["comment"].startswith("<@U1> here is your video")
        await fake.wait_for(lambda: "Delivered" in json.dumps(fake.messages["C1"][0]["blocks"]))
        buttons = [m for m in fake.messages["C1"] if m.get("blocks") and "hailuo_regenerate" in json.dumps(m["blocks"])]
        assert len(buttons) == 1 and buttons[0]["thread_ts"] == root["ts"]
        assert [k for k, _, _ in await bot.rt.store.ledger(job.id)] == ["reserve", "capture"]


async def test_forged_and_stale_requests_are_refused(tmp_path: Path, fake: FakeSlack) -> None:
    async with Bot(tmp_path, fake) as bot:
        body = urllib.parse.urlencode({"command": "/video", "text": "x", "team_id": "T1", "channel_id": "C1",
                                       "user_id": "U1", "trigger_id": "t"})
        assert (await bot.send(body, secret="wrong-secret")).status_code == 401
        assert (await bot.send(body, ts=int(time.time()) - 600)).status_code == 401
        await asyncio.sleep(0.2)
        assert "chat.postMessage" not in fake.methods() and await bot.jobs() == []


async def test_bad_input_answered_privately_and_free(tmp_path: Path, fake: FakeSlack) -> None:
    async with Bot(tmp_path, fake) as bot:
        # Both are refused in the acknowledgement itself: no database, no follow-up message needed.
        hd = (await bot.slash("a cat --resolution 1080P --duration 10")).json()
        assert hd == {"response_type": "ephemeral", "text": messages.HD_ONLY_SHORT}
        refused = (await bot.slash("a cat --image https://example.com/cat.png")).json()
        assert refused["response_type"] == "ephemeral" and refused["text"].startswith("I can't fetch images")
        await asyncio.sleep(0.3)
        assert fake.responses == [] and "chat.postMessage" not in fake.methods() and await bot.jobs() == []


async def test_over_quota_user_told_and_not_charged(tmp_path: Path, fake: FakeSlack) -> None:
    async with Bot(tmp_path, fake, quota_user_daily_credits=1) as bot:
        await bot.slash("a long film --duration 10")
        await fake.wait_for(lambda: len(fake.responses) == 1)
        assert "you have 1 left today (daily limit 1)" in fake.responses[0]["text"]
        assert "chat.postMessage" not in fake.methods() and await bot.jobs() == []
        await bot.slash("quota")
        await fake.wait_for(lambda: len(fake.responses) == 2)
        assert "used 0 of 1 credit," in fake.responses[1]["text"]


async def test_modal_with_an_uploaded_image(tmp_path: Path, fake: FakeSlack, sample_mp4: bytes) -> None:
    minimax = await FakeMiniMax(video=sample_mp4).start()
    provider = MiniMaxProvider(minimax.api_key, minimax.base_url)
    async with Bot(tmp_path, fake, provider) as bot:
        await bot.slash("")
        await fake.wait_for(lambda: "views.open" in fake.methods())
        view = opened_view(fake)
        assert view["callback_id"] == "hailuo_video_modal"
        assert any(b.get("element", {}).get("type") == "file_input" for b in view["blocks"])
        file = fake.add_file("frame.png", png(), "image/png")
        state = {"prompt": {"prompt": {"type": "plain_text_input", "value": "slow zoom"}},
                 "duration": {"duration": {"type": "static_select", "selected_option": {"value": "6"}}},
                 "resolution": {"resolution": {"type": "static_select", "selected_option": {"value": "768P"}}},
                 "image": {"image": {"type": "file_input", "files": [file]}}}
        payload = {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U1", "team_id": "T1"},
                   "api_app_id": "A1", "trigger_id": "1.2.y",
                   "view": {"id": "V1", "type": "modal", "callback_id": "hailuo_video_modal",
                            "private_metadata": view["private_metadata"], "state": {"values": state}}}
        assert (await bot.interactive(payload)).status_code == 200
        await bot.until_delivered()
        (job,) = await bot.jobs()
        assert job.request.first_frame is not None and job.request.prompt == "slow zoom"
    await minimax.stop()
    sent = minimax.submissions[0]
    assert sent["first_frame_image"] == "data:image/png;base64," + base64.b64encode(png()).decode()
    assert sent["prompt"] == "slow zoom"


async def test_mention_with_an_image_and_a_non_image(tmp_path: Path, fake: FakeSlack) -> None:
    async with Bot(tmp_path, fake) as bot:
        parent = fake._post("C1", text="look at this")  # a conversation the mention replies in
        text_file = fake.add_file("notes.png", b"not really a picture", "image/png")
        await bot.event({"type": "app_mention", "user": "U1", "channel": "C1", "ts": "1700000001.000001",
                         "thread_ts": parent["ts"], "text": "<@UBOT> animate this", "files": [text_file]})
        await fake.wait_for(lambda: "chat.postEphemeral" in fake.methods())
        assert fake.args_of("chat.postEphemeral")[0]["text"] == messages.IMAGE_NOT_IMAGE
        assert await bot.rt.store.active_jobs() == []
        image = fake.add_file("frame.png", png(), "image/png")
        await bot.event({"type": "app_mention", "user": "U1", "channel": "C1", "ts": "1700000001.000002",
                         "thread_ts": parent["ts"], "text": "<@UBOT> make it drift", "files": [image]})
        await bot.until_delivered()
        job = next(j for j in await bot.jobs() if j.status is JobStatus.DELIVERED)
        assert job.thread_id == parent["ts"] and job.request.first_frame is not None
        assert next(iter(fake.uploads.values()))["thread_ts"] == parent["ts"]


async def test_animate_image_shortcut_opens_the_modal(tmp_path: Path, fake: FakeSlack) -> None:
    async with Bot(tmp_path, fake) as bot:
        file = fake.add_file("cat.webp", png(), "image/webp")
        payload = {"type": "message_action", "callback_id": "animate_image", "trigger_id": "1.2.z",
                   "team": {"id": "T1"}, "user": {"id": "U1"}, "channel": {"id": "C1"},
                   "message": {"type": "message", "ts": "1700000002.000001", "text": "cat", "files": [file]},
                   "response_url": fake.response_url()}
        await bot.interactive(payload)
        await fake.wait_for(lambda: "views.open" in fake.methods())
        view = opened_view(fake)
        meta = json.loads(view["private_metadata"])
        assert meta["file"]["id"] == file["id"] and meta["thread"] == "1700000002.000001"
        assert "cat.webp" in json.dumps(view["blocks"])


async def test_joins_a_public_channel_it_is_not_in(tmp_path: Path, fake: FakeSlack) -> None:
    async with Bot(tmp_path, fake) as bot:
        await bot.slash("harbour at dusk", channel="C2")
        await bot.until_delivered()
        assert "conversations.join" in fake.methods()
        await bot.slash("harbour at dawn", channel="G9")  # private: cannot join
        await fake.wait_for(lambda: len(fake.responses) == 1)
        assert "/invite @" in fake.responses[0]["text"] and "Nothing was charged" in fake.responses[0]["text"]
        assert len(await bot.jobs()) == 1


async def test_regenerate_limited_to_the_requester_and_works_after_a_restart(tmp_path: Path, fake: FakeSlack) -> None:
    async with Bot(tmp_path, fake) as bot:
        await bot.slash("a red kite")
        await bot.until_delivered()
        (job,) = await bot.jobs()

    def click(user: str) -> dict:
        return {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": user, "team_id": "T1"},
                "api_app_id": "A1", "trigger_id": uuid.uuid4().hex, "channel": {"id": "C1"},
                "container": {"type": "message", "channel_id": "C1", "message_ts": "1"},
                "message": {"type": "message", "ts": "1", "thread_ts": job.thread_id},
                "actions": [{"type": "button", "action_id": "hailuo_regenerate", "value": job.id,
                             "block_id": "b", "action_ts": "1.2"}], "response_url": fake.response_url()}

    async with Bot(tmp_path, fake) as bot:  # a new process on the same database
        await bot.interactive(click("U2"))
        await fake.wait_for(lambda: "chat.postEphemeral" in fake.methods())
        assert fake.args_of("chat.postEphemeral")[-1]["text"] == messages.REGENERATE_NOT_YOURS
        await bot.interactive(click("U1"))
        await bot.until_delivered(2)
        again = [j for j in await bot.jobs() if j.regenerated_from == job.id]
        assert len(again) == 1 and again[0].request.prompt == "a red kite"
        fake.admins.add("U3")
        await bot.interactive(click("U3"))  # a workspace admin may too
        await fake.wait_for(lambda: len(fake.uploads) == 3 and all("size" in u for u in fake.uploads.values()), 30)


async def test_socket_mode_acks_the_envelope_and_delivers(tmp_path: Path, fake: FakeSlack) -> None:
    settings = make_settings(tmp_path, slack_bot_token=fake.bot_token, slack_app_token=fake.app_token,
                             slack_api_url=fake.api_url, local_delay_seconds=0.3, poll_first_seconds=0.2)
    async with open_runtime(settings) as rt:
        adapter = SlackAdapter(settings, rt.context)
        await adapter.start()
        try:
            await fake.wait_for(lambda: fake._ws is not None)
            envelope = await fake.send_envelope("slash_commands", {
                "team_id": "T1", "channel_id": "C1", "user_id": "U1", "command": "/video", "text": "snowfall",
                "response_url": fake.response_url(), "trigger_id": uuid.uuid4().hex, "api_app_id": "A1"})
            ack = await fake.wait_ack(envelope)
            assert ack["envelope_id"] == envelope
            await fake.wait_for(lambda: any("size" in u for u in fake.uploads.values()), 30)
        finally:
            await rt.poller.stop(5)
            await adapter.aclose()


async def test_admin_commands_only_for_workspace_admins(tmp_path: Path, fake: FakeSlack) -> None:
    async with Bot(tmp_path, fake, slack_admin_user_ids="U7") as bot:
        await bot.slash("admin quota set 1 <@U2|bob>", user="U2")
        await fake.wait_for(lambda: len(fake.responses) == 1)
        assert fake.responses[0]["text"] == messages.ADMIN_ONLY
        assert await bot.rt.store.limits("slack", "T1") == []
        fake.admins.add("U1")  # a workspace admin, from users.info
        await bot.slash("admin quota set 1 <@U2|bob>")
        await bot.slash("admin channels allow <#C2|videos>", user="U7")  # named in SLACK_ADMIN_USER_IDS
        await fake.wait_for(lambda: len(fake.responses) == 3)
        # Two admins' commands: their answers may come in either order.
        assert "Daily credits for <@U2> set to 1." in {r["text"] for r in fake.responses[1:3]}
        assert await bot.rt.store.limits("slack", "T1") == [("U2", 1, "slack:U1")]
        assert await bot.rt.store.allowed_channels("slack", "T1") == ["C2"]
        await bot.slash("cats &amp; dogs", channel="C1")  # not an allowed channel any more
        await fake.wait_for(lambda: len(fake.responses) == 4)
        assert fake.responses[3]["text"] == messages.CHANNEL_NOT_ALLOWED.format(channels="<#C2>")
        await bot.slash("admin log")
        await fake.wait_for(lambda: len(fake.responses) == 5)
        log = fake.responses[4]["text"]
        assert "U7 allow_channel C2" in log and "U1 set_limit user U2 = 1" in log
