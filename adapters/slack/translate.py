"""Pure translation between Slack payloads and the core's neutral values, and Block Kit out."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from adapters.slack.form_options import chosen, option_blocks
from adapters.slack.safe import escape, member, slack_text
from bot import messages
from bot.commands import CommandRequest
from bot.contract import InvalidRequest, VideoRequest
from bot.days import human_duration
from bot.i18n import render
from bot.messages import user_ref
from bot.models import parse_model
from bot.parsing import parse_video_args
from bot.ports import AttachmentRef, StatusView
from bot.preset_parsing import as_video_text, preset_request

PLATFORM = "slack"
MODAL_ID = "hailuo_video_modal"
REGENERATE = "hailuo_regenerate"
CANCEL = "hailuo_cancel"
SUBCOMMANDS = {"quota": "quota", "history": "history", "help": "help", "status": "status", "cancel": "cancel",
               "repost": "repost"}
NO_URLS = messages.NO_URLS
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_REF = re.compile(r"<[@#]([A-Z0-9]+)(?:\|[^>]*)?>")


def unescape(text: str) -> str:
    """Slack escapes &, < and > in message and command text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def admin_args(text: str) -> tuple[str, ...]:
    """`quota set 20 <@U1|al>` -> ("quota", "set", "20", "U1"): mentions become ids."""
    return tuple(_REF.sub(lambda m: m.group(1), word) for word in text.split())


def inbox_key(body: dict[str, Any]) -> str:
    """What a resend of this payload carries again: its trigger_id, else its event_id, else its content."""
    if trigger := body.get("trigger_id"):
        return f"slack:trigger:{trigger}"
    if event := body.get("event_id"):
        return f"slack:event:{event}"
    return "slack:body:" + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def opens_form(body: dict[str, Any]) -> bool:
    """True for `/video` with no text: the answer is the form, opened with a trigger_id valid for 3 s."""
    return not (body.get("text") or "").strip()


def slash_request(body: dict[str, Any]) -> CommandRequest | None:
    """`/video ...` as a request; None when the text is empty (the caller opens the modal)."""
    if opens_form(body):
        return None
    text = body["text"].strip()
    base = _base(body.get("team_id", ""), body["channel_id"], body["user_id"], body.get("user_name", ""))
    head, _, rest = text.partition(" ")
    if head.lower() == "admin":
        return CommandRequest(command="admin", args=admin_args(rest), **base)
    text = unescape(text)
    if head.lower() == "preset":  # `preset use NAME PROMPT` is `--preset NAME PROMPT`
        rest = text.partition(" ")[2]
        video = as_video_text(rest)
        return _video(video, base, ()) if video is not None else preset_request(rest, **base)
    if head.lower() in SUBCOMMANDS:
        command = SUBCOMMANDS[head.lower()]
        job_id = rest.strip() or None if command in ("status", "cancel", "repost") else None
        return CommandRequest(command=command, job_id=job_id, **base)
    return _video(text, base, ())


def mention_request(event: dict[str, Any], team_id: str) -> CommandRequest:
    """A mention of the bot, with any images attached, as a video request in that thread."""
    text = unescape(_MENTION.sub("", event.get("text") or "").strip())
    base = _base(team_id or event.get("team", ""), event["channel"], event["user"], "")
    files = tuple(attachment(f) for f in event.get("files") or [])
    return _video(text, base, files)


def modal_request(body: dict[str, Any]) -> tuple[CommandRequest, dict[str, Any]]:
    """A submitted modal as a video request, and the context stored in its private_metadata."""
    meta = json.loads(body["view"].get("private_metadata") or "{}")
    values = body["view"]["state"]["values"]
    prompt = values["prompt"]["prompt"].get("value") or ""
    duration = (values["duration"]["duration"].get("selected_option") or {}).get("value")
    resolution = (values["resolution"]["resolution"].get("selected_option") or {}).get("value")
    files = list(values.get("image", {}).get("image", {}).get("files") or [])
    if not files and meta.get("file"):
        files = [meta["file"]]
    user = body["user"]
    base = _base(user.get("team_id") or body.get("team", {}).get("id", ""), meta["channel"], user["id"],
                 user.get("name", ""))
    req = CommandRequest(command="video", prompt=prompt, duration=duration, resolution=resolution,
                         attachments=tuple(attachment(f) for f in files[:1]), **chosen(values), **base)
    return req, meta


def attachment(file: dict[str, Any]) -> AttachmentRef:
    """A Slack file object as an attachment reference (downloaded later with the bot token)."""
    return AttachmentRef(url=file.get("url_private_download") or file.get("url_private") or "",
                         filename=file.get("name", ""), content_type=file.get("mimetype", ""),
                         size=file.get("size"), file_id=file.get("id", ""))


def image_file(message: dict[str, Any]) -> dict[str, Any] | None:
    """The first image file in a message, if any."""
    return next((f for f in message.get("files") or [] if str(f.get("mimetype", "")).startswith("image/")), None)


def modal_view(meta: dict[str, Any], chosen: dict[str, Any] | None = None, locale: str | None = None
               ) -> dict[str, Any]:
    """The `/video` form: prompt, duration, resolution, an image upload (or the image already chosen), and options."""
    def say(text: str) -> str:
        return render(text, locale)

    def select(block: str, label: str, options: list[tuple[str, str]], initial: str) -> dict[str, Any]:
        opts = [{"text": {"type": "plain_text", "text": text}, "value": value} for value, text in options]
        return {"type": "input", "block_id": block, "label": {"type": "plain_text", "text": label},
                "element": {"type": "static_select", "action_id": block, "options": opts,
                            "initial_option": next(o for o in opts if o["value"] == initial)}}

    blocks: list[dict[str, Any]] = [
        {"type": "input", "block_id": "prompt", "optional": True,
         "label": {"type": "plain_text", "text": say(messages.FORM_PROMPT)},
         "element": {"type": "plain_text_input", "action_id": "prompt", "multiline": True, "max_length": 2000,
                     "placeholder": {"type": "plain_text", "text": say(messages.FORM_PROMPT_HINT)}}},
        select("duration", say(messages.FORM_DURATION),
               [(str(n), say(messages.FORM_SECONDS.format(n=n))) for n in (6, 10)], "6"),
        select("resolution", say(messages.FORM_RESOLUTION),
               [("768P", "768P"), ("1080P", say(messages.FORM_HD_SHORT))], "768P"),
    ]
    if chosen is not None:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": escape(say(messages.FORM_CHOSEN.format(name=chosen.get("name") or "image")))}]})
    else:
        blocks.append({"type": "input", "block_id": "image", "optional": True,
                       "label": {"type": "plain_text", "text": say(messages.FORM_IMAGE)},
                       "element": {"type": "file_input", "action_id": "image", "max_files": 1,
                                   "filetypes": ["png", "jpg", "jpeg", "webp"]}})
    blocks += option_blocks(say)
    return {"type": "modal", "callback_id": MODAL_ID, "private_metadata": json.dumps(meta),
            "title": {"type": "plain_text", "text": say(messages.FORM_TITLE)},
            "submit": {"type": "plain_text", "text": say(messages.FORM_SUBMIT)},
            "close": {"type": "plain_text", "text": say(messages.FORM_CANCEL)}, "blocks": blocks}


def render_text(text: str) -> str:
    """The core's words in Slack's syntax: its neutral mentions real, a member's text escaped (adapters.slack.safe)."""
    return slack_text(text)


def status_message(view: StatusView) -> tuple[str, list[dict[str, Any]]]:
    """A job's status as fallback text and Block Kit, in the requester's language (the prompt as they wrote it)."""
    def say(text: str) -> str:
        return render(text, view.locale)

    options = view.settings
    state = f"*{escape(view.status_label)}* · {say(human_duration(view.elapsed_seconds))}"
    if view.queue_position:
        state += f" · {say(messages.PLACE_IN_LINE.format(n=view.queue_position))}"
    if view.time_left:
        state += f" · {view.time_left}"
    if view.error:
        state += f"\n{escape(view.error)}"
    credits = say(_credits(view.cost)) + (
        f" · {say(messages.LEFT_TODAY.format(n=view.credits_left))}" if view.credits_left is not None else "")
    # The prompt is the member's own text: escaped, so `<!channel>` or `<https://x|label>` in it stays inert.
    prompt = member(view.prompt[:2900]) if view.prompt else f"_{say(messages.ANIMATE_THE_IMAGE)}_"
    text = slack_text(say(messages.STATUS_FALLBACK.format(user=user_ref(view.user_id), status=view.status_label)))
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"<@{view.user_id}>: {prompt}"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": options}, {"type": "mrkdwn", "text": credits},
                                         {"type": "mrkdwn", "text": say(messages.JOB_FOOTER.format(
                                             job=f"`{view.job_id}`"))}]},
        {"type": "section", "text": {"type": "mrkdwn", "text": state}},
    ]
    return text, blocks + cancel_blocks(view)


def cancel_blocks(view: StatusView) -> list[dict[str, Any]]:
    """The Cancel button under a status message while the job can still be called off; none once it cannot."""
    if not view.cancellable:
        return []
    return [{"type": "actions", "block_id": f"cancel-{view.job_id}", "elements": [
        {"type": "button", "action_id": CANCEL, "value": view.job_id, "style": "danger",
         "text": {"type": "plain_text", "text": render(messages.CANCEL_BUTTON, view.locale)}}]}]


def regenerate_blocks(job_id: str, cost: int, locale: str | None = None) -> list[dict[str, Any]]:
    """The Regenerate button under a delivered video; the job id rides in its value."""
    label = render(messages.REGENERATE_BUTTON.format(cost=cost), locale)
    return [{"type": "actions", "block_id": f"regen-{job_id}", "elements": [
        {"type": "button", "action_id": REGENERATE, "value": job_id,
         "text": {"type": "plain_text", "text": label}}]}]


def _credits(n: int) -> str:
    return messages.CREDITS_COUNT.format(n=n)


def _base(team: str, channel: str, user: str, name: str) -> dict[str, Any]:
    return {"platform": PLATFORM, "workspace_id": team, "channel_id": channel, "user_id": user, "user_name": name}


def _video(text: str, base: dict[str, Any], files: tuple[AttachmentRef, ...]) -> CommandRequest:
    args = parse_video_args(text)
    if args.image:
        raise InvalidRequest(NO_URLS)
    # The contract needs nothing but the text: a slash command refused by it is answered in its acknowledgement
    # (with a preset named, the prompt may be empty: the preset's text is checked with it by the core).
    VideoRequest.build(args.prompt, duration=args.duration, resolution=args.resolution,
                       has_image=bool(files) or args.preset is not None, model=parse_model(args.model))
    return CommandRequest(command="video", prompt=args.prompt, duration=args.duration, resolution=args.resolution,
                          prompt_optimizer=args.prompt_optimizer, fast_pretreatment=args.fast_pretreatment,
                          model=args.model, attachments=files, preset=args.preset, **base)
