"""Remix and Extend through the real discord.py client against the fake Discord: buttons, modals, the joined video."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from bot.messages import chains as words
from bot.video_files import duration_of, frame_count, last_frame_png
from tests.fakes.discord import FakeDiscord
from tests.test_chains import first_frame, mean_difference
from tests.test_discord_e2e import ALICE, BOB, Bot, delivered


def video_post(fake: FakeDiscord, job) -> dict:
    name = f"hailuo-{job.id}.mp4"
    return next(m for c in fake.channels for m in fake.messages_in(c)
                if any(a["filename"] == name for a in m["attachments"]))


def buttons(message: dict) -> list[str]:
    return [c["custom_id"] for row in message.get("components") or [] for c in row["components"]]


def press(fake: FakeDiscord, job, action: str, user: str = ALICE) -> dict:
    """A click on one of the buttons under the job's video, in the thread it was posted in."""
    post = video_post(fake, job)
    data = {"custom_id": f"hailuo:{action}:{job.id}", "component_type": 2}
    return fake.interaction(3, data, user_id=user, channel_id=post["channel_id"], message=post)


def submit(fake: FakeDiscord, modal: dict, clicked: dict, *, prompt: str, duration: str | None = None) -> dict:
    """The modal sent back with the prompt typed (and a duration chosen), from where the button was pressed."""
    fields = [label["component"] for label in modal["components"]]
    values = []
    for field in fields:
        if field["type"] == 4:
            values.append({"type": 4, "custom_id": field["custom_id"], "value": prompt})
        else:
            default = next(o["value"] for o in field["options"] if o.get("default"))
            chosen = duration if duration and any(o["value"] == duration for o in field["options"]) else default
            values.append({"type": 3, "custom_id": field["custom_id"], "values": [chosen]})
    data = {"custom_id": modal["custom_id"], "components": [{"type": 18, "component": v} for v in values]}
    return fake.interaction(5, data, user_id=clicked["member"]["user"]["id"], channel_id=clicked["channel_id"])


async def modal_for(bot: Bot, fake: FakeDiscord, clicked: dict) -> dict:
    before = len(fake.callbacks)
    await bot.send(clicked)
    await fake.wait_for(lambda: len(fake.callbacks) > before)
    answer = fake.callbacks[-1]
    assert answer["type"] == 9, answer  # the modal is the click's first answer
    return answer["data"]


async def test_remix_with_an_edited_prompt_is_a_new_job_in_the_same_thread(tmp_path: Path,
                                                                          discord_fake: FakeDiscord) -> None:
    fake = discord_fake
    async with Bot(tmp_path, fake, local_fps=8) as bot:
        await bot.video(prompt="a red kite over a hill", duration=10)
        (original,) = await bot.until(delivered())
        post = video_post(fake, original)
        assert buttons(post) == [f"hailuo:regen:{original.id}", f"hailuo:remix:{original.id}",
                                 f"hailuo:extend:{original.id}"]  # Joined video only from a chain's second clip

        # Someone else's video: a private, plain answer; no form, no job.
        await bot.send(press(fake, original, "remix", user=BOB))
        await fake.wait_for(lambda: fake.ephemeral_for(BOB))
        assert fake.ephemeral_for(BOB)[-1]["content"] == words.CHAIN_NOT_YOURS

        clicked = press(fake, original, "remix")
        modal = await modal_for(bot, fake, clicked)
        assert modal["custom_id"] == f"hailuo:chainform:remix:{original.id}"  # the job rides in the form itself
        prompt_field = modal["components"][0]["component"]
        assert prompt_field["value"] == "a red kite over a hill"  # prefilled with the job's words and settings
        durations = modal["components"][1]["component"]["options"]
        assert [o["value"] for o in durations if o.get("default")] == ["10"]
    async with Bot(tmp_path, fake, local_fps=8) as bot:  # restarted while the member typed: the form still works
        await bot.send(submit(fake, modal, clicked, prompt="a blue kite over a hill"))
        jobs = await bot.until(delivered(2))
        (remix,) = [j for j in jobs if j.id != original.id]
        assert remix.request.prompt == "a blue kite over a hill"
        assert (remix.request.duration, remix.request.resolution) == (10, "768P")
        assert [k for k, _, _ in await bot.rt.store.ledger(remix.id)] == ["reserve", "capture"]  # charged once
        assert [k for k, _, _ in await bot.rt.store.ledger(original.id)] == ["reserve", "capture"]
        # Its status message and its video went into the original's thread.
        assert remix.channel_id == original.thread_id
        status_channel, _, status_id = remix.status_message_id.partition(":")
        assert status_channel == original.thread_id
        assert any(m["id"] == status_id and m["embeds"] for m in fake.messages_in(original.thread_id))
        assert video_post(fake, remix)["channel_id"] == original.thread_id
        assert len(fake.channels) == 2  # the channel and the one thread: no thread was opened for the remix


async def test_extend_continues_from_the_last_frame_and_the_chain_is_joined(tmp_path: Path,
                                                                           discord_fake: FakeDiscord) -> None:
    fake = discord_fake
    async with Bot(tmp_path, fake, local_fps=8, extend_max_clips=2) as bot:
        await bot.video(prompt="a lighthouse at dusk")
        (first,) = await bot.until(delivered())
        clicked = press(fake, first, "extend")
        modal = await modal_for(bot, fake, clicked)
        assert modal["components"][0]["component"]["value"] == "a lighthouse at dusk"
        await bot.send(submit(fake, modal, clicked, prompt="the beam sweeps the sea", duration="10"))
        jobs = await bot.until(delivered(2))
        (second,) = [j for j in jobs if j.id != first.id]
        assert (second.chain_parent, second.chain_root, second.chain_index) == (first.id, first.id, 2)
        assert second.request.duration == 10 and second.request.prompt == "the beam sweeps the sea"
        clip = video_post(fake, second)
        assert clip["channel_id"] == first.thread_id
        # The posted clip's first frame is the previous posted clip's last frame.
        last = Image.open(io.BytesIO(last_frame_png(Path(video_post(fake, first)["attachments"][0]["path"]))))
        assert mean_difference(first_frame(clip["attachments"][0]["path"]), last) < 6
        assert f"hailuo:joined:{second.id}" in buttons(clip)

        # The cap (2 clips): refused privately, uncharged.
        await bot.send(press(fake, second, "extend"))
        await fake.wait_for(lambda: any(m["content"] == words.EXTEND_CAP.format(count=2, limit=2)
                                        for m in fake.ephemeral_for(ALICE)))
        assert len(await bot.jobs()) == 2

        clips = sum(Path(video_post(fake, j)["attachments"][0]["path"]).stat().st_size for j in (first, second))
        fake.upload_limit = int(clips * 0.7)  # the joined video does not fit as it is: re-encoded to fit, as a video is
        await bot.send(press(fake, second, "joined"))
        posted = words.JOINED_POSTED.format(count=2, seconds=16)
        await fake.wait_for(lambda: any(m["content"] == posted for m in fake.ephemeral_for(ALICE)), 30)
        joined = next(m for m in fake.messages_in(first.thread_id)
                      if any(a["filename"] == f"hailuo-chain-{second.id}.mp4" for a in m["attachments"]))
        path = Path(joined["attachments"][0]["path"])
        assert joined["attachments"][0]["size"] <= fake.upload_limit
        assert abs(duration_of(path) - 16) < 0.2
        assert frame_count(path) == sum(frame_count(Path(video_post(fake, j)["attachments"][0]["path"]))
                                        for j in (first, second))
        assert buttons(joined) == []  # nothing to regenerate or extend on the joined video itself
        assert len(await bot.jobs()) == 2  # free: no job, no charge
        for job in (first, second):
            assert [k for k, _, _ in await bot.rt.store.ledger(job.id)] == ["reserve", "capture"]
