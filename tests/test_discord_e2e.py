"""The real discord.py client and the Discord adapter, end to end against a local fake Discord."""

from __future__ import annotations

import asyncio
import base64
import io
import time
from pathlib import Path

import av
import discord
import pytest
from PIL import Image

from adapters.discord.app import DiscordAdapter
from bot import messages
from bot.cli.runtime import open_runtime
from bot.jobs import JobStatus
from bot.providers.minimax import MiniMaxProvider
from tests.conftest import make_settings
from tests.fakes.discord import CHANNEL_ID, GUILD_ID, FakeDiscord, snowflake
from tests.fakes.minimax import FakeMiniMax

ALICE, BOB = "444444444444444444", "555555555555555555"


def png(w: int = 640, h: int = 480) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 120, 40)).save(buf, "PNG")
    return buf.getvalue()


class Bot:
    """A runtime and the Discord adapter connected to the fake; helpers to send interactions."""

    def __init__(self, tmp_path: Path, fake: FakeDiscord, provider=None, **settings: object) -> None:
        self.fake = fake
        self.provider = provider
        values = {"local_delay_seconds": 0.3, "poll_first_seconds": 0.2, "poll_max_seconds": 0.4, **settings}
        self.settings = make_settings(
            tmp_path, discord_token=fake.token, discord_api_base_url=fake.api_url,
            discord_gateway_url=fake.gateway_url, discord_guild_ids=GUILD_ID, **values)

    async def __aenter__(self) -> Bot:
        self._saved = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
        self._rt = open_runtime(self.settings, provider=self.provider)
        self.rt = await self._rt.__aenter__()
        self.adapter = DiscordAdapter(self.settings, self.rt.context)
        await self.adapter.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.rt.poller.stop(5)
        await self.adapter.aclose()
        await self._rt.__aexit__(None, None, None)
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self._saved

    async def send(self, payload: dict) -> dict:
        self.fake.remember(payload)
        await self.fake.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def video(self, *, user: str = ALICE, attachment: dict | None = None, limit: int | None = None,
                    **options: object) -> dict:
        opts = [{"name": k, "type": {str: 3, int: 4, bool: 5}[type(v)], "value": v} for k, v in options.items()]
        data = {"id": snowflake(), "name": "video", "type": 1, "options": opts}
        if attachment is not None:
            opts.append({"name": "image", "type": 11, "value": attachment["id"]})
            data["resolved"] = {"attachments": {attachment["id"]: attachment}}
        return await self.send(self.fake.interaction(2, data, user_id=user, limit=limit))

    async def jobs(self) -> list:
        return await self.rt.store.history("discord", ALICE, 50) + await self.rt.store.history("discord", BOB, 50)

    async def until(self, predicate, seconds: float = 30) -> list:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            jobs = await self.jobs()
            if predicate(jobs):
                return jobs
            await asyncio.sleep(0.05)
        raise AssertionError([(j.id, j.status, j.error) for j in await self.jobs()])


def private(fake: FakeDiscord) -> list[dict]:
    """Messages only the one member saw: ephemeral answers and follow-ups (whoever they were for)."""
    return fake.ephemeral


def animate_menu(image: dict, user: str = ALICE, content: str = "my cat") -> dict:
    """The `Animate image` message command's data, on a message of `user`'s carrying `image`."""
    target = {"id": snowflake(), "channel_id": CHANNEL_ID, "type": 0, "content": content,
              "author": {"id": user, "username": "member", "discriminator": "0", "avatar": None},
              "attachments": [image], "embeds": [], "mentions": [], "mention_roles": [],
              "timestamp": discord.utils.utcnow().isoformat(), "edited_timestamp": None, "flags": 0}
    return {"id": snowflake(), "name": "Animate image", "type": 3, "target_id": target["id"],
            "resolved": {"messages": {target["id"]: target}}}


def delivered(n: int = 1):
    return lambda jobs: sum(j.status is JobStatus.DELIVERED for j in jobs) >= n


@pytest.fixture
async def fake():
    server = await FakeDiscord().start()
    yield server
    await server.stop()


async def test_commands_synced_with_option_types_and_choices(tmp_path: Path, fake: FakeDiscord) -> None:
    async with Bot(tmp_path, fake):
        commands = {c["name"]: c for c in fake.commands[GUILD_ID]}
        assert set(commands) == {"video", "video-quota", "video-history", "video-admin", "video-cancel",
                                 "video-preset", "video-repost", "video-help", "video-status", "Animate image"}
        assert int(commands["video-admin"]["default_member_permissions"]) == 1 << 5  # Manage Server
        options = {o["name"]: o for o in commands["video"]["options"]}
        assert options["prompt"]["type"] == 3 and options["prompt"]["max_length"] == 2000
        assert options["image"]["type"] == 11
        assert options["duration"]["type"] == 4 and [c["value"] for c in options["duration"]["choices"]] == [6, 10]
        assert [c["value"] for c in options["resolution"]["choices"]] == ["768P", "1080P"]
        assert {o["name"] for o in options.values() if o["type"] == 5} == {"prompt_optimizer", "fast_pretreatment"}
        assert [c["value"] for c in options["model"]["choices"]] == ["standard", "fast"]
        assert options["camera"]["type"] == 3 and options["camera"]["autocomplete"] is True
        assert commands["Animate image"]["type"] == 3
        assert sum(p.startswith("applications/") and "commands" in p for p in fake.paths("PUT")) == 1


async def test_video_answered_at_once_then_delivered_in_the_thread(tmp_path: Path, fake: FakeDiscord) -> None:
    async with Bot(tmp_path, fake) as bot:
        payload = await bot.video(prompt="a paper boat on a pond", duration=6)
        await fake.wait_for(lambda: fake.callbacks, 3)
        # Answered inside the deadline, publicly, with the status itself: a text request needs no slow work,
        # so the refusal-or-acceptance is known before the first answer and nothing is deferred.
        assert fake.callbacks[0]["type"] == 4 and fake.callbacks[0]["data"]["embeds"]
        assert not fake.callbacks[0]["data"].get("flags", 0) & 64
        first_after = next(p for m, p, _ in fake.calls if p.startswith("interactions/"))
        assert first_after.startswith(f"interactions/{payload['id']}/")
        (job,) = await bot.until(delivered())
        status = fake.messages_in(CHANNEL_ID)[0]
        assert job.thread_id == status["id"]  # the thread was started from the status message
        (post,) = [m for m in fake.messages_in(job.thread_id) if m["attachments"]]
        assert post["content"].startswith(f"<@{ALICE}> here is your video")
        assert post["attachments"][0]["filename"] == f"hailuo-{job.id}.mp4"
        with av.open(post["attachments"][0]["path"]) as container:
            assert container.streams.video[0].codec_context.name == "h264"
        assert post["components"][0]["components"][0]["custom_id"] == f"hailuo:regen:{job.id}"
        # the status embed was edited through the channel endpoint with the bot token
        assert any(m == "PATCH" and p == f"channels/{CHANNEL_ID}/messages/{status['id']}" for m, p, _ in fake.calls)
        await fake.wait_for(lambda: fake.messages_in(CHANNEL_ID)[0]["embeds"][0]["title"] == "Delivered")
        assert [k for k, _, _ in await bot.rt.store.ledger(job.id)] == ["reserve", "capture"]


async def test_image_attachment_reaches_the_provider_as_a_data_url(tmp_path: Path, fake: FakeDiscord,
                                                                   sample_mp4: bytes) -> None:
    minimax = await FakeMiniMax(video=sample_mp4).start()
    provider = MiniMaxProvider(minimax.api_key, minimax.base_url)
    async with Bot(tmp_path, fake, provider) as bot:
        image = fake.add_attachment("frame.png", png(), "image/png")
        await bot.video(attachment=image, prompt="slow zoom")
        await bot.until(delivered())
    await minimax.stop()
    assert minimax.submissions[0]["first_frame_image"] == "data:image/png;base64," + base64.b64encode(png()).decode()


async def test_bad_attachment_and_bad_options_get_private_errors_and_no_job(tmp_path: Path, fake: FakeDiscord) -> None:
    async with Bot(tmp_path, fake, quota_user_daily_credits=1) as bot:
        await bot.video(prompt="x", resolution="1080P", duration=10)
        await fake.wait_for(lambda: fake.callbacks)
        assert fake.callbacks[0]["type"] == 4 and fake.callbacks[0]["data"]["flags"] == 64
        assert fake.callbacks[0]["data"]["content"] == messages.HD_ONLY_SHORT
        await fake.wait_for(lambda: len(fake.ephemeral_for(ALICE)) == 1)
        notes = fake.add_attachment("notes.png", b"plain text, not a picture", "image/png")
        await bot.video(attachment=notes)
        # the refusal reaches only Alice (an ephemeral message), whichever way the bot answers
        await fake.wait_for(lambda: any(m["content"] == messages.IMAGE_NOT_IMAGE for m in fake.ephemeral_for(ALICE)))
        await bot.video(prompt="a long one", duration=10)
        await fake.wait_for(lambda: any("you have 1 left today" in m["content"] for m in fake.ephemeral_for(ALICE)))
        assert all(m["flags"] & 64 for m in fake.ephemeral_for(ALICE))
        assert await bot.jobs() == [] and fake.messages_in(CHANNEL_ID) == []
        assert not [m for m in fake.ever_shown_in(CHANNEL_ID) if m["content"]]  # nothing was ever said in public


async def test_over_the_upload_limit_is_re_encoded_to_fit(tmp_path: Path, fake: FakeDiscord) -> None:
    async with Bot(tmp_path, fake) as bot:
        fake.upload_limit = 250_000
        await bot.video(prompt="static " * 200, resolution="1080P", limit=fake.upload_limit)
        (job,) = await bot.until(delivered())
        assert Path(job.video_path).stat().st_size > fake.upload_limit
        (post,) = [m for m in fake.messages_in(job.thread_id) if m["attachments"]]
        assert post["attachments"][0]["size"] <= fake.upload_limit
        with av.open(post["attachments"][0]["path"]) as container:
            assert abs(float(container.duration / av.time_base) - 6) <= 0.5


async def test_no_thread_permission_delivers_in_the_channel(tmp_path: Path, fake: FakeDiscord) -> None:
    async with Bot(tmp_path, fake) as bot:
        fake.forbid_threads = True
        await bot.video(prompt="windmills")
        (job,) = await bot.until(delivered())
        assert job.thread_id is None
        assert any(m["attachments"] for m in fake.messages_in(CHANNEL_ID))


async def test_deleted_thread_falls_back_to_the_channel(tmp_path: Path, fake: FakeDiscord) -> None:
    async with Bot(tmp_path, fake, local_delay_seconds=1.0) as bot:
        await bot.video(prompt="lanterns")
        (job,) = await bot.until(lambda jobs: jobs and jobs[0].thread_id)
        fake.delete_channel(job.thread_id)
        (job,) = await bot.until(delivered())
        assert any(m["attachments"] for m in fake.messages_in(CHANNEL_ID))


async def test_regenerate_after_a_restart_only_for_the_requester_or_an_admin(tmp_path: Path, fake: FakeDiscord) -> None:
    async with Bot(tmp_path, fake) as bot:
        await bot.video(prompt="a red kite")
        (job,) = await bot.until(delivered())
    post = next(m for m in fake.messages_in(job.thread_id) if m["attachments"])

    def press(user: str, permissions: str = "0") -> dict:
        data = {"custom_id": f"hailuo:regen:{job.id}", "component_type": 2}
        thread = fake.channels[job.thread_id]
        return fake.interaction(3, data, user_id=user, permissions=permissions, channel_id=thread["id"],
                                message=post)

    async with Bot(tmp_path, fake) as bot:  # a new client on the same database
        await bot.send(press(BOB))
        await fake.wait_for(lambda: fake.ephemeral_for(BOB))
        assert fake.ephemeral_for(BOB)[-1]["content"] == messages.REGENERATE_NOT_YOURS
        await bot.send(press(ALICE))
        await bot.until(delivered(2))
        await bot.send(press(BOB, permissions=str(1 << 5)))  # Manage Server
        jobs = await bot.until(delivered(3))
        assert sorted(j.user_id for j in jobs if j.regenerated_from == job.id) == [ALICE, BOB]


async def test_job_older_than_the_interaction_token_is_still_delivered(tmp_path: Path, fake: FakeDiscord) -> None:
    async with Bot(tmp_path, fake, local_delay_seconds=1.0) as bot:
        payload = await bot.video(prompt="an old request")
        await bot.until(lambda jobs: jobs and jobs[0].status_message_id)
        # Fifteen minutes pass: the interaction token is dead; every later call must use the bot token.
        fake.fail_next("PATCH", rf"webhooks/\d+/{payload['token']}/.*", 401, {"message": "Invalid Webhook Token",
                                                                             "code": 50027})
        fake.calls.clear()
        (job,) = await bot.until(delivered())
        assert any(m["attachments"] for m in fake.messages_in(job.thread_id))
        assert not [p for p in fake.paths() if payload["token"] in p]


async def test_animate_image_context_menu_opens_a_modal_then_makes_the_video(tmp_path: Path, fake: FakeDiscord) -> None:
    async with Bot(tmp_path, fake) as bot:
        image = fake.add_attachment("cat.png", png(), "image/png")
        await bot.send(fake.interaction(2, animate_menu(image)))
        await fake.wait_for(lambda: fake.callbacks and fake.callbacks[-1]["type"] == 9)
        modal = fake.callbacks[-1]["data"]
        text_input = modal["components"][0]["components"][0]
        submit = {"custom_id": modal["custom_id"], "components": [{"type": 1, "components": [
            {"type": 4, "custom_id": text_input["custom_id"], "value": "the cat blinks"}]}]}
        await bot.send(fake.interaction(5, submit))
        (job,) = await bot.until(delivered())
        assert job.request.prompt == "the cat blinks" and job.request.first_frame is not None


async def test_admin_command_checked_on_the_server_side(tmp_path: Path, fake: FakeDiscord) -> None:
    def admin(caller: str, permissions: str, **options: object) -> dict:
        opts = [{"name": "action", "type": 3, "value": options.pop("action")}]
        resolved = {}
        if "user" in options:
            target = options.pop("user")
            opts.append({"name": "user", "type": 6, "value": target})
            resolved["users"] = {target: {"id": target, "username": "bob", "discriminator": "0", "avatar": None}}
        opts += [{"name": k, "type": 4, "value": v} for k, v in options.items()]
        data = {"id": snowflake(), "name": "video-admin", "type": 1, "options": opts, "resolved": resolved}
        return fake.interaction(2, data, user_id=caller, permissions=permissions)

    async with Bot(tmp_path, fake) as bot:
        # Discord hides the command from members without Manage Server; a forged call is refused anyway.
        await bot.send(admin(BOB, "0", action="quota-set", user=BOB, credits=50))
        await fake.wait_for(lambda: any(m["content"] == messages.ADMIN_ONLY for m in private(fake)))
        assert await bot.rt.store.limits("discord", GUILD_ID) == []
        await bot.send(admin(ALICE, str(1 << 5), action="quota-set", user=BOB, credits=1))
        await fake.wait_for(lambda: any("set to 1" in m["content"] for m in private(fake)))
        assert await bot.rt.store.limits("discord", GUILD_ID) == [(BOB, 1, f"discord:{ALICE}")]
        await bot.send(admin(ALICE, str(1 << 3), action="block", user=BOB))
        await fake.wait_for(lambda: any("can no longer" in m["content"] for m in private(fake)))
        await bot.video(user=BOB, prompt="let me in")
        await fake.wait_for(lambda: any(m["content"] == messages.USER_BLOCKED for m in private(fake)))
        assert await bot.jobs() == []


@pytest.mark.parametrize(("shard_ids", "registers"), [("1", False), ("0", True)])
async def test_a_shard_identifies_as_itself_and_only_shard_zero_registers(tmp_path: Path, fake: FakeDiscord,
                                                                          shard_ids: str, registers: bool) -> None:
    async with Bot(tmp_path, fake, discord_shard_count=2, discord_shard_ids=shard_ids):
        assert [d.get("shard") for d in fake.identified] == [[int(shard_ids), 2]]
        synced = [p for m, p, _ in fake.calls if m == "PUT" and p.endswith("/commands")]
        assert bool(synced) is registers
