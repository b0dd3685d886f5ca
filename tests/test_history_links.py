"""History with a link to each post, and "Post again": real slack-bolt and discord.py clients against the fakes."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from pathlib import Path

from bot import messages
from bot.jobs import JobStatus
from bot.messages import history as words
from tests.fakes.discord import CHANNEL_ID, GUILD_ID, FakeDiscord, snowflake
from tests.fakes.slack import FakeSlack
from tests.test_cli import hailuo, ledger_rows
from tests.test_discord_e2e import ALICE, BOB, delivered
from tests.test_discord_e2e import Bot as DiscordBot
from tests.test_slack_e2e import Bot as SlackBot


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


async def test_slack_history_links_each_post_and_posts_it_again_uncharged(tmp_path: Path,
                                                                         slack_fake: FakeSlack) -> None:
    fake = slack_fake
    fake.members_of.add("C2")
    async with SlackBot(tmp_path, fake) as bot:
        await bot.slash("a paper boat on a pond")
        await bot.until_delivered()
        (job,) = await bot.jobs()
        usage = await bot.rt.core.answers.usage("slack", "T1", "U1")
        ledger = await bot.rt.store.ledger(job.id)
        await bot.slash("history", channel="C2")
        await fake.wait_for(lambda: fake.responses)
        answer = fake.responses[-1]
        (share,) = [m for m in fake.messages["C1"] if m.get("files")]
        # The link is Slack's permalink of the message that shared the video, in the job's thread.
        link = (f"<https://fake.slack.com/archives/C1/p{share['ts'].replace('.', '')}"
                f"?thread_ts={job.thread_id}&amp;cid=C1>")
        assert link in answer["text"] and "a paper boat on a pond" in answer["text"]
        assert answer["blocks"][0]["text"]["text"] == answer["text"]
        (button,) = answer["blocks"][1]["elements"]
        assert button["action_id"] == "hailuo_repost" and button["value"] == job.id
        assert fake.args_of("chat.getPermalink")[-1]["message_ts"] == share["ts"]

        def press(user: str, channel: str = "C2") -> dict:
            return {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": user, "team_id": "T1"},
                    "api_app_id": "A1", "trigger_id": uuid.uuid4().hex, "channel": {"id": channel},
                    "container": {"type": "message", "channel_id": channel, "is_ephemeral": True, "message_ts": "1"},
                    "actions": [{"type": "button", "action_id": "hailuo_repost", "value": job.id, "block_id": "repost",
                                 "action_ts": "1.2"}], "response_url": fake.response_url()}

        await bot.interactive(press("U1"))
        await fake.wait_for(lambda: len(fake.uploads) == 2 and all("size" in u for u in fake.uploads.values()))
        again = [u for u in fake.uploads.values() if u["channel"] == "C2"]
        assert len(again) == 1 and again[0]["thread_ts"] is None  # into the channel it was asked from
        assert again[0]["sha256"] == sha256(job.video_path)  # the kept MP4 itself
        assert again[0]["comment"] == "<@U1> posted this video again: \u201ca paper boat on a pond\u201d (6 s, 768P)."
        await fake.wait_for(lambda: any(a["text"] == words.REPOST_DONE.format(job=job.id)
                                        for a in fake.args_of("chat.postEphemeral")))
        assert fake.args_of("chat.postEphemeral")[-1]["channel"] == "C2"
        # Uncharged: the same ledger, the same credits left, no new job.
        assert await bot.rt.store.ledger(job.id) == ledger and len(await bot.jobs()) == 1
        assert (await bot.rt.core.answers.usage("slack", "T1", "U1")).user_left == usage.user_left

        # Someone else's video: refused, unless an admin asks; the command does what the button does.
        await bot.slash(f"repost {job.id}", user="U2", channel="C2")
        await fake.wait_for(lambda: len(fake.responses) == 2)
        assert fake.responses[-1]["text"] == words.REPOST_NOT_YOURS
        fake.admins.add("U2")
        await bot.slash(f"repost {job.id}", user="U2", channel="C2")
        await fake.wait_for(lambda: len(fake.responses) == 3)
        assert fake.responses[-1]["text"] == words.REPOST_DONE.format(job=job.id)
        assert len(fake.uploads) == 3
        await bot.slash("repost feedfacecafe", channel="C2")
        await fake.wait_for(lambda: len(fake.responses) == 4)
        assert fake.responses[-1]["text"] == messages.JOB_NOT_FOUND.format(job="feedfacecafe")
        # The file is gone here and at the provider (pruned, expired): said plainly, nothing posted, and the
        # history offers no button for it.
        for mp4 in Path(bot.settings.media_dir).rglob("*.mp4"):
            mp4.unlink()
        await bot.slash(f"repost {job.id}", channel="C2")
        await fake.wait_for(lambda: len(fake.responses) == 5)
        assert fake.responses[-1]["text"] == words.REPOST_FILE_GONE.format(job=job.id)
        await bot.slash("history", channel="C2")
        await fake.wait_for(lambda: len(fake.responses) == 6)
        assert "blocks" not in fake.responses[-1] and link in fake.responses[-1]["text"]
        assert len(fake.uploads) == 3
        assert await bot.rt.store.ledger(job.id) == ledger


async def test_discord_history_links_each_post_and_posts_it_again_uncharged(tmp_path: Path,
                                                                           discord_fake: FakeDiscord) -> None:
    fake = discord_fake
    async with DiscordBot(tmp_path, fake) as bot:
        await bot.video(prompt="a paper boat on a pond")
        (job,) = await bot.until(delivered())
        (post,) = [m for m in fake.messages_in(job.thread_id) if m["attachments"]]
        ledger = await bot.rt.store.ledger(job.id)
        await bot.send(fake.interaction(2, {"id": snowflake(), "name": "video-history", "type": 1}))
        await fake.wait_for(lambda: any(job.id in m["content"] for m in fake.ephemeral))
        (answer,) = [m for m in fake.ephemeral if job.id in m["content"]]
        assert f"<https://discord.com/channels/{GUILD_ID}/{job.thread_id}/{post['id']}>" in answer["content"]
        (button,) = answer["components"][0]["components"]
        assert button["custom_id"] == f"hailuo:repost:{job.id}"

        before = len(fake.messages_in(CHANNEL_ID))
        await bot.send(fake.interaction(3, {"custom_id": button["custom_id"], "component_type": 2}, message=answer))
        await fake.wait_for(lambda: any(m["content"] == words.REPOST_DONE.format(job=job.id) for m in fake.ephemeral))
        (again,) = [m for m in fake.messages_in(CHANNEL_ID)[before:] if m["attachments"]]
        assert again["attachments"][0]["sha256"] == sha256(job.video_path)
        caption = "posted this video again: \u201ca paper boat on a pond\u201d (6 s, 768P)."
        assert again["content"] == f"<@{ALICE}> {caption}"
        (body,) = [b for m, p, b in fake.calls if m == "POST" and p == f"channels/{CHANNEL_ID}/messages"
                   and b.get("_files")]
        assert body["allowed_mentions"] == {"parse": [], "users": [int(ALICE)]}
        assert await bot.rt.store.ledger(job.id) == ledger and len(await bot.jobs()) == 1

        command = {"id": snowflake(), "name": "video-repost", "type": 1,
                   "options": [{"name": "job", "type": 3, "value": job.id}]}
        await bot.send(fake.interaction(2, command, user_id=BOB))
        await fake.wait_for(lambda: any(m["content"] == words.REPOST_NOT_YOURS for m in fake.ephemeral))
        await bot.send(fake.interaction(2, dict(command, id=snowflake()), user_id=BOB, permissions=str(1 << 5)))
        await fake.wait_for(lambda: sum(m["content"] == words.REPOST_DONE.format(job=job.id)
                                        for m in fake.ephemeral) == 2)
        assert sum(bool(m["attachments"]) for m in fake.messages_in(CHANNEL_ID)) == 2
        # Not kept on this machine (another one delivered it): fetched again from the provider, then posted.
        Path(job.video_path).unlink()
        await bot.send(fake.interaction(2, dict(command, id=snowflake())))
        await fake.wait_for(lambda: sum(m["content"] == words.REPOST_DONE.format(job=job.id)
                                        for m in fake.ephemeral) == 3)
        posts = [m for m in fake.messages_in(CHANNEL_ID) if m["attachments"]]
        assert len(posts) == 3 and posts[-1]["attachments"][0]["sha256"] == post["attachments"][0]["sha256"]
        assert await bot.rt.store.ledger(job.id) == ledger
        assert (await bot.rt.store.get_job(job.id)).status is JobStatus.DELIVERED


def test_console_history_shows_the_file_and_repost_posts_it_again(tmp_path: Path) -> None:
    first = hailuo(tmp_path, "console", stdin="/video a lighthouse in a storm\n")
    assert first.returncode == 0, first.stderr
    job = re.search(r"\[([0-9a-f]{12})\] Here is your video", first.stdout)[1]
    ledger = ledger_rows(tmp_path)
    second = hailuo(tmp_path, "console", stdin=f"/history\n/repost {job}\n/repost\n")
    assert second.returncode == 0, second.stderr
    path = tmp_path / "videos" / f"{job}.mp4"
    assert f"a lighthouse in a storm (6 s, 768P) · post: {path}" in second.stdout
    assert f"Posted this video again: \u201ca lighthouse in a storm\u201d (6 s, 768P). -> {path}" in second.stdout
    assert words.REPOST_DONE.format(job=job) in second.stdout
    assert "error: " + words.REPOST_WHICH in second.stdout
    assert ledger_rows(tmp_path) == ledger == [("reserve", 1), ("capture", 1)]
    assert json.dumps(second.stdout).count(job) >= 3
