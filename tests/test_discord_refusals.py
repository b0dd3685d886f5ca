"""Issue 19: a refusal reaches only the member who asked, and the channel shows no trace of it.

Driven through the real discord.py client against the fake Discord, which follows Discord's rule for
deferred responses: the first follow-up after a defer resolves the "thinking" message and keeps the
defer's visibility (a public defer cannot be answered ephemerally). These tests assert what members see,
not which endpoint the bot used.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot import messages
from tests.fakes.discord import CHANNEL_ID, GUILD_ID, LOADING, FakeDiscord, snowflake
from tests.test_discord_e2e import ALICE, BOB, Bot, animate_menu, delivered, png

OTHER_CHANNEL = "666666666666666666"


@pytest.fixture
async def fake():
    server = await FakeDiscord().start()
    yield server
    await server.stop()


def _text(message: dict) -> str:
    """Everything a member can read in a message: its content and its embeds."""
    return message.get("content", "") + " " + json.dumps(message.get("embeds") or [])


def threads_of(fake: FakeDiscord, channel_id: str) -> list[dict]:
    return [c for c in fake.channels.values() if c.get("type") == 11 and c.get("parent_id") == channel_id]


async def assert_refused_privately(bot: Bot, fake: FakeDiscord, user: str, words: str, *,
                                   channels: tuple[str, ...] = (CHANNEL_ID,), threads_before: int = 0) -> None:
    """`user`, and only `user`, saw `words`; the channels show no trace: no message, no "thinking", no thread."""

    def answered() -> bool:
        return (any(words in _text(m) for m in fake.ephemeral_for(user))
                or any(words in _text(m) for c in channels for m in fake.ever_shown_in(c)))

    try:
        await fake.wait_for(answered, 15)
    except AssertionError as exc:
        raise AssertionError(f"nobody was ever told {words!r}: {exc}") from None
    await asyncio.sleep(0.5)  # let the bot finish whatever it does after answering (an edit, a delete)
    seen = [_text(m) for m in fake.ephemeral_for(user)]
    shown = {c: [_text(m) for m in fake.ever_shown_in(c)] for c in channels}
    assert any(words in t for t in seen), (
        f"the member never saw {words!r} privately; they saw {seen}; the channel showed {shown}")
    for c in channels:
        assert not [m for m in fake.messages_in(c) if words in _text(m)], f"the refusal is in channel {c}"
        assert not [t for t in shown[c] if words in t], f"the refusal was shown in channel {c}: {shown[c]}"
        assert fake.thinking_in(c) == [], f"a 'thinking' message was left in channel {c}"
    assert not [m for m in fake.ephemeral_for(user) if m.get("flags", 0) & LOADING], "left 'thinking' for the member"
    assert not [m for m in fake.ephemeral if m["user_id"] != user and words in _text(m)], "someone else saw it"
    assert len(threads_of(fake, CHANNEL_ID)) == threads_before, "a thread was opened for a refused request"


async def assert_accepted_in_public(bot: Bot, fake: FakeDiscord, user: str = ALICE) -> None:
    """An accepted job: a public status embed in the channel, a thread opened from it, the video inside."""
    (job,) = await bot.until(delivered())
    statuses = [m for m in fake.messages_in(CHANNEL_ID) if m["embeds"]]
    assert len(statuses) == 1, f"expected one public status message, channel has {fake.messages_in(CHANNEL_ID)}"
    status = statuses[0]
    assert not status.get("flags", 0) & 64
    (thread,) = threads_of(fake, CHANNEL_ID)
    assert thread["id"] == status["id"], "the thread was not opened from the status message"
    assert job.thread_id == thread["id"]
    (post,) = [m for m in fake.messages_in(thread["id"]) if m["attachments"]]
    assert post["content"].startswith(f"<@{user}> here is your video")
    assert post["attachments"][0]["filename"] == f"hailuo-{job.id}.mp4"
    await fake.wait_for(lambda: status["embeds"][0].get("title") == "Delivered")
    assert fake.thinking_in(CHANNEL_ID) == []
    assert not [m for m in fake.ephemeral_for(user) if m.get("flags", 0) & LOADING], "left 'thinking' for the member"


def admin(fake: FakeDiscord, action: str, *, user: str | None = None, channel: str | None = None) -> dict:
    """A `/video-admin` call from a member with Manage Server."""
    opts: list[dict] = [{"name": "action", "type": 3, "value": action}]
    resolved: dict = {}
    if user is not None:
        opts.append({"name": "user", "type": 6, "value": user})
        resolved["users"] = {user: {"id": user, "username": "bob", "discriminator": "0", "avatar": None}}
    if channel is not None:
        opts.append({"name": "channel", "type": 7, "value": channel})
        resolved["channels"] = {channel: {"id": channel, "type": 0, "name": "videos", "permissions": "0",
                                          "guild_id": GUILD_ID}}
    data = {"id": snowflake(), "name": "video-admin", "type": 1, "options": opts, "resolved": resolved}
    return fake.interaction(2, data, user_id=ALICE, permissions=str(1 << 5))


async def animate(bot: Bot, fake: FakeDiscord, image: dict, prompt: str, user: str = ALICE) -> None:
    """`Animate image` on a message with `image`, then the modal submitted with `prompt`."""
    before = len(fake.callbacks)
    await bot.send(fake.interaction(2, animate_menu(image, user, "look"), user_id=user))
    await fake.wait_for(lambda: len(fake.callbacks) > before and fake.callbacks[-1]["type"] == 9)
    modal = fake.callbacks[-1]["data"]
    text_input = modal["components"][0]["components"][0]
    submit = {"custom_id": modal["custom_id"], "components": [{"type": 1, "components": [
        {"type": 4, "custom_id": text_input["custom_id"], "value": prompt}]}]}
    await bot.send(fake.interaction(5, submit, user_id=user))


# -- refusals -------------------------------------------------------------------------------------


async def test_video_without_credits_is_refused_privately(tmp_path: Path, fake: FakeDiscord) -> None:
    async with Bot(tmp_path, fake, quota_user_daily_credits=0) as bot:
        await bot.video(prompt="a paper boat on a pond")
        await assert_refused_privately(bot, fake, ALICE, "you have 0 left today")
        assert await bot.jobs() == []


async def test_video_with_a_too_small_image_is_refused_privately(tmp_path: Path, fake: FakeDiscord) -> None:
    async with Bot(tmp_path, fake) as bot:
        tiny = fake.add_attachment("tiny.png", png(100, 100), "image/png")
        await bot.video(attachment=tiny, prompt="zoom in")
        await assert_refused_privately(bot, fake, ALICE, messages.IMAGE_TOO_SMALL.format(w=100, h=100))
        assert any(p == "tiny.png" for p in fake.files)  # the refusal came after the download
        assert await bot.jobs() == []


async def test_animate_image_with_a_too_small_image_is_refused_privately(tmp_path: Path, fake: FakeDiscord) -> None:
    async with Bot(tmp_path, fake) as bot:
        tiny = fake.add_attachment("tiny-cat.png", png(100, 100), "image/png")
        await animate(bot, fake, tiny, "the cat blinks")
        await assert_refused_privately(bot, fake, ALICE, messages.IMAGE_TOO_SMALL.format(w=100, h=100))
        assert await bot.jobs() == []


async def test_regenerate_by_another_member_is_refused_privately(tmp_path: Path, fake: FakeDiscord) -> None:
    async with Bot(tmp_path, fake) as bot:
        await bot.video(prompt="a red kite")
        (job,) = await bot.until(delivered())
        post = next(m for m in fake.messages_in(job.thread_id) if m["attachments"])
        in_thread, in_channel = len(fake.messages_in(job.thread_id)), len(fake.messages_in(CHANNEL_ID))
        press = {"custom_id": f"hailuo:regen:{job.id}", "component_type": 2}
        await bot.send(fake.interaction(3, press, user_id=BOB, channel_id=job.thread_id, message=post))
        await assert_refused_privately(bot, fake, BOB, messages.REGENERATE_NOT_YOURS,
                                       channels=(CHANNEL_ID, job.thread_id), threads_before=1)
        assert len(fake.messages_in(job.thread_id)) == in_thread and len(fake.messages_in(CHANNEL_ID)) == in_channel
        assert len(await bot.jobs()) == 1


async def test_blocked_member_is_refused_privately(tmp_path: Path, fake: FakeDiscord) -> None:
    async with Bot(tmp_path, fake) as bot:
        await bot.send(admin(fake, "block", user=BOB))
        await fake.wait_for(lambda: any("can no longer" in m["content"] for m in fake.ephemeral_for(ALICE)))
        await bot.video(user=BOB, prompt="let me in")
        await assert_refused_privately(bot, fake, BOB, messages.USER_BLOCKED)
        assert await bot.jobs() == []


async def test_channel_not_on_the_allow_list_is_refused_privately(tmp_path: Path, fake: FakeDiscord) -> None:
    fake.channels[OTHER_CHANNEL] = {"id": OTHER_CHANNEL, "type": 0, "guild_id": GUILD_ID, "name": "videos",
                                    "position": 1}  # a real text channel, known to the client from the start
    async with Bot(tmp_path, fake) as bot:
        await bot.send(admin(fake, "channel-allow", channel=OTHER_CHANNEL))
        await fake.wait_for(lambda: any("added" in m["content"] for m in fake.ephemeral_for(ALICE)))
        await bot.video(user=BOB, prompt="here please")
        await assert_refused_privately(bot, fake, BOB, "Videos can't be made in this channel")
        assert await bot.jobs() == []


# -- accepted requests, for contrast -------------------------------------------------------------


async def test_accepted_text_video_shows_a_public_status_and_thread(tmp_path: Path, fake: FakeDiscord) -> None:
    async with Bot(tmp_path, fake) as bot:
        await bot.video(prompt="a paper boat on a pond")
        await assert_accepted_in_public(bot, fake)


async def test_accepted_image_video_shows_a_public_status_and_thread(tmp_path: Path, fake: FakeDiscord) -> None:
    async with Bot(tmp_path, fake) as bot:
        image = fake.add_attachment("frame.png", png(), "image/png")
        await bot.video(attachment=image, prompt="slow zoom")
        await assert_accepted_in_public(bot, fake)
