"""Remix and Extend on Slack: buttons under a delivered video, a prefilled form (`views.open`), the joined video."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.errors import SlackApiError

from adapters.slack import translate as t
from bot import messages
from bot.chains import ChainForm, chain_form
from bot.commands import CommandRequest
from bot.i18n import render
from bot.messages import chains as words
from bot.ports import VideoPost

REMIX, EXTEND, JOINED = "hailuo_remix", "hailuo_extend", "hailuo_joined"
CHAIN_MODAL_ID = "hailuo_chain_modal"
ACTIONS = {REMIX: "remix", EXTEND: "extend", JOINED: "joined"}


def delivered_blocks(video: VideoPost) -> list[dict[str, Any]]:
    """The buttons under a delivered video: Regenerate, Remix, Extend, and Joined video from a chain's second clip."""
    blocks = t.regenerate_blocks(video.job_id, video.cost, video.locale)
    labels = [(REMIX, words.REMIX_BUTTON), (EXTEND, words.EXTEND_BUTTON)]
    if video.chain_index > 1:
        labels.append((JOINED, words.JOINED_BUTTON))
    blocks[0]["elements"] += [{"type": "button", "action_id": action, "value": video.job_id,
                               "text": {"type": "plain_text", "text": render(label, video.locale)}}
                              for action, label in labels]
    return blocks


def chain_view(form: ChainForm, meta: dict[str, Any]) -> dict[str, Any]:
    """The Remix or Extend form: the prompt, duration and resolution filled in from the job."""
    def say(text: str) -> str:
        return render(text, form.locale)

    def select(block: str, label: str, options: list[tuple[str, str]], initial: str) -> dict[str, Any]:
        opts = [{"text": {"type": "plain_text", "text": text}, "value": value} for value, text in options]
        return {"type": "input", "block_id": block, "label": {"type": "plain_text", "text": label},
                "element": {"type": "static_select", "action_id": block, "options": opts,
                            "initial_option": next(o for o in opts if o["value"] == initial)}}

    hint = words.EXTEND_PROMPT_HINT if form.kind == "extend" else messages.FORM_PROMPT_HINT
    prompt: dict[str, Any] = {"type": "plain_text_input", "action_id": "prompt", "multiline": True, "max_length": 2000,
                              "placeholder": {"type": "plain_text", "text": say(hint)[:150]}}
    if form.prompt:
        prompt["initial_value"] = form.prompt
    blocks: list[dict[str, Any]] = [
        {"type": "input", "block_id": "prompt", "optional": True, "element": prompt,
         "label": {"type": "plain_text", "text": say(messages.FORM_PROMPT)}},
        select("duration", say(messages.FORM_DURATION),
               [(str(n), say(messages.FORM_SECONDS.format(n=n))) for n in (6, 10)], str(form.duration)),
        select("resolution", say(messages.FORM_RESOLUTION),
               [("768P", "768P"), ("1080P", say(messages.FORM_HD_SHORT))], form.resolution),
    ]
    if form.kind == "extend" or form.has_image:
        keeps = words.EXTEND_KEEPS_FRAME if form.kind == "extend" else words.REMIX_KEEPS_FRAME
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": say(keeps)}]})
    title = say(words.REMIX_TITLE if form.kind == "remix" else words.EXTEND_TITLE)
    return {"type": "modal", "callback_id": CHAIN_MODAL_ID, "private_metadata": json.dumps(meta),
            "title": {"type": "plain_text", "text": title[:24]},
            "submit": {"type": "plain_text", "text": say(messages.FORM_SUBMIT)},
            "close": {"type": "plain_text", "text": say(messages.FORM_CANCEL)}, "blocks": blocks}


def install_chains(adapter: Any) -> None:
    """Register the buttons' actions and the form's submission on the adapter's bolt app (from `build`).

    `adapter` is the SlackAdapter (not imported: its module imports this one). Every click and every
    submission is recorded in the inbox before its ack, as the others are, and replayed by any process.
    """

    async def on_click(ack, body: dict[str, Any]) -> None:
        await adapter._admit("chain_click", body, lambda key: clicked(adapter, body), urgent=True)
        await ack()

    async def on_submit(ack, body: dict[str, Any]) -> None:
        await adapter._admit("chain_view", body, lambda key: submitted(adapter, body, key))
        await ack()

    for action in ACTIONS:
        adapter.app.action(action)(on_click)
    adapter.app.view(CHAIN_MODAL_ID)(on_submit)
    adapter.replays.update({"chain_click": lambda body, key: clicked(adapter, body),
                            "chain_view": lambda body, key: submitted(adapter, body, key)})


async def _request(adapter: Any, body: dict[str, Any], command: str, job_id: str, channel: str,
                   **extra: Any) -> CommandRequest:
    user = body["user"]
    return CommandRequest(platform=t.PLATFORM, workspace_id=user.get("team_id") or (body.get("team") or {}).get(
                          "id", ""), channel_id=channel, user_id=user["id"], user_name=user.get("name", ""),
                          command=command, job_id=job_id, is_admin=await adapter._is_admin(user["id"]),
                          locale=await adapter.locales.of(user["id"]), **extra)


async def clicked(adapter: Any, body: dict[str, Any]) -> None:
    """Remix or Extend: open the prefilled form; Joined video: post the chain in the thread. Refusals privately."""
    action = body["actions"][0]
    command, job_id = ACTIONS[action["action_id"]], action["value"]
    channel = (body.get("channel") or {}).get("id") or body["container"]["channel_id"]
    thread = (body.get("message") or {}).get("thread_ts")
    req = await _request(adapter, body, command, job_id, channel)
    tell = adapter._ephemeral(channel, req.user_id, thread)
    if command == "joined":
        await tell((await adapter.ctx.core.handle(req)).text)
        return
    form = await chain_form(adapter.ctx.core, req)
    if not isinstance(form, ChainForm):
        await tell(form.text)
        return
    meta = {"channel": channel, "thread": thread, "kind": command, "job": job_id}
    try:
        await adapter.client.views_open(trigger_id=body["trigger_id"], view=chain_view(form, meta))
    except SlackApiError:
        await tell(render(messages.FORM_EXPIRED, form.locale))  # a trigger lives 3 s: a replay finds it gone


async def submitted(adapter: Any, body: dict[str, Any], key: str | None) -> None:
    """The form sent back: a new job, charged like any /video, whose status and video go into the same thread."""
    meta = json.loads(body["view"].get("private_metadata") or "{}")
    values = body["view"]["state"]["values"]
    prompt = values["prompt"]["prompt"].get("value") or ""
    duration = (values["duration"]["duration"].get("selected_option") or {}).get("value")
    resolution = (values["resolution"]["resolution"].get("selected_option") or {}).get("value")
    req = await _request(adapter, body, meta["kind"], meta["job"], meta["channel"], prompt=prompt,
                         duration=duration, resolution=resolution)
    thread = meta.get("thread")
    await adapter._ask(req, thread, adapter._ephemeral(req.channel_id, req.user_id, thread), key)
