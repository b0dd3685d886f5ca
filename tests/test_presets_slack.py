"""Presets through the real slack-bolt app against the fake Slack: /video preset save|list|use|delete, --preset."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from bot import messages
from bot.contract import MAX_PROMPT_CHARS
from bot.days import utc_day
from bot.messages import presets as say
from bot.presets import WORKSPACE
from tests.fakes.slack import FakeSlack
from tests.test_slack_e2e import Bot

DAY_LIMITS = {"user_limit": 10, "workspace_limit": 100}
ROOMY = {"quota_user_max_in_flight": 10}  # several videos of one member at a time


def answers(fake: FakeSlack) -> list[str]:
    """What only the member saw: the slash commands' response_url answers."""
    return [r.get("text", "") for r in fake.responses]


async def answer(bot: Bot, fake: FakeSlack, text: str, user: str = "U1") -> str:
    """Send `/video TEXT` and return the private answer it gets."""
    before = len(fake.responses)
    ack = await bot.slash(text, user=user)
    assert ack.status_code == 200
    if ack.content and ack.json().get("text"):
        return ack.json()["text"]  # refused in the acknowledgement itself
    await fake.wait_for(lambda: len(fake.responses) > before)
    return answers(fake)[before]


async def newest_job(bot: Bot, count: int):
    for _ in range(200):
        jobs = await bot.jobs()
        if len(jobs) == count:
            return max(jobs, key=lambda j: j.created_at)
        await asyncio.sleep(0.05)
    raise AssertionError([j.request.prompt for j in await bot.jobs()])


async def test_a_preset_saved_listed_applied_and_deleted(tmp_path: Path, slack_fake: FakeSlack) -> None:
    fake = slack_fake
    async with Bot(tmp_path, fake, **ROOMY) as bot:
        saved = await answer(bot, fake, "preset save Noir {prompt}, film noir, rain --duration 10 --no-optimizer")
        assert saved == say.PRESET_SAVED_OWN.format(name="noir")
        listed = await answer(bot, fake, "preset list")
        assert "noir (yours): {prompt}, film noir, rain [10 s, optimizer off]" in listed

        # Applied: the prompt goes where {prompt} is; the preset's settings fill in what the member left out.
        await bot.slash("--preset noir a cat on a roof")
        job = await newest_job(bot, 1)
        assert job.request.prompt == "a cat on a roof, film noir, rain"
        assert (job.request.duration, job.request.prompt_optimizer) == (10, False)
        # An option given explicitly wins over the preset's.
        await bot.slash("preset use noir a dog --duration 6 --optimizer")
        job = await newest_job(bot, 2)
        assert job.request.prompt == "a dog, film noir, rain"
        assert (job.request.duration, job.request.prompt_optimizer) == (6, True)

        # `use NAME` alone: the member's default preset, for every next video until `use off`.
        assert await answer(bot, fake, "preset use noir") == say.PRESET_DEFAULT_SET.format(name="noir")
        await bot.slash("a boat")
        assert (await newest_job(bot, 3)).request.prompt == "a boat, film noir, rain"
        await bot.slash("a plain boat --preset off")  # left out of one request
        assert (await newest_job(bot, 4)).request.prompt == "a plain boat"
        parent = fake._post("C1", text="look at this")  # a mention, in a conversation, uses it too
        await bot.event({"type": "app_mention", "user": "U1", "channel": "C1", "ts": "1700000001.000001",
                         "thread_ts": parent["ts"], "text": "<@UBOT> a mentioned boat"})
        mentioned = await newest_job(bot, 5)
        assert (mentioned.request.prompt, mentioned.request.duration) == ("a mentioned boat, film noir, rain", 10)
        assert await answer(bot, fake, "preset use off") == say.PRESET_DEFAULT_OFF
        await bot.slash("a second boat")
        assert (await newest_job(bot, 6)).request.prompt == "a second boat"
        await answer(bot, fake, "preset save other film noir, rain")
        assert await answer(bot, fake, "preset use other") == say.PRESET_DEFAULT_SET.format(name="other")
        await bot.slash("a third boat")  # no {prompt}: the text goes after the prompt, with a comma
        assert (await newest_job(bot, 7)).request.prompt == "a third boat, film noir, rain"

        assert await answer(bot, fake, "preset delete noir") == say.PRESET_DELETED_OWN.format(name="noir")
        assert await answer(bot, fake, "--preset noir a cat") == say.PRESET_UNKNOWN.format(name="noir")
        assert [p.name for p in await bot.rt.store.presets("slack", "T1", "U1")] == ["other"]
        assert len(await bot.jobs()) == 7


async def test_an_over_length_preset_prompt_is_refused_and_not_charged(tmp_path: Path, slack_fake: FakeSlack) -> None:
    fake = slack_fake
    async with Bot(tmp_path, fake, **ROOMY) as bot:
        text = "wide angle, golden hour, 35 mm film"
        await answer(bot, fake, f"preset save wide {text}")
        prompt = "x" * (MAX_PROMPT_CHARS - 10)
        refused = await answer(bot, fake, f"--preset wide {prompt}")
        total = len(prompt) + len(", ") + len(text)
        assert refused == say.PRESET_TOO_LONG.format(name="wide", prompt_chars=len(prompt), preset_chars=len(text),
                                                     total=total, limit=MAX_PROMPT_CHARS)
        assert "1,990 characters" in refused and "text 35, 2,027 together" in refused  # both lengths, named
        assert await bot.jobs() == [] and "chat.postMessage" not in fake.methods()
        usage = await bot.rt.store.usage("slack", "T1", "U1", day=utc_day(time.time()), **DAY_LIMITS)
        assert (usage.user_used, usage.user_held) == (0, 0)  # nothing reserved
        with sqlite3.connect(bot.settings.database_path) as db:
            assert db.execute("SELECT count(*) FROM quota_ledger").fetchone() == (0,)  # nothing in the ledger
        # The same prompt without the preset is within the limit, and goes through.
        await bot.slash(prompt)
        job = await newest_job(bot, 1)
        assert next(k for k, _, _ in await bot.rt.store.ledger(job.id)) == "reserve"


async def test_workspace_presets_are_for_admins_and_a_members_own_shadows_them(tmp_path: Path,
                                                                              slack_fake: FakeSlack) -> None:
    fake = slack_fake
    async with Bot(tmp_path, fake, **ROOMY) as bot:
        refused = await answer(bot, fake, "preset save house our house style --workspace", user="U2")
        assert refused == say.PRESET_ADMINS_ONLY
        assert await bot.rt.store.presets("slack", "T1", "U2") == []
        fake.admins.add("U3")  # a workspace admin, by Slack's own roles (users.info)
        saved = await answer(bot, fake, "preset save house our house style --shared --resolution 1080P", user="U3")
        assert saved == say.PRESET_SAVED_WORKSPACE.format(name="house")
        (shared,) = await bot.rt.store.presets("slack", "T1", "U2")
        assert (shared.owner, shared.resolution, shared.created_by) == (WORKSPACE, "1080P", "slack:U3")

        await bot.slash("--preset house a garden", user="U2")  # every member may use it
        job = await newest_job(bot, 1)
        assert (job.request.prompt, job.request.resolution) == ("a garden, our house style", "1080P")
        await answer(bot, fake, "preset save house my own style", user="U1")  # shadows the workspace's, for U1
        assert "house (this workspace's, hidden by yours of that name)" in await answer(bot, fake, "preset list")
        await bot.slash("--preset house a lake", user="U1")
        job = await newest_job(bot, 2)
        assert (job.request.prompt, job.request.resolution) == ("a lake, my own style", "768P")

        assert await answer(bot, fake, "preset delete house --workspace", user="U2") == say.PRESET_ADMINS_ONLY
        assert await answer(bot, fake, "preset delete house", user="U3") == \
            say.PRESET_DELETED_WORKSPACE.format(name="house")
        assert [p.owner for p in await bot.rt.store.presets("slack", "T1", "U1")] == ["U1"]
        assert [e[1:] for e in await bot.rt.store.admin_log("slack", "T1")] == [("slack:U3", "delete_preset", "house"),
                                                                              ("slack:U3", "save_preset", "house")]

        assert await answer(bot, fake, "preset save no/slash x") == say.PRESET_BAD_NAME.format(name="no/slash",
                                                                                          limit=32)
        assert await answer(bot, fake, "preset save empty") == say.PRESET_TEXT_MISSING
        assert await answer(bot, fake, "preset") == say.PRESET_HELP.format(placeholder="{prompt}")
        assert await answer(bot, fake, "preset save hd x --resolution 1080P --duration 10") == messages.HD_ONLY_SHORT

