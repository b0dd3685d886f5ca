"""Every sentence the bot says to a user, in one place, with neutral references adapters render their own way."""

import re
from collections.abc import Callable

_REF = re.compile(r"<(user|channel):([^<>\s]+)>")


def user_ref(user_id: str) -> str:
    """A neutral mention of a member; each adapter renders it in its platform's syntax."""
    return f"<user:{user_id}>"


def channel_ref(channel_id: str) -> str:
    """A neutral reference to a channel; each adapter renders it in its platform's syntax."""
    return f"<channel:{channel_id}>"


def settings_words(
    duration: int, resolution: str, *, has_image: bool, prompt_optimizer: bool, fast_pretreatment: bool
) -> list[str]:
    """`["6 s", "768P", "from an image", "optimizer off", "fast"]`: a video's settings, as every message says them."""
    words = [f"{duration} s", resolution]
    if has_image:
        words.append("from an image")
    if not prompt_optimizer:
        words.append("optimizer off")
    if fast_pretreatment:
        words.append("fast")
    return words


def render_refs(text: str, *, user: Callable[[str], str], channel: Callable[[str], str]) -> str:
    """Replace the neutral references in `text` with a platform's own mention syntax."""
    return _REF.sub(lambda m: (user if m.group(1) == "user" else channel)(m.group(2)), text)


PROMPT_TOO_LONG = "Your prompt is {got} characters long; the limit is {limit}. Please shorten it."
PROMPT_CONTROL_CHARS = "Your prompt contains control characters. Please use plain text."
PROMPT_REQUIRED = "Please describe the video you want (a prompt), or attach an image to animate."
BAD_DURATION = "Duration must be 6 or 10 seconds (you asked for {got})."
BAD_RESOLUTION = "Resolution must be 768P or 1080P (you asked for {got})."
HD_ONLY_SHORT = "1080P videos can only be 6 seconds long. Choose 768P for a 10-second video."

IMAGE_NOT_IMAGE = "That attachment is not an image I can read. Please attach a PNG, JPEG or WebP picture."
IMAGE_WRONG_FORMAT = "That image is a {fmt}. Please attach a PNG, JPEG or WebP picture."
IMAGE_TOO_LARGE = "That image is {mb:.1f} MB; images must be smaller than 20 MB."
IMAGE_TOO_SMALL = "That image is {w}x{h} pixels; its shorter side must be more than 300 pixels."
IMAGE_BAD_ASPECT = (
    "That image is {w}x{h} pixels, too narrow or too wide; "
    "the width-to-height ratio must be between 2:5 and 5:2."
)
IMAGE_TOO_MANY_PIXELS = "That image has more than 64 megapixels, too many to use. Please scale it down."
IMAGE_FETCH_FAILED = "I could not download your image. Please try attaching it again."
IMAGE_TOO_MANY = "Please attach just one image; it becomes the video's first frame."

QUOTA_USER_EXCEEDED = (
    "This video costs {cost} credit(s) and you have {left} left today (daily limit {limit}). "
    "Your credits reset at 00:00 UTC, in {reset}."
)
QUOTA_WORKSPACE_EXCEEDED = (
    "This video costs {cost} credit(s) and this workspace has {left} left today (daily limit {limit}). "
    "The workspace pool resets at 00:00 UTC, in {reset}."
)

QUOTA_IN_FLIGHT = (
    "You already have {running} video(s) in progress; the limit is {limit} at a time. "
    "Try again when one of them is done."
)
BUDGET_REACHED = (
    "The bot has reached today's spending limit (${budget:.2f}). New videos can be made again after "
    "00:00 UTC, in {reset}."
)
USER_BLOCKED = "An admin has turned off video generation for you in this workspace."
CHANNEL_NOT_ALLOWED = "Videos can't be made in this channel. Try one of: {channels}."
COULD_NOT_START = "I could not start your video here. Nothing was charged; please try again."
BLOCKED_TERM = "Your prompt contains a term this workspace does not allow (\u201c{term}\u201d). Please rephrase it."

ALREADY_ACCEPTED = "That request was already accepted; its video is on the way."
ACCEPTED = "Got it! Your video is queued ({cost} credit(s); {left} left today). I'll post it here when it's ready."
STATUS_LABELS = {
    "queued": "Waiting for a slot",
    "submitting": "Sending to the model",
    "submitted": "Sent to the model",
    "preparing": "Preparing",
    "queueing": "Queueing",
    "processing": "Processing",
    "succeeded": "Done, fetching the video",
    "delivering": "Uploading",
    "delivered": "Delivered",
    "failed": "Failed",
    "expired": "Timed out",
}

JOB_FAILED_REFUNDED = "Sorry, your video could not be made: {reason} Your {cost} credit(s) were refunded."
JOB_EXPIRED_REFUNDED = (
    "Sorry, your video took longer than {minutes:g} minutes and was cancelled. "
    "Your {cost} credit(s) were refunded."
)
PROVIDER_UNAVAILABLE = "The video service is unavailable right now; the operator has been told."
PROVIDER_REJECTED_INPUT = "The video service refused this prompt or image (content policy)."
PROVIDER_REJECTED_OUTPUT = "The video service withheld the finished video (content policy)."
PROVIDER_BAD_INPUT = "The video service refused these settings."
PROVIDER_FAILED = "The video service could not make this video."
EXPIRED_SHORT = "Took too long and was cancelled."
PROVIDER_CHANGED = "The bot was switched to another video service while this video was being made."
PROVIDER_GAVE_UP = "The video service kept failing."
DELIVERY_FAILED = "I could not post the video here."
GENERATE_INTERRUPTED = "Called off: the command that asked for it was interrupted."
SUBMISSION_INTERRUPTED = "The request to the video service was interrupted twice."

VIDEO_CAPTION = "here is your video: \u201c{prompt}\u201d ({settings})."

QUOTA_VIEW = (
    "Today you have used {used} of {limit} credit(s), {held} held by videos in progress, {left} left. "
    "The workspace has {ws_left} of {ws_limit} left. Credits reset at 00:00 UTC, in {reset}."
)
HISTORY_EMPTY = "You have no videos yet. Try /video with a prompt."
HISTORY_LINE = "{when} {job} {status}: {prompt} ({duration} s, {resolution})"
NO_ACTIVE_JOBS = "You have no videos in progress. /history lists your recent ones."
REGENERATE_NOT_YOURS = "Only the person who asked for this video (or an admin) can regenerate it."
FRAME_GONE = "The image this video starts from is no longer kept (it was pruned)."
REGENERATE_IMAGE_GONE = "The image this video started from has been cleaned up, so it cannot be regenerated."
JOB_NOT_FOUND = "I don't know a job called {job}."
STATUS_LINE = "{job} {status} after {elapsed}: {prompt}"
OPTION_NEEDS_VALUE = "The option {option} needs a value, for example {option} 10."
UNKNOWN_OPTION = (
    "I don't know the option {option}. Options: --duration 6|10, --resolution 768P|1080P, --no-optimizer, --fast."
)
UNKNOWN_COMMAND = "I don't know that command. {help}"
HELP = (
    "Make a video: /video <prompt> [--duration 6|10] [--resolution 768P|1080P] "
    "[--no-optimizer] [--fast] [--image PATH]. Also: /quota, /status [job], /history, /help. "
    "Costs: 768P 6 s = {c1}, 768P 10 s = {c2}, 1080P 6 s = {c3} credit(s)."
)
RUN_POLLER_ONLY = "No chat adapter is configured (no DISCORD_TOKEN or SLACK_BOT_TOKEN); running the poller alone."

ADMIN_ONLY = "Only workspace admins can use admin commands."
ADMIN_HELP = (
    "Admin commands: quota [user] (show); quota set CREDITS [user] (a user's, or without a user the "
    "workspace's, daily credits); block USER; unblock USER; channels (list); channels allow CHANNEL; "
    "channels remove CHANNEL; usage [DAYS]; log."
)
ADMIN_BAD = "I didn't understand that admin command. {help}"
ADMIN_LIMIT_SET = "Daily credits for {who} set to {credits}."
ADMIN_BLOCKED = "{user} can no longer make videos here."
ADMIN_UNBLOCKED = "{user} can make videos here again."
ADMIN_CHANNELS_NONE = "Videos can be made in every channel (no allow-list)."
ADMIN_CHANNELS = "Videos can be made only in: {channels}."
ADMIN_CHANNEL_ALLOWED = "{channel} added to the channels where videos can be made."
ADMIN_CHANNEL_REMOVED = "{channel} removed from the allow-list."
ADMIN_USAGE = (
    "Last {days} day(s): {jobs} video(s), {delivered} delivered, {failed} failed; "
    "{credits} credit(s) and ${usd:.2f} spent."
)
ADMIN_USAGE_USER = "{user}: {delivered} delivered, {credits} credit(s), ${usd:.2f}"
ADMIN_QUOTA_USER = "{user}: {used} used, {held} held, {left} left of {limit} today."
ADMIN_QUOTA_WORKSPACE = "This workspace: {used} used or held, {left} left of {limit} today."
ADMIN_LOG_EMPTY = "No admin changes yet."
ADMIN_USAGE_PROVIDERS = "By video service: {providers}."

# Local disk trouble is the bot's own machine, never the video service (issue 14).
DISK_FULL = "The bot's server is out of disk space, so it could not save the finished video."
DISK_UNWRITABLE = "The bot's server could not save the finished video to its disk."
LOCAL_MEDIA_UNWRITABLE = (
    "MEDIA_DIR: cannot write videos to {path} ({reason}). Fix its permissions, free some space, "
    "or set MEDIA_DIR to a writable folder."
)
LOCAL_OUT_IS_DIR = "--out {path} is a folder; give a file name for the video, such as {path}/video.mp4."
LOCAL_OUT_NO_FOLDER = "--out {path}: the folder {parent} does not exist."
LOCAL_OUT_UNWRITABLE = "--out {path}: cannot write to the folder {parent} ({reason})."
LOCAL_OUT_FAILED = "Could not write the video to {path} ({reason}); it is kept at {kept}."
LOCAL_IMAGE_MISSING = "--image {path}: no such file."
LOCAL_IMAGE_NOT_FILE = "--image {path} is not a regular file; give the path of a PNG, JPEG or WebP picture."
PROMPT_NOT_TEXT = ("Your prompt is not valid text (it has bytes that are not UTF-8). "
                   "Please type it again as plain text.")
PROMPT_INVISIBLE = ("Your prompt has no visible text, only spaces or invisible characters. "
                    "Please describe the video you want.")
IMAGE_WEBP_TOO_BIG = ("That WebP image is {w}x{h} pixels; a WebP can have at most 16 megapixels "
                      "(videos are 1080p at most). Please send it as PNG or JPEG, or scale it down.")
