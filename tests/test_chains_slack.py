"""Remix and Extend through the real slack-bolt app against the fake Slack: buttons, `views.open`, the joined video."""

from __future__ import annotations

import io
import json
import time
import uuid
from pathlib import Path

from PIL import Image

from bot.messages import chains as words
from bot.store import InboxItem
from bot.video_files import duration_of, last_frame_png
from tests.fakes.slack import FakeSlack
from tests.test_chains import first_frame, mean_difference
from tests.test_slack_e2e import Bot, opened_view


def button_message(fake: FakeSlack, job_id: str) -> dict:
    """The message with the buttons under the job's video (in its thread)."""
    for message in fake.messages["C1"]:
        blocks = message.get("blocks") or []
        blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
        if any(e.get("value") == job_id and e["action_id"] == "hailuo_regenerate"
               for b in blocks if b["type"] == "actions" for e in b["elements"]):
            return {**message, "blocks": blocks}
    raise AssertionError(f"no buttons for {job_id}")


def actions(message: dict) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def click(fake: FakeSlack, job_id: str, action: str, user: str = "U1") -> dict:
    message = button_message(fake, job_id)
    return {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": user, "team_id": "T1"},
            "api_app_id": "A1", "trigger_id": uuid.uuid4().hex, "channel": {"id": "C1"},
            "container": {"type": "message", "channel_id": "C1", "message_ts": message["ts"]},
            "message": {"type": "message", "ts": message["ts"], "thread_ts": message.get("thread_ts")},
            "actions": [{"type": "button", "action_id": action, "value": job_id, "block_id": "b",
                         "action_ts": "1.2"}], "response_url": fake.response_url()}


def submission(view: dict, *, prompt: str, duration: str | None = None, user: str = "U1") -> dict:
    initial = {b["block_id"]: b["element"].get("initial_option", {}).get("value") for b in view["blocks"]
               if b["type"] == "input"}
    state = {"prompt": {"prompt": {"type": "plain_text_input", "value": prompt}},
             "duration": {"duration": {"type": "static_select",
                                       "selected_option": {"value": duration or initial["duration"]}}},
             "resolution": {"resolution": {"type": "static_select",
                                           "selected_option": {"value": initial["resolution"]}}}}
    return {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": user, "team_id": "T1"},
            "api_app_id": "A1", "trigger_id": uuid.uuid4().hex,
            "view": {"id": "V1", "type": "modal", "callback_id": view["callback_id"],
                     "private_metadata": view["private_metadata"], "state": {"values": state}}}


def said(fake: FakeSlack) -> list[str]:
    return [a["text"] for a in fake.args_of("chat.postEphemeral")]


async def form_for(bot: Bot, fake: FakeSlack, payload: dict) -> dict:
    opened = len(fake.args_of("views.open"))
    assert (await bot.interactive(payload)).status_code == 200
    await fake.wait_for(lambda: len(fake.args_of("views.open")) > opened)
    assert fake.args_of("views.open")[-1]["trigger_id"] == payload["trigger_id"]  # the click's own trigger
    return opened_view(fake)


async def test_remix_with_an_edited_prompt_is_a_new_job_in_the_same_thread(tmp_path: Path,
                                                                          slack_fake: FakeSlack) -> None:
    fake = slack_fake
    async with Bot(tmp_path, fake, local_fps=8) as bot:
        await bot.slash("a red kite over a hill --duration 10")
        await bot.until_delivered()
        (original,) = await bot.jobs()
        assert actions(button_message(fake, original.id)) == ["hailuo_regenerate", "hailuo_remix", "hailuo_extend"]

        await bot.interactive(click(fake, original.id, "hailuo_remix", user="U2"))
        await fake.wait_for(lambda: words.CHAIN_NOT_YOURS in said(fake))
        assert "views.open" not in fake.methods()

        view = await form_for(bot, fake, click(fake, original.id, "hailuo_remix"))
        fields = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
        assert fields["prompt"]["initial_value"] == "a red kite over a hill"
        assert fields["duration"]["initial_option"]["value"] == "10"
        assert fields["resolution"]["initial_option"]["value"] == "768P"
        await bot.interactive(submission(view, prompt="a blue kite over a hill"))
        await bot.until_delivered(2)
        (remix,) = [j for j in await bot.jobs() if j.id != original.id]
        assert remix.request.prompt == "a blue kite over a hill"
        assert (remix.request.duration, remix.request.resolution) == (10, "768P")
        assert [k for k, _, _ in await bot.rt.store.ledger(remix.id)] == ["reserve", "capture"]  # charged once
        # The status message and the video are in the original's thread.
        assert remix.thread_id == original.thread_id
        status_ts = remix.status_message_id.partition(":")[2]
        assert next(m for m in fake.messages["C1"] if m["ts"] == status_ts)["thread_ts"] == original.thread_id
        assert [u["thread_ts"] for u in fake.uploads.values()] == [original.thread_id] * 2


async def test_extend_continues_from_the_last_frame_and_the_chain_is_joined(tmp_path: Path,
                                                                           slack_fake: FakeSlack) -> None:
    fake = slack_fake
    async with Bot(tmp_path, fake, local_fps=8, extend_max_clips=2) as bot:
        await bot.slash("a lighthouse at dusk")
        await bot.until_delivered()
        (first,) = await bot.jobs()
        view = await form_for(bot, fake, click(fake, first.id, "hailuo_extend"))
        assert {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}["prompt"][
            "initial_value"] == "a lighthouse at dusk"
        await bot.interactive(submission(view, prompt="the beam sweeps the sea <!channel>"))
        await bot.until_delivered(2)
        (second,) = [j for j in await bot.jobs() if j.id != first.id]
        assert (second.chain_parent, second.chain_root, second.chain_index) == (first.id, first.id, 2)
        assert second.thread_id == first.thread_id
        uploads = {u["filename"]: u for u in fake.uploads.values()}
        last = Image.open(io.BytesIO(last_frame_png(Path(uploads[f"hailuo-{first.id}.mp4"]["path"]))))
        assert mean_difference(first_frame(uploads[f"hailuo-{second.id}.mp4"]["path"]), last) < 6
        assert "hailuo_joined" in actions(button_message(fake, second.id))

        await bot.interactive(click(fake, second.id, "hailuo_extend"))  # the cap: 2 clips
        await fake.wait_for(lambda: words.EXTEND_CAP.format(count=2, limit=2) in said(fake))
        assert len(await bot.jobs()) == 2

        await bot.interactive(click(fake, second.id, "hailuo_joined"))
        await fake.wait_for(lambda: words.JOINED_POSTED.format(count=2, seconds=12) in said(fake), 30)
        joined = next(u for u in fake.uploads.values() if u["filename"] == f"hailuo-chain-{second.id}.mp4")
        assert joined["thread_ts"] == first.thread_id
        assert "the beam sweeps the sea" in joined["comment"] and "<!channel>" not in joined["comment"]  # inert
        assert abs(duration_of(Path(joined["path"])) - 12) < 0.2
        assert len(await bot.jobs()) == 2
        for job in (first, second):
            assert [k for k, _, _ in await bot.rt.store.ledger(job.id)] == ["reserve", "capture"]


async def test_a_form_submission_taken_by_a_process_that_died_is_replayed_once(tmp_path: Path,
                                                                             slack_fake: FakeSlack) -> None:
    fake = slack_fake
    async with Bot(tmp_path, fake, local_fps=8) as bot:
        await bot.slash("a paper boat")
        await bot.until_delivered()
        (first,) = await bot.jobs()
        view = await form_for(bot, fake, click(fake, first.id, "hailuo_extend"))
        body = submission(view, prompt="it drifts away")
        await bot.adapter.aclose()  # the process that acknowledged the submission "dies" before handling it
        key = f"slack:trigger:{body['trigger_id']}"
        await bot.rt.store.inbox_add([InboxItem(key, "slack", "chain_view", json.dumps(body), time.time())],
                                     "dead-process", until=time.time() - 1)
        await bot.adapter.start()  # a process serving Slack takes the orphan over
        await bot.until_delivered(2)
        assert bot.rt.inbox.replayed == 1
        (second,) = [j for j in await bot.jobs() if j.id != first.id]
        assert second.chain_parent == first.id and second.request.prompt == "it drifts away"
        assert [k for k, _, _ in await bot.rt.store.ledger(second.id)] == ["reserve", "capture"]
        # Slack sends the same submission again: its key is known (decided before the ack), so nothing is queued.
        queued = bot.adapter.later.waiting
        assert (await bot.interactive(body)).status_code == 200
        assert bot.adapter.later.waiting == queued and len(await bot.jobs()) == 2
