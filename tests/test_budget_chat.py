"""A workspace's own daily budget set by its admins in the chat, through the real slack-bolt and discord.py clients."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot import messages
from tests.fakes.discord import GUILD_ID, FakeDiscord, snowflake
from tests.fakes.slack import FakeSlack
from tests.test_discord_e2e import ALICE, BOB, private
from tests.test_discord_e2e import Bot as DiscordBot
from tests.test_slack_e2e import Bot as SlackBot

MANAGE_SERVER = str(1 << 5)


async def jobs_are(bot: SlackBot, count: int) -> None:
    for _ in range(400):
        if len(await bot.jobs()) == count:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(await bot.jobs())


async def test_slack_admin_sets_shows_and_clears_the_workspace_budget(tmp_path: Path, slack_fake: FakeSlack) -> None:
    fake = slack_fake
    async with SlackBot(tmp_path, fake, budget_daily_usd=5.0) as bot:
        store = bot.rt.store

        async def answer(text: str, user: str = "U1") -> str:
            seen = len(fake.responses)
            await bot.slash(text, user=user)
            await fake.wait_for(lambda: len(fake.responses) > seen)
            return fake.responses[seen]["text"]

        assert await answer("admin budget 0.30", user="U2") == messages.ADMIN_ONLY  # not an admin
        fake.admins.add("U1")  # a workspace admin, from users.info
        assert await answer("admin budget -1") == messages.ADMIN_BUDGET_BAD.format(value="-1", max=1_000_000)
        assert await store.admin_log("slack", "T1") == []  # neither changed anything
        set_text = await answer("admin budget 0.30")
        assert set_text.startswith("This workspace's daily spending limit is now $0.30; $0.00 spent or held today.")
        assert "The bot-wide limit, which only the bot's operator sets, is $5.00 a day" in set_text
        assert (await store.workspace_budget("slack", "T1", day="2000-01-01")).usd == 0.30
        await bot.slash("a lighthouse in a storm", user="U2")  # $0.28: fits
        await jobs_are(bot, 1)
        refused = await answer("a second lighthouse", user="U2")  # $0.28 more would pass $0.30
        assert refused.startswith("This video costs $0.28 and this workspace has $0.02 left of the daily spending "
                                  "limit its admins set ($0.30).")
        assert [j.request.prompt for j in await bot.jobs()] == ["a lighthouse in a storm"]  # the refused one: no job
        shown = await answer("admin budget")
        assert shown.startswith("This workspace's daily spending limit is $0.30; $0.28 spent or held today.")
        assert (await answer("admin budget off")).startswith("This workspace's own daily spending limit is removed")
        assert (await store.workspace_budget("slack", "T1", day="2000-01-01")).usd is None
        await bot.slash("a third lighthouse", user="U2")  # only the bot-wide $5.00 is left: admitted
        await jobs_are(bot, 2)
        log = await answer("admin log")
        assert "U1 budget off" in log and "U1 budget 0.30" in log
        assert [(a, act, d) for _, a, act, d in await store.admin_log("slack", "T1")] == [
            ("slack:U1", "budget", "off"), ("slack:U1", "budget", "0.30")]


async def test_discord_video_admin_budget_with_a_dollars_option(tmp_path: Path, discord_fake: FakeDiscord) -> None:
    fake = discord_fake

    def admin(caller: str, permissions: str, action: str, dollars: float | None = None) -> dict:
        opts: list[dict] = [{"name": "action", "type": 3, "value": action}]
        if dollars is not None:
            opts.append({"name": "dollars", "type": 10, "value": dollars})
        data = {"id": snowflake(), "name": "video-admin", "type": 1, "options": opts}
        return fake.interaction(2, data, user_id=caller, permissions=permissions)

    async def answer(payload: dict) -> str:
        seen = len(private(fake))
        await bot.send(payload)
        # Under load the bot defers first (an empty "thinking" message), then fills it in: wait for the words.
        await fake.wait_for(lambda: len(private(fake)) > seen and private(fake)[seen]["content"])
        return private(fake)[seen]["content"]

    async with DiscordBot(tmp_path, fake) as bot:
        store = bot.rt.store
        (command,) = [c for c in fake.commands[GUILD_ID] if c["name"] == "video-admin"]
        options = {o["name"]: o for o in command["options"]}
        assert options["dollars"]["type"] == 10 and options["dollars"]["min_value"] == 0  # a number, 0 or more
        assert {"budget", "budget-off"} <= {c["value"] for c in options["action"]["choices"]}

        assert await answer(admin(BOB, "0", "budget", 1)) == messages.ADMIN_ONLY  # forged: checked again here
        said = await answer(admin(ALICE, MANAGE_SERVER, "budget", 0.3))
        assert said.startswith("This workspace's daily spending limit is now $0.30")
        assert "The bot's operator has set no bot-wide limit." in said
        budget = await store.workspace_budget("discord", GUILD_ID, day="2000-01-01")
        assert (budget.usd, budget.set_by) == (0.3, f"discord:{ALICE}")
        await bot.video(user=BOB, prompt="a paper boat")
        await bot.until(lambda jobs: len(jobs) == 1)
        await bot.video(user=BOB, prompt="another paper boat")
        await fake.wait_for(lambda: any(m["content"].startswith("This video costs $0.28 and this workspace has $0.02")
                                        for m in private(fake)))
        assert [j.request.prompt for j in await bot.jobs()] == ["a paper boat"]
        shown = await answer(admin(ALICE, MANAGE_SERVER, "budget"))
        assert shown.startswith("This workspace's daily spending limit is $0.30; $0.28 spent or held today.")
        cleared = await answer(admin(ALICE, MANAGE_SERVER, "budget-off"))
        assert cleared.startswith("This workspace's own daily spending limit is removed")
        await bot.video(user=BOB, prompt="a third paper boat")
        await bot.until(lambda jobs: len(jobs) == 2)
        assert [(a, act, d) for _, a, act, d in await store.admin_log("discord", GUILD_ID)] == [
            (f"discord:{ALICE}", "budget", "off"), (f"discord:{ALICE}", "budget", "0.30")]
