"""Cancel on Slack: the button under a job's status message (`/video cancel JOB` goes the slash command's way)."""

from __future__ import annotations

from typing import Any

from adapters.slack import translate as t
from bot.commands import CommandRequest


def install_cancel(adapter: Any) -> None:
    """Register the Cancel button's action on the adapter's bolt app (from `SlackAdapter.build`).

    `adapter` is the SlackAdapter (not imported: its module imports this one).
    """

    async def on_cancel(ack, body: dict[str, Any]) -> None:
        # Recorded before the ack like every other click, so a crash in between still cancels (a replay
        # of a cancel already made only answers that it is under way).
        await adapter._admit("cancel", body, lambda key: cancel_pressed(adapter, body), urgent=True)
        await ack()

    adapter.app.action(t.CANCEL)(on_cancel)
    adapter.replays["cancel"] = lambda body, key: cancel_pressed(adapter, body)  # a click a dead process took


async def cancel_pressed(adapter: Any, body: dict[str, Any]) -> None:
    """Ask the core to cancel the button's job for whoever pressed it; the answer only they see."""
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id") or body["container"]["channel_id"]
    message = body.get("message") or {}
    # An admin by Slack's own roles (or SLACK_ADMIN_USER_IDS) may cancel anyone's, as for Regenerate.
    req = CommandRequest(platform=t.PLATFORM, workspace_id=(body.get("team") or {}).get("id", ""),
                         channel_id=channel, user_id=user, user_name=body["user"].get("name", ""),
                         command="cancel", job_id=body["actions"][0]["value"],
                         is_admin=await adapter._is_admin(user), locale=await adapter.locales.of(user))
    reply = await adapter.ctx.core.handle(req)
    await adapter._ephemeral(channel, user, message.get("thread_ts"))(reply.text)
