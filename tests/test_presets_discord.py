"""Presets through the real discord.py client against the fake Discord: /video-preset and /video's preset option."""

from __future__ import annotations

import time
from pathlib import Path

from bot.contract import MAX_PROMPT_CHARS
from bot.days import utc_day
from bot.messages import presets as say
from bot.presets import WORKSPACE
from tests.fakes.discord import GUILD_ID, LOADING, FakeDiscord, snowflake
from tests.test_discord_e2e import ALICE, BOB, Bot

MANAGE_SERVER = str(1 << 5)
ROOMY = {"quota_user_max_in_flight": 10}  # several videos of one member at a time


def option(name: str, value: object, **extra: object) -> dict:
    return {"name": name, "type": {str: 3, int: 4, bool: 5}[type(value)], "value": value, **extra}


async def private_answer(bot: Bot, fake: FakeDiscord, payload: dict) -> str:
    """Send an interaction and return the answer only its member saw (once it is no longer "thinking")."""
    await bot.send(payload)

    def answered() -> list[dict]:
        return [m for m in fake.ephemeral if m["token"] == payload["token"] and m["content"]
                and not m.get("flags", 0) & LOADING]

    await fake.wait_for(answered)
    return answered()[-1]["content"]


def preset_command(fake: FakeDiscord, action: str, *, user: str = ALICE, permissions: str = "0",
                   **options: object) -> dict:
    data = {"id": snowflake(), "name": "video-preset", "type": 1,
            "options": [option("action", action), *(option(k, v) for k, v in options.items())]}
    return fake.interaction(2, data, user_id=user, permissions=permissions)


async def test_the_commands_are_declared_with_autocomplete(tmp_path: Path, discord_fake: FakeDiscord) -> None:
    async with Bot(tmp_path, discord_fake):
        commands = {c["name"]: c for c in discord_fake.commands[GUILD_ID]}
        options = {o["name"]: o for o in commands["video-preset"]["options"]}
        assert [c["value"] for c in options["action"]["choices"]] == ["save", "list", "use", "delete"]
        assert options["name"]["autocomplete"] is True and options["text"]["max_length"] == 2000
        assert {o["name"] for o in options.values() if o["type"] == 5} == {"prompt_optimizer", "fast_pretreatment",
                                                                            "shared"}
        video = {o["name"]: o for o in commands["video"]["options"]}
        assert video["preset"]["type"] == 3 and video["preset"]["autocomplete"] is True


async def test_a_preset_saved_listed_offered_applied_and_deleted(tmp_path: Path, discord_fake: FakeDiscord) -> None:
    fake = discord_fake
    async with Bot(tmp_path, fake, **ROOMY) as bot:
        saved = await private_answer(bot, fake, preset_command(fake, "save", name="noir", duration=10,
                                                               text="{prompt}, film noir, rain"))
        assert saved == say.PRESET_SAVED_OWN.format(name="noir")
        listed = await private_answer(bot, fake, preset_command(fake, "list"))
        assert "noir (yours): {prompt}, film noir, rain [10 s]" in listed
        trap = "[log in](https://evil.example) **now**"
        await private_answer(bot, fake, preset_command(fake, "save", name="trap", text=trap))
        listed = await private_answer(bot, fake, preset_command(fake, "list"))
        assert "\\[log in](https://evil.example) \\*\\*now\\*\\*" in listed  # a member's text: no masked link
        await private_answer(bot, fake, preset_command(fake, "delete", name="trap"))

        # The names the member can use are offered as they type in /video's preset option.
        typing = {"id": snowflake(), "name": "video", "type": 1,
                  "options": [option("prompt", "a cat"), option("preset", "n", focused=True)]}
        await bot.send(fake.interaction(4, typing))
        await fake.wait_for(lambda: any(c["type"] == 8 for c in fake.callbacks))
        (offered,) = [c for c in fake.callbacks if c["type"] == 8]
        assert offered["data"]["choices"] == [{"name": "noir", "value": "noir"}]

        await bot.video(prompt="a cat on a roof", preset="noir", prompt_optimizer=False)
        (job,) = await bot.until(lambda jobs: len(jobs) == 1)
        assert job.request.prompt == "a cat on a roof, film noir, rain"
        assert (job.request.duration, job.request.prompt_optimizer) == (10, False)
        # An option given explicitly wins over the preset's; `use` with a text makes the video at once.
        await bot.send(preset_command(fake, "use", name="noir", text="a dog", duration=6))
        # Answered publicly with its status message, as /video is.
        jobs = await bot.until(lambda jobs: len(jobs) == 2 and all(j.status_message_id for j in jobs))
        dog = max(jobs, key=lambda j: j.created_at)
        assert (dog.request.prompt, dog.request.duration) == ("a dog, film noir, rain", 6)

        # `use` alone makes it the member's default until `use off`.
        assert await private_answer(bot, fake, preset_command(fake, "use", name="noir")) == \
            say.PRESET_DEFAULT_SET.format(name="noir")
        await bot.video(prompt="a boat")
        jobs = await bot.until(lambda jobs: len(jobs) == 3)
        assert max(jobs, key=lambda j: j.created_at).request.prompt == "a boat, film noir, rain"
        assert await private_answer(bot, fake, preset_command(fake, "use", name="off")) == say.PRESET_DEFAULT_OFF

        deleted = await private_answer(bot, fake, preset_command(fake, "delete", name="noir"))
        assert deleted == say.PRESET_DELETED_OWN.format(name="noir")
        assert await bot.rt.store.presets("discord", GUILD_ID, ALICE) == []


async def test_over_length_refused_uncharged_and_server_presets_for_admins(tmp_path: Path,
                                                                          discord_fake: FakeDiscord) -> None:
    fake = discord_fake
    async with Bot(tmp_path, fake, **ROOMY) as bot:
        refused = await private_answer(bot, fake, preset_command(fake, "save", user=BOB, name="house", shared=True,
                                                                 text="our house style"))
        assert refused == say.PRESET_ADMINS_ONLY
        assert await bot.rt.store.presets("discord", GUILD_ID, BOB) == []
        saved = await private_answer(bot, fake, preset_command(fake, "save", user=BOB, permissions=MANAGE_SERVER,
                                                               name="house", shared=True, text="our house style"))
        assert saved == say.PRESET_SAVED_WORKSPACE.format(name="house")
        (house,) = await bot.rt.store.presets("discord", GUILD_ID, ALICE)
        assert house.owner == WORKSPACE

        # Alice's prompt fits alone, but not with the server's preset: refused in plain words, nothing charged.
        prompt = "y" * (MAX_PROMPT_CHARS - 5)
        payload = await bot.video(prompt=prompt, preset="house")
        want = say.PRESET_TOO_LONG.format(name="house", prompt_chars=len(prompt), preset_chars=15,
                                          total=len(prompt) + 17, limit=MAX_PROMPT_CHARS)
        await fake.wait_for(lambda: any(m["token"] == payload["token"] and m["content"] == want
                                        for m in fake.ephemeral))
        assert await bot.jobs() == []
        usage = await bot.rt.store.usage("discord", GUILD_ID, ALICE, day=utc_day(time.time()), user_limit=10,
                                         workspace_limit=100)
        assert (usage.user_used, usage.user_held) == (0, 0)

        await bot.video(prompt="a garden", preset="house")  # within the limit: made, and charged
        (job,) = await bot.until(lambda jobs: len(jobs) == 1)
        assert job.request.prompt == "a garden, our house style"
        assert next(k for k, _, _ in await bot.rt.store.ledger(job.id)) == "reserve"

        assert await private_answer(bot, fake, preset_command(fake, "delete", name="house")) == \
            say.PRESET_ADMINS_ONLY
        assert await private_answer(bot, fake, preset_command(fake, "delete", user=BOB, permissions=MANAGE_SERVER,
                                                              name="house")) == \
            say.PRESET_DELETED_WORKSPACE.format(name="house")
        assert await bot.rt.store.presets("discord", GUILD_ID, ALICE) == []
