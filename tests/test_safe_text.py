"""Safe text: a member's text shown back on Slack and Discord pings nobody and disguises no link (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from adapters.discord.safe import discord_text
from adapters.slack.safe import slack_text
from bot import messages
from bot.messages import user_ref
from bot.safe_text import link_ref, neutral, plain, render_refs, shown
from tests.fakes.discord import CHANNEL_ID, GUILD_ID, FakeDiscord
from tests.fakes.slack import FakeSlack
from tests.test_discord_e2e import ALICE
from tests.test_discord_e2e import Bot as DiscordBot
from tests.test_slack_e2e import Bot as SlackBot

# What a member might type to ping everyone, a user group or a role, or to disguise a link.
SLACK_PROMPT = "a cat <!channel> <!here> <https://evil|Slack login> <!subteam^S1> & <user:U9>"
SLACK_SHOWN = ("a cat &lt;!channel&gt; &lt;!here&gt; &lt;https://evil|Slack login&gt; &lt;!subteam^S1&gt; &amp; "
               "&lt;user:U9&gt;")
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: shown, the rest of the line reads backwards
DISCORD_PROMPT = f"a cat @everyone @here <@&123> [Discord login](https://evil) <user:555> {RLO}gnp.exe"
DISCORD_SHOWN = r"a cat @everyone @here <@&123> \[Discord login](https://evil) <user:555> gnp.exe"


def test_member_text_is_marked_and_never_a_reference() -> None:
    text = "\u2066abc\u2069 \u202adef\u202c \ufdd0x\ufdd1"
    assert neutral(text) == "abc def x"
    message = f"{user_ref('U1')} said {shown('<user:U2> ' + RLO + 'hi')} {link_ref('https://x.test/a?b=1&c=2')}"
    assert slack_text(message) == "<@U1> said &lt;user:U2&gt; hi <https://x.test/a?b=1&amp;c=2>"
    assert discord_text(message.replace("U1", "1").replace("U2", "2")) == \
        "<@1> said <user:2> hi <https://x.test/a?b=1&c=2>"
    assert plain(message) == "<user:U1> said <user:U2> hi <link:https://x.test/a?b=1&c=2>"
    assert render_refs(message, user=lambda u: "@" + u, channel=str) == \
        "@U1 said <user:U2> hi https://x.test/a?b=1&c=2"
    # A mark a member typed to forge the end of their text is taken out with the rest.
    assert slack_text(shown("\ufdd1<!channel>\ufdd0")) == "&lt;!channel&gt;"
    # A reference that is not an id on the platform is shown, not rendered.
    assert slack_text(user_ref("<!channel>")) == "&lt;user:&lt;!channel&gt;&gt;"
    assert slack_text(user_ref("!channel")) == "!channel"
    assert discord_text(user_ref("@everyone")) == "@everyone"


async def test_slack_prompt_with_pings_and_links_is_posted_escaped(tmp_path: Path, slack_fake: FakeSlack) -> None:
    slack_fake.admins.add("U1")
    async with SlackBot(tmp_path, slack_fake) as bot:
        await bot.slash(SLACK_PROMPT + " " + RLO + "evil")
        await bot.until_delivered()
        (job,) = await bot.jobs()
        assert job.request.prompt == SLACK_PROMPT + " " + RLO + "evil"  # the prompt itself is never changed
        root = slack_fake.messages["C1"][0]
        # The status message, as the fake received it: the bot's own mention real, the prompt escaped,
        # the right-to-left override gone.
        assert root["blocks"][0]["text"]["text"] == f"<@U1>: {SLACK_SHOWN} evil"
        assert root["text"].startswith("Video for <@U1>: ")
        (upload,) = slack_fake.uploads.values()
        assert upload["comment"] == f"<@U1> here is your video: \u201c{SLACK_SHOWN} evil\u201d (6 s, 768P)."
        await bot.slash("history")
        await slack_fake.wait_for(lambda: slack_fake.responses)
        answer = slack_fake.responses[-1]["text"]
        assert SLACK_SHOWN in answer and "<!" not in answer and "<https://evil" not in answer and RLO not in answer
        # The bot's own neutral mentions still render as mentions.
        await bot.slash("admin block <@U2|bob>")
        await slack_fake.wait_for(lambda: len(slack_fake.responses) == 2)
        assert slack_fake.responses[-1]["text"] == "<@U2> can no longer make videos here."
    everything = json.dumps([slack_fake.calls, slack_fake.responses, slack_fake.uploads], ensure_ascii=False)
    assert "<!channel>" not in everything.replace(json.dumps(SLACK_PROMPT)[1:-1], "")  # only the request itself


async def test_a_prompt_of_invisible_characters_is_refused_uncharged(tmp_path: Path, slack_fake: FakeSlack,
                                                                     discord_fake: FakeDiscord) -> None:
    async with SlackBot(tmp_path / "slack", slack_fake) as bot:
        ack = (await bot.slash("\u200b\u200b")).json()
        assert ack == {"response_type": "ephemeral", "text": messages.PROMPT_INVISIBLE}
        assert await bot.jobs() == [] and "chat.postMessage" not in slack_fake.methods()
        usage = await bot.rt.core.answers.usage("slack", "T1", "U1")
        assert usage.user_used == 0 and usage.user_left == usage.user_limit
    async with DiscordBot(tmp_path / "discord", discord_fake) as bot:
        await bot.video(prompt="\u200b")
        await discord_fake.wait_for(lambda: discord_fake.ephemeral)
        assert discord_fake.ephemeral[0]["content"] == messages.PROMPT_INVISIBLE
        assert await bot.jobs() == [] and discord_fake.messages_in(CHANNEL_ID) == []
        usage = await bot.rt.core.answers.usage("discord", GUILD_ID, ALICE)
        assert usage.user_used == 0 and usage.user_left == usage.user_limit


def _sent(fake: FakeDiscord) -> list[dict]:
    """Every body the bot sent Discord that holds text: messages, edits, interaction answers, follow-ups."""
    bodies = [b.get("data") if p.endswith("/callback") else b for m, p, b in fake.calls if isinstance(b, dict)]
    return [b for b in bodies if b and ("content" in b or "embeds" in b)]


async def test_discord_prompt_with_pings_and_links_is_posted_inert(tmp_path: Path, discord_fake: FakeDiscord) -> None:
    async with DiscordBot(tmp_path, discord_fake) as bot:
        await bot.video(prompt=DISCORD_PROMPT)
        (job,) = await bot.until(lambda jobs: jobs and jobs[0].status.value == "delivered")
        first = discord_fake.callbacks[0]["data"]
        assert first["allowed_mentions"] == {"parse": []}
        assert first["embeds"][0]["description"] == DISCORD_SHOWN
        (post,) = [b for m, p, b in discord_fake.calls if m == "POST" and p == f"channels/{job.thread_id}/messages"
                   and b.get("_files")]
        # The video post may ping its requester, and nobody else: no @everyone, @here, role or other user.
        assert post["allowed_mentions"] == {"parse": [], "users": [int(ALICE)]}
        assert post["content"] == f"<@{ALICE}> here is your video: \u201c{DISCORD_SHOWN}\u201d (6 s, 768P)."
        await bot.send(discord_fake.interaction(2, {"id": "1", "name": "video-history", "type": 1}))
        await discord_fake.wait_for(lambda: any(DISCORD_SHOWN in m["content"] for m in discord_fake.ephemeral))
    bodies = _sent(discord_fake)
    assert len(bodies) >= 4
    for body in bodies:  # every message, edit and follow-up carries allowed_mentions
        allowed = body.get("allowed_mentions") or pytest.fail(repr(body)[:300])
        assert allowed["parse"] == [] and set(allowed) <= {"parse", "users"}, body
        assert allowed.get("users", [int(ALICE)]) == [int(ALICE)]


async def test_the_web_gallery_and_queue_show_a_prompt_without_its_bidi_controls(tmp_path: Path) -> None:
    from storage import open_store
    from tests.conftest import make_settings
    from tests.fakes.oauth_site import StepClock, add_job, deliver, start_site

    settings = make_settings(tmp_path, web_secret="safe-secret")
    settings.media_dir.mkdir(parents=True)
    store = await open_store(settings.database_url, clock=StepClock())
    site = await start_site(settings, store)
    video = settings.media_dir / "v.mp4"
    video.write_bytes(b"\0" * 1024)
    try:
        await deliver(store, await add_job(store, 1, platform="slack", workspace="TA", user="U1",
                                           prompt=f"a cat {RLO}gnp.exe"), video)
        await add_job(store, 2, platform="slack", workspace="TA", user="U1", prompt=f"a dog \u2067{RLO}x")
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(await site.link("slack", "TA", "U1", admin=False)) as r:
                assert r.status == 200
            gallery = await (await http.get(f"{site.base}/w/slack/TA/gallery")).text()
            queue = await (await http.get(f"{site.base}/w/slack/TA/queue")).text()
        assert "a cat gnp.exe" in gallery and "a dog x" in queue
        assert not any(c in gallery + queue for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    finally:
        await site.stop()
        await store.close()
