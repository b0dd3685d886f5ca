"""Members answered in their own language (issue 18), through the real discord.py and slack-bolt clients."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from bot import messages
from bot.i18n import render
from bot.jobs import JobStatus
from bot.providers.base import TaskStatus
from tests.fakes.discord import CHANNEL_ID, GUILD_ID, FakeDiscord, snowflake
from tests.fakes.slack import FakeSlack
from tests.helpers import ScriptedProvider
from tests.test_discord_e2e import ALICE
from tests.test_discord_e2e import Bot as DiscordBot
from tests.test_slack_e2e import Bot as SlackBot

ZH_FAILED = render(messages.JOB_FAILED_REFUNDED.format(reason=messages.PROVIDER_FAILED, cost=1), "zh_CN")
HAN = re.compile(r"[\u4e00-\u9fff]")


async def _discord_video(bot: DiscordBot, locale: str, **options: object) -> dict:
    opts = [{"name": k, "type": {str: 3, int: 4}[type(v)], "value": v} for k, v in options.items()]
    payload = bot.fake.interaction(2, {"id": snowflake(), "name": "video", "type": 1, "options": opts}, user_id=ALICE)
    payload["locale"] = locale
    return await bot.send(payload)


async def _ended(bot, status: JobStatus) -> list:
    for _ in range(600):
        jobs = await bot.jobs()
        if jobs and jobs[0].status is status:
            return jobs
        await asyncio.sleep(0.05)
    raise AssertionError([(j.status, j.error) for j in await bot.jobs()])


async def test_discord_member_in_chinese_gets_chinese_status_failure_and_refusal(
        tmp_path: Path, discord_fake: FakeDiscord) -> None:
    fake = discord_fake
    async with DiscordBot(tmp_path, fake, ScriptedProvider([TaskStatus.PROCESSING, TaskStatus.FAIL])) as bot:
        await _discord_video(bot, "zh-CN", prompt="a paper boat that fails")
        (job,) = await _ended(bot, JobStatus.FAILED)
        assert job.locale == "zh_CN"
        status = fake.messages_in(CHANNEL_ID)[0]
        await fake.wait_for(lambda: status["embeds"][0]["title"] == "失败")
        await fake.wait_for(lambda: [m for m in fake.messages_in(job.thread_id) if ZH_FAILED in m["content"]])
        # A refusal, privately, in Chinese too.
        await _discord_video(bot, "zh-CN", prompt="x", resolution="1080P", duration=10)
        await fake.wait_for(lambda: any(m["content"] == render(messages.HD_ONLY_SHORT, "zh_CN")
                                        for m in fake.ephemeral_for(ALICE)))
    embed = status["embeds"][0]
    assert embed["description"] == "a paper boat that fails"  # the prompt as the member wrote it
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["原因"] == "视频服务没能生成这个视频。" and fields["设置"] == "6 秒 · 768P"
    (told,) = [m for m in fake.messages_in(job.thread_id) if ZH_FAILED in m["content"]]
    assert told["content"] == f"<@{ALICE}> 抱歉，你的视频没能生成：视频服务没能生成这个视频。已退还你的 1 积分。"


async def test_discord_english_member_still_gets_english(tmp_path: Path, discord_fake: FakeDiscord) -> None:
    async with DiscordBot(tmp_path, discord_fake) as bot:
        await _discord_video(bot, "en-US", prompt="x", resolution="1080P", duration=10)
        await discord_fake.wait_for(lambda: discord_fake.callbacks)
    assert discord_fake.callbacks[0]["data"]["content"] == messages.HD_ONLY_SHORT


async def test_discord_commands_carry_chinese_localizations(tmp_path: Path, discord_fake: FakeDiscord) -> None:
    async with DiscordBot(tmp_path, discord_fake):
        commands = {c["name"]: c for c in discord_fake.commands[GUILD_ID]}
    video = commands["video"]
    assert video["name_localizations"]["zh-CN"] == "视频"
    assert video["description_localizations"]["zh-CN"] == "用海螺 2.3 生成短视频（附上图片可让它动起来）"
    options = {o["name"]: o for o in video["options"]}
    assert options["prompt"]["description_localizations"]["zh-CN"] == "视频要呈现的内容（最多 2000 个字符）"
    assert "zh-CN" not in (options["prompt"].get("name_localizations") or {})  # option names stay as they are
    assert options["duration"]["choices"][1]["name_localizations"]["zh-CN"] == "10 秒"
    assert commands["Animate image"]["name_localizations"]["zh-CN"] == "让图片动起来"
    assert "zh-TW" not in video["name_localizations"]
    # Every name, description and choice of every command has its Chinese words (option names excepted).
    lacking = []
    for command in commands.values():
        things = [("name", command), ("description", command)] if command.get("description") else [("name", command)]
        for option in command.get("options") or []:
            things.append(("description", option))
            things += [("name", choice) for choice in option.get("choices") or [] if choice["name"] not in
                       ("768P", "1080P")]
        lacking += [thing[key] for key, thing in things
                    if not HAN.search((thing.get(f"{key}_localizations") or {}).get("zh-CN", ""))]
    assert lacking == []


async def test_slack_member_in_chinese_gets_chinese_status_failure_and_refusal(
        tmp_path: Path, slack_fake: FakeSlack) -> None:
    fake = slack_fake
    fake.locales["U1"] = "zh-CN"
    async with SlackBot(tmp_path, fake, ScriptedProvider([TaskStatus.PROCESSING, TaskStatus.FAIL]),
                        quota_user_daily_credits=1) as bot:
        assert (await bot.slash("a paper boat that fails")).status_code == 200
        (job,) = await _ended(bot, JobStatus.FAILED)
        assert job.locale == "zh_CN"
        root = next(m for m in fake.messages["C1"] if m["ts"] == job.thread_id)
        await fake.wait_for(lambda: root["text"] == "<@U1> 的视频：失败")
        await fake.wait_for(lambda: [m for m in fake.messages["C1"] if ZH_FAILED in m.get("text", "")])
        # A refusal decided by the core (no credits left for a 2-credit video), in Chinese.
        assert (await bot.slash("a long one --duration 10")).status_code == 200
        await fake.wait_for(lambda: any(HAN.search(r.get("text", "")) for r in fake.responses), 10)
    assert "视频服务没能生成这个视频。" in root["blocks"][-1]["text"]["text"]
    assert root["blocks"][0]["text"]["text"] == "<@U1>: a paper boat that fails"
    (told,) = [m for m in fake.messages["C1"] if ZH_FAILED in m.get("text", "")]
    assert told["text"] == f"<@U1> {ZH_FAILED}"
    (refusal,) = [r["text"] for r in fake.responses if HAN.search(r.get("text", ""))]
    assert refusal.startswith("这个视频需要 2 积分，你今天还剩")
    assert [a.get("include_locale") for a in fake.args_of("users.info")][:1] in (["1"], ["true"], [True])
    assert len(fake.args_of("users.info")) == 1  # asked once, then cached


async def test_slack_workspace_default_set_by_an_admin_applies_when_slack_says_no_spoken_language(
        tmp_path: Path, slack_fake: FakeSlack) -> None:
    fake = slack_fake
    fake.admins.add("U9")
    fake.locales.update({"U9": "en-US", "U1": "fr-FR"})  # the bot speaks no French: the workspace default decides
    async with SlackBot(tmp_path, fake, quota_user_daily_credits=1) as bot:
        await bot.slash("quota")
        await fake.wait_for(lambda: len(fake.responses) == 1)
        assert fake.responses[0]["text"].startswith("Today you have used 0 of 1 credit,")
        await bot.slash("admin language zh-CN", user="U9")
        await fake.wait_for(lambda: len(fake.responses) == 2)
        await bot.slash("quota")
        await fake.wait_for(lambda: len(fake.responses) == 3)
        log = await bot.rt.store.admin_log("slack", "T1")
        assert await bot.rt.store.workspace_locale("slack", "T1") == "zh_CN"
    assert fake.responses[1]["text"].startswith("Default language set to Chinese")
    assert fake.responses[2]["text"].startswith("今天你已用 0 积分（共 1 积分）")
    assert [(actor, action, detail) for _, actor, action, detail in log] == [("slack:U9", "language", "zh_CN")]


def test_console_and_generate_follow_lang(tmp_path: Path) -> None:
    from tests.test_cli import hailuo

    zh = {"LANG": "zh_CN.UTF-8"}
    result = hailuo(tmp_path, "console", stdin="/video 一座暴风雨中的灯塔\n/quota\n", **zh)
    assert result.returncode == 0, result.stderr
    assert "收到！你的视频已加入队列（1 积分，今天还剩 9 积分）" in result.stdout
    assert "今天你已用 0 积分（共 10 积分），1 积分被生成中的视频占用" in result.stdout
    assert "正在等待 1 个视频完成……" in result.stdout and "完成：1 个已送达，0 个未送达。" in result.stdout
    refused = hailuo(tmp_path, "generate", "a cat", "--duration", "10", "--resolution", "1080P", **zh)
    assert refused.returncode == 2 and refused.stderr.strip() == render(messages.HD_ONLY_SHORT, "zh_CN")
    english = hailuo(tmp_path, "generate", "a cat", "--duration", "10", "--resolution", "1080P")
    assert english.stderr.strip() == messages.HD_ONLY_SHORT
