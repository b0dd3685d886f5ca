"""Issue 15 on Discord, through the real discord.py client against the fake: the Fast model, camera moves,
the Animate image form's options, /video-help and /video-status."""

from __future__ import annotations

import re
from pathlib import Path

from bot import messages
from bot.i18n import render
from bot.messages import options as words
from bot.providers.minimax import FAST_MODEL, MiniMaxProvider
from tests.fakes.discord import CHANNEL_ID, GUILD_ID, FakeDiscord, snowflake
from tests.fakes.minimax import FakeMiniMax
from tests.test_discord_e2e import ALICE, Bot, animate_menu, delivered, png
from tests.test_discord_refusals import assert_refused_privately, threads_of


async def nothing_charged(bot: Bot, fake: FakeDiscord) -> None:
    """No job, no credit held or spent, no status message or thread in the channel."""
    assert await bot.jobs() == []
    usage = await bot.rt.core.answers.usage("discord", GUILD_ID, ALICE)
    assert usage.user_used == 0 and usage.user_left == usage.user_limit
    assert [m for m in fake.messages_in(CHANNEL_ID) if m.get("embeds")] == [] and threads_of(fake, CHANNEL_ID) == []


async def test_the_fast_model_for_text_alone_is_refused_before_anything_is_accepted(
        tmp_path: Path, discord_fake: FakeDiscord) -> None:
    async with Bot(tmp_path, discord_fake) as bot:
        await bot.video(prompt="a paper boat", model="fast")
        await assert_refused_privately(bot, discord_fake, ALICE, str(words.FAST_NEEDS_IMAGE)[:40])
        await nothing_charged(bot, discord_fake)


async def test_a_fast_image_job_is_priced_by_model_and_sent_as_the_fast_model(
        tmp_path: Path, discord_fake: FakeDiscord, sample_mp4: bytes) -> None:
    minimax = await FakeMiniMax(video=sample_mp4).start()
    provider = MiniMaxProvider(minimax.api_key, minimax.base_url)
    try:
        async with Bot(tmp_path, discord_fake, provider, hailuo_provider="minimax", minimax_api_key=minimax.api_key,
                       credits_768p_10s=2, credits_fast_768p_10s=1) as bot:
            image = discord_fake.add_attachment("cat.png", png(), "image/png")
            await bot.video(prompt="the cat blinks", model="fast", duration=10, attachment=image)
            (job,) = await bot.until(delivered())
            assert (job.request.model, job.cost, job.price_usd) == ("fast", 1, 0.32)
            assert [k for k, _, _ in await bot.rt.store.ledger(job.id)] == ["reserve", "capture"]
            status = discord_fake.messages_in(CHANNEL_ID)[0]
            assert "Fast model" in status["embeds"][0]["fields"][0]["value"]
    finally:
        await minimax.stop()
    (sent,) = minimax.submissions
    assert sent["model"] == FAST_MODEL and sent["duration"] == 10 and sent["first_frame_image"]


async def test_camera_moves_are_suggested_and_end_up_in_the_prompt(tmp_path: Path, discord_fake: FakeDiscord) -> None:
    async with Bot(tmp_path, discord_fake) as bot:
        typing = {"id": snowflake(), "name": "video", "type": 1, "options": [
            {"name": "prompt", "type": 3, "value": "a fox"},
            {"name": "camera", "type": 3, "value": "pan left, ped", "focused": True}]}
        await bot.send(discord_fake.interaction(4, typing))
        await discord_fake.wait_for(lambda: any(c["type"] == 8 for c in discord_fake.callbacks))
        offered = [c["value"] for c in next(c for c in discord_fake.callbacks if c["type"] == 8)["data"]["choices"]]
        assert "Pan left,Pedestal up" in offered
        await bot.video(prompt="a fox in the snow", camera="Pan left,Pedestal up")
        (job,) = await bot.until(delivered())
        assert job.request.prompt == "a fox in the snow [Pan left,Pedestal up]"


async def test_a_bad_bracket_is_refused_uncharged(tmp_path: Path, discord_fake: FakeDiscord) -> None:
    async with Bot(tmp_path, discord_fake) as bot:
        await bot.video(prompt="a fox [Pan sideways] in the snow")
        await assert_refused_privately(bot, discord_fake, ALICE, "\u201cPan sideways\u201d is not a camera move")
        await bot.video(prompt="a fox", camera="Pan left,Pan right,Zoom in,Shake")
        await assert_refused_privately(bot, discord_fake, ALICE, "at most 3 camera moves")
        await nothing_charged(bot, discord_fake)


async def test_the_animate_form_asks_for_duration_resolution_model_and_camera(
        tmp_path: Path, discord_fake: FakeDiscord) -> None:
    fake = discord_fake
    async with Bot(tmp_path, fake) as bot:
        image = fake.add_attachment("cat.png", png(), "image/png")
        await bot.send(fake.interaction(2, animate_menu(image)))
        await fake.wait_for(lambda: fake.callbacks and fake.callbacks[-1]["type"] == 9)
        modal = fake.callbacks[-1]["data"]
        text_input = modal["components"][0]["components"][0]
        labels = {c["label"]: c["component"] for c in modal["components"][1:]}
        assert list(labels) == ["Duration", "Resolution", "Model", "Camera moves (up to 3)"]
        assert [o["value"] for o in labels["Duration"]["options"]] == ["6", "10"]
        moves = labels["Camera moves (up to 3)"]
        assert moves["max_values"] == 3 and len(moves["options"]) == 15
        picked = {"Duration": ["10"], "Resolution": ["768P"], "Model": ["fast"], "Camera moves (up to 3)": ["Push in"]}
        submit = {"custom_id": modal["custom_id"], "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": text_input["custom_id"], "value": "the cat blinks"}]},
            *({"type": 18, "component": {"type": 3, "custom_id": labels[name]["custom_id"], "values": values}}
              for name, values in picked.items())]}
        await bot.send(fake.interaction(5, submit))
        (job,) = await bot.until(delivered())
        assert (job.request.duration, job.request.resolution, job.request.model) == (10, "768P", "fast")
        assert job.request.prompt == "the cat blinks [Push in]" and job.request.first_frame is not None
        assert job.cost == bot.settings.credits_fast_768p_10s


async def test_video_help_lists_only_commands_that_exist_and_video_status_answers(
        tmp_path: Path, discord_fake: FakeDiscord) -> None:
    fake = discord_fake
    async with Bot(tmp_path, fake) as bot:
        await bot.send(fake.interaction(2, {"id": snowflake(), "name": "video-help", "type": 1}))
        await fake.wait_for(lambda: any("Camera moves" in m["content"] for m in fake.ephemeral_for(ALICE)))
        text = next(m["content"] for m in fake.ephemeral_for(ALICE) if "Camera moves" in m["content"])
        registered = {c["name"] for c in fake.commands[GUILD_ID]}
        named = set(re.findall(r"/([a-z][a-z-]*)", text))
        assert named and named <= registered, named - registered
        assert "[Pan left]" in text and "With the Fast model" in text and "--image" not in text
        assert text == render(bot.rt.core.help_text("discord"), "en")[:2000]
        await bot.video(prompt="a paper boat")
        (job,) = await bot.until(delivered())
        await bot.send(fake.interaction(2, {"id": snowflake(), "name": "video-status", "type": 1,
                                            "options": [{"name": "job", "type": 3, "value": job.id}]}))
        await fake.wait_for(lambda: any(m["content"].startswith(f"{job.id} Delivered")
                                        for m in fake.ephemeral_for(ALICE)))
        await bot.send(fake.interaction(2, {"id": snowflake(), "name": "video-status", "type": 1}))
        await fake.wait_for(lambda: any(m["content"] == str(messages.NO_ACTIVE_JOBS)
                                        for m in fake.ephemeral_for(ALICE)))
