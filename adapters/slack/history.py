"""History on Slack: `/video history` with a permalink to each post and "Post again" buttons; `/video repost JOB`."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import translate as t
from adapters.slack.safe import slack_text
from bot.commands import CommandRequest, Reply
from bot.i18n import render
from bot.jobs import Job
from bot.messages import history as words

REPOST = "hailuo_repost"
SECTION_LIMIT = 3000  # characters of a section block's text


def history_blocks(reply: Reply, locale: str | None) -> dict[str, Any]:
    """`blocks=`: the answer with a "Post again" button per delivered video still kept (nothing when it offers none)."""
    if not reply.reposts:
        return {}
    text = slack_text(reply.text)
    if len(text) > SECTION_LIMIT:
        text = text[: text.rfind("\n", 0, SECTION_LIMIT)]
    buttons = [{"type": "button", "action_id": REPOST, "value": job_id,
                "text": {"type": "plain_text", "text": render(words.REPOST_BUTTON.format(job=job_id), locale)}}
               for job_id in reply.reposts[:25]]
    return {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}},
                       {"type": "actions", "block_id": "repost", "elements": buttons}]}


async def post_link(client: AsyncWebClient, job: Job) -> str | None:
    """The permalink of the message that shared the job's video (from files.info), else of its thread."""
    channel, _, file_id = (job.delivered_ref or "").partition("/")
    if not channel or not file_id:
        return None
    ts = None
    try:
        info = (await client.files_info(file=file_id)).get("file") or {}
        shares = info.get("shares") or {}
        found = [s for kind in ("public", "private") for s in (shares.get(kind) or {}).get(channel) or []]
        ts = str(found[0]["ts"]) if found else None
    except SlackApiError:
        pass  # no files:read, or the file was deleted: the thread's link still leads to it
    ts = ts or job.thread_id
    if not ts:
        return None
    try:
        answer = await client.chat_getPermalink(channel=channel, message_ts=ts)
    except SlackApiError:
        return None
    return str(answer.get("permalink") or "") or None


def install_history(adapter: Any) -> None:
    """Register the "Post again" button's action on the adapter's bolt app (from `SlackAdapter.build`).

    `adapter` is the SlackAdapter (not imported: its module imports this one).
    """

    async def on_repost(ack, body: dict[str, Any]) -> None:
        await adapter._admit("repost", body, lambda key: repost_pressed(adapter, body))
        await ack()

    adapter.app.action(REPOST)(on_repost)
    adapter.replays["repost"] = lambda body, key: repost_pressed(adapter, body)  # a click a dead process took


async def repost_pressed(adapter: Any, body: dict[str, Any]) -> None:
    """Post the button's video again in the channel it was pressed in, for whoever pressed it; free."""
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id") or body["container"]["channel_id"]
    req = CommandRequest(platform=t.PLATFORM, workspace_id=(body.get("team") or {}).get("id", ""),
                         channel_id=channel, user_id=user, user_name=body["user"].get("name", ""),
                         command="repost", job_id=body["actions"][0]["value"],
                         is_admin=await adapter._is_admin(user), locale=await adapter.locales.of(user))
    reply = await adapter.ctx.core.handle(req)
    await adapter._ephemeral(channel, user, None)(reply.text)
