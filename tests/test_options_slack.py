"""Issue 15 on Slack, through the real slack-bolt app against the fake: the Fast model, camera moves, the form's
model, camera and toggle fields, and a help that lists only what works on Slack."""

from __future__ import annotations

import re
from pathlib import Path

from adapters.slack import translate as t
from bot.messages import options as words
from bot.providers.minimax import FAST_MODEL, MiniMaxProvider
from tests.fakes.minimax import FakeMiniMax
from tests.fakes.slack import FakeSlack
from tests.test_slack_e2e import Bot, opened_view, png


async def assert_nothing_charged(bot: Bot, fake: FakeSlack) -> None:
    assert await bot.jobs() == []
    usage = await bot.rt.core.answers.usage("slack", "T1", "U1")
    assert usage.user_used == 0 and usage.user_left == usage.user_limit
    assert "chat.postMessage" not in fake.methods()  # no status message, so no thread


async def test_the_fast_model_for_text_alone_is_refused_in_the_acknowledgement(
        tmp_path: Path, slack_fake: FakeSlack) -> None:
    async with Bot(tmp_path, slack_fake) as bot:
        for text in ("a paper boat --model fast", "a paper boat --fast-model"):
            ack = await bot.slash(text)
            assert ack.status_code == 200 and ack.json()["text"] == str(words.FAST_NEEDS_IMAGE)
        await assert_nothing_charged(bot, slack_fake)
        # --fast is still fast pretreatment: accepted, standard model.
        assert "text" not in ((await bot.slash("a paper boat --fast")).text or "{}")
        await bot.until_delivered()
        (job,) = await bot.jobs()
        assert (job.request.fast_pretreatment, job.request.model) == (True, "standard")


async def test_a_bad_bracket_is_refused_in_the_acknowledgement(tmp_path: Path, slack_fake: FakeSlack) -> None:
    async with Bot(tmp_path, slack_fake) as bot:
        ack = await bot.slash("a fox [Pan left,Pan right,Zoom in,Shake]")
        assert ack.json()["text"] == str(words.CAMERA_TOO_MANY.format(count=4, max=3))
        ack = await bot.slash("a fox [Pan left")
        assert ack.json()["text"] == str(words.CAMERA_UNBALANCED)
        await assert_nothing_charged(bot, slack_fake)


async def test_the_form_carries_model_camera_and_toggles_to_the_provider(
        tmp_path: Path, slack_fake: FakeSlack, sample_mp4: bytes) -> None:
    fake = slack_fake
    minimax = await FakeMiniMax(video=sample_mp4).start()
    provider = MiniMaxProvider(minimax.api_key, minimax.base_url)
    try:
        async with Bot(tmp_path, fake, provider, hailuo_provider="minimax", minimax_api_key=minimax.api_key,
                       credits_fast_768p_6s=3) as bot:
            await bot.slash("")
            await fake.wait_for(lambda: "views.open" in fake.methods())
            view = opened_view(fake)
            blocks = {b.get("block_id"): b for b in view["blocks"]}
            assert blocks["camera"]["element"]["type"] == "multi_static_select"
            assert blocks["camera"]["element"]["max_selected_items"] == 3
            assert len(blocks["camera"]["element"]["options"]) == 15
            assert [o["value"] for o in blocks["options"]["element"]["options"]] == [
                "prompt_optimizer", "fast_pretreatment"]
            assert [o["value"] for o in blocks["options"]["element"]["initial_options"]] == ["prompt_optimizer"]
            assert [o["value"] for o in blocks["model"]["element"]["options"]] == ["standard", "fast"]
            file = fake.add_file("frame.png", png(), "image/png")
            state = {"prompt": {"prompt": {"type": "plain_text_input", "value": "slow zoom"}},
                     "duration": {"duration": {"type": "static_select", "selected_option": {"value": "6"}}},
                     "resolution": {"resolution": {"type": "static_select", "selected_option": {"value": "768P"}}},
                     "image": {"image": {"type": "file_input", "files": [file]}},
                     "model": {"model": {"type": "static_select", "selected_option": {"value": "fast"}}},
                     "camera": {"camera": {"type": "multi_static_select", "selected_options": [
                         {"value": "Zoom in"}, {"value": "Shake"}]}},
                     # the optimizer unticked, fast pretreatment ticked
                     "options": {"options": {"type": "checkboxes", "selected_options": [
                         {"value": "fast_pretreatment"}]}}}
            payload = {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U1", "team_id": "T1"},
                       "api_app_id": "A1", "trigger_id": "1.2.y",
                       "view": {"id": "V1", "type": "modal", "callback_id": t.MODAL_ID,
                                "private_metadata": view["private_metadata"], "state": {"values": state}}}
            assert (await bot.interactive(payload)).status_code == 200
            await bot.until_delivered()
            (job,) = await bot.jobs()
            req = job.request
            assert (req.prompt, req.model, req.prompt_optimizer, req.fast_pretreatment) == (
                "slow zoom [Zoom in,Shake]", "fast", False, True)
            assert (job.cost, job.price_usd) == (3, 0.19)
    finally:
        await minimax.stop()
    (sent,) = minimax.submissions
    assert sent["model"] == FAST_MODEL and sent["prompt"] == "slow zoom [Zoom in,Shake]"
    assert (sent["prompt_optimizer"], sent["fast_pretreatment"]) == (False, True)


async def test_the_form_left_alone_keeps_the_defaults(tmp_path: Path, slack_fake: FakeSlack) -> None:
    async with Bot(tmp_path, slack_fake) as bot:
        await bot.slash("")
        await slack_fake.wait_for(lambda: "views.open" in slack_fake.methods())
        view = opened_view(slack_fake)
        state = {"prompt": {"prompt": {"type": "plain_text_input", "value": "a harbour"}},
                 "duration": {"duration": {"type": "static_select", "selected_option": {"value": "6"}}},
                 "resolution": {"resolution": {"type": "static_select", "selected_option": {"value": "768P"}}},
                 "model": {"model": {"type": "static_select", "selected_option": None}},
                 "camera": {"camera": {"type": "multi_static_select", "selected_options": []}},
                 "options": {"options": {"type": "checkboxes", "selected_options": [{"value": "prompt_optimizer"}]}}}
        payload = {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U1", "team_id": "T1"},
                   "api_app_id": "A1", "trigger_id": "1.2.w",
                   "view": {"id": "V2", "type": "modal", "callback_id": t.MODAL_ID,
                            "private_metadata": view["private_metadata"], "state": {"values": state}}}
        await bot.interactive(payload)
        await bot.until_delivered()
        (job,) = await bot.jobs()
        assert (job.request.prompt, job.request.model, job.request.prompt_optimizer,
                job.request.fast_pretreatment) == ("a harbour", "standard", True, False)


async def test_help_lists_only_what_works_on_slack(tmp_path: Path, slack_fake: FakeSlack) -> None:
    async with Bot(tmp_path, slack_fake) as bot:
        await bot.slash("help")
        await slack_fake.wait_for(lambda: slack_fake.responses)
        text = slack_fake.responses[0]["text"]
    # Every command it names is /video and a subcommand Slack's /video takes; no /quota, no --image.
    assert set(re.findall(r"(?<![\w-])/([a-z][a-z-]*)", text)) == {"video"}
    subcommands = set(re.findall(r"/video ([a-z]+)", text.split("Also:")[1]))  # the list of other commands
    assert subcommands and subcommands <= set(t.SUBCOMMANDS) | {"admin", "preset"}
    assert "--image" not in text and "[Tracking shot]" in text and "--model fast" in text
    assert subcommands == {"status", "history", "repost", "quota", "preset", "cancel", "help", "admin"}
    assert "With the Fast model" in text
