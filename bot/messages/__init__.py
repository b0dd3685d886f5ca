"""Every sentence the bot says to a user, in one place, with neutral references adapters render their own way.

Each is a gettext template, `_("...")` (English source; catalogs in bot/locale): `format()` returns a Text
that is English as a str and is rendered in the reader's language at the boundary (`i18n.render`).
"""

from bot.i18n import Template as _
from bot.i18n import Text, plural
from bot.safe_text import render_refs  # noqa: F401  (neutral references rendered, member text escaped)


def user_ref(user_id: str) -> str:
    """A neutral mention of a member; each adapter renders it in its platform's syntax."""
    return f"<user:{user_id}>"


def channel_ref(channel_id: str) -> str:
    """A neutral reference to a channel; each adapter renders it in its platform's syntax."""
    return f"<channel:{channel_id}>"


def settings_words(
    duration: int, resolution: str, *, has_image: bool, prompt_optimizer: bool, fast_pretreatment: bool,
    fast_model: bool = False,
) -> list[str]:
    """`["6 s", "768P", "from an image", "optimizer off", "fast"]`: a video's settings, as every message says them."""
    from bot.messages.options import WORD_FAST_MODEL

    words: list[str] = [SECONDS.format(n=duration), resolution]
    if fast_model:
        words.append(WORD_FAST_MODEL)
    if has_image:
        words.append(WORD_FROM_IMAGE)
    if not prompt_optimizer:
        words.append(WORD_OPTIMIZER_OFF)
    if fast_pretreatment:
        words.append(WORD_FAST)
    return words


def duration_text(seconds: float) -> Text:
    """`3 h 12 min`, `4 min`, `25 s`: short and plain, in the reader's language."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return DURATION_H_MIN.format(h=hours, m=minutes)
    if minutes:
        return DURATION_MIN_S.format(m=minutes, s=secs) if minutes < 10 and secs else DURATION_MIN.format(m=minutes)
    return SECONDS.format(n=secs)


plural("credits", "{n} credit", "{n} credits")
plural("videos", "{n} video", "{n} videos")
plural("days", "{n} day", "{n} days")
plural("minutes", "{n} minute", "{n} minutes")

SECONDS = _("{n} s")
DURATION_H_MIN = _("{h} h {m} min")
DURATION_MIN_S = _("{m} min {s} s")
DURATION_MIN = _("{m} min")
WORD_FROM_IMAGE = _("from an image")
WORD_OPTIMIZER_OFF = _("optimizer off")
WORD_FAST = _("fast")
ANIMATED_IMAGE = _("(animated image)")
THIS_WORKSPACE = _("this workspace")

PROMPT_TOO_LONG = _("Your prompt is {got} characters long; the limit is {limit}. Please shorten it.")
PROMPT_CONTROL_CHARS = _("Your prompt contains control characters. Please use plain text.")
PROMPT_REQUIRED = _("Please describe the video you want (a prompt), or attach an image to animate.")
BAD_DURATION = _("Duration must be 6 or 10 seconds (you asked for {got}).")
BAD_RESOLUTION = _("Resolution must be 768P or 1080P (you asked for {got}).")
HD_ONLY_SHORT = _("1080P videos can only be 6 seconds long. Choose 768P for a 10-second video.")

IMAGE_NOT_IMAGE = _("That attachment is not an image I can read. Please attach a PNG, JPEG or WebP picture.")
IMAGE_WRONG_FORMAT = _("That image is a {fmt}. Please attach a PNG, JPEG or WebP picture.")
IMAGE_TOO_LARGE = _("That image is {mb:.1f} MB; images must be smaller than 20 MB.")
IMAGE_TOO_SMALL = _("That image is {w}x{h} pixels; its shorter side must be more than 300 pixels.")
IMAGE_BAD_ASPECT = _(
    "That image is {w}x{h} pixels, too narrow or too wide; "
    "the width-to-height ratio must be between 2:5 and 5:2."
)
IMAGE_TOO_MANY_PIXELS = _("That image has more than 64 megapixels, too many to use. Please scale it down.")
IMAGE_FETCH_FAILED = _("I could not download your image. Please try attaching it again.")
IMAGE_TOO_MANY = _("Please attach just one image; it becomes the video's first frame.")

QUOTA_USER_EXCEEDED = _(
    "This video costs {cost:credits} and you have {left:n} left today (daily limit {limit:n}). "
    "Your credits reset at 00:00 UTC, in {reset}."
)
QUOTA_WORKSPACE_EXCEEDED = _(
    "This video costs {cost:credits} and this workspace has {left:n} left today (daily limit {limit:n}). "
    "The workspace pool resets at 00:00 UTC, in {reset}."
)

QUOTA_IN_FLIGHT = _(
    "You already have {running:videos} in progress; the limit is {limit:n} at a time. "
    "Try again when one of them is done."
)
BUDGET_REACHED = _(
    "The bot has reached today's spending limit ({budget:usd}). New videos can be made again after "
    "00:00 UTC, in {reset}."
)
WORKSPACE_BUDGET_REACHED = _(
    "This video costs {cost:usd} and this workspace has {left:usd} left of the daily spending limit its admins "
    "set ({budget:usd}). It resets at 00:00 UTC, in {reset}."
)
USER_BLOCKED = _("An admin has turned off video generation for you in this workspace.")
CHANNEL_NOT_ALLOWED = _("Videos can't be made in this channel. Try one of: {channels}.")
COULD_NOT_START = _("I could not start your video here. Nothing was charged; please try again.")
BLOCKED_TERM = _("Your prompt contains a term this workspace does not allow (\u201c{term}\u201d). Please rephrase it.")

ALREADY_ACCEPTED = _("That request was already accepted; its video is on the way.")
ACCEPTED = _("Got it! Your video is queued ({cost:credits}; {left:n} left today). I'll post it here when it's ready.")
STATUS_LABELS = {
    "queued": _("Waiting for a slot"),
    "submitting": _("Sending to the model"),
    "submitted": _("Sent to the model"),
    "preparing": _("Preparing"),
    "queueing": _("Queueing"),
    "processing": _("Processing"),
    "succeeded": _("Done, fetching the video"),
    "delivering": _("Uploading"),
    "delivered": _("Delivered"),
    "failed": _("Failed"),
    "expired": _("Timed out"),
    "cancelled": _("Cancelled"),
}

JOB_FAILED_REFUNDED = _("Sorry, your video could not be made: {reason} Your {cost:credits} were refunded.")
JOB_EXPIRED_REFUNDED = _(
    "Sorry, your video took longer than {minutes:minutes} and was cancelled. "
    "Your {cost:credits} were refunded."
)
PROVIDER_UNAVAILABLE = _("The video service is unavailable right now; the operator has been told.")
PROVIDER_REJECTED_INPUT = _("The video service refused this prompt or image (content policy).")
PROVIDER_REJECTED_OUTPUT = _("The video service withheld the finished video (content policy).")
PROVIDER_BAD_INPUT = _("The video service refused these settings.")
PROVIDER_FAILED = _("The video service could not make this video.")
EXPIRED_SHORT = _("Took too long and was cancelled.")
PROVIDER_CHANGED = _("The bot was switched to another video service while this video was being made.")
PROVIDER_GAVE_UP = _("The video service kept failing.")
DELIVERY_FAILED = _("I could not post the video here.")
GENERATE_INTERRUPTED = _("Called off: the command that asked for it was interrupted.")
SUBMISSION_INTERRUPTED = _("The request to the video service was interrupted twice.")
# Cancel (bot/cancel.py): what the member who cancels is told, and how a cancelled job is shown.
STATUS_CANCELLING = _("Cancelling")
CANCEL_BUTTON = _("Cancel video")
CANCEL_WHICH = _("Say which job to cancel: its id is on the status message, for example cancel 3f2a9c1b7d4e.")
CANCEL_NOT_YOURS = _("Only the person who asked for this video (or an admin) can cancel it.")
CANCEL_TOO_LATE = _("Job {job} is already being posted (or was), so it can no longer be cancelled.")
CANCEL_ENDED = _("Job {job} has already ended ({status}); there is nothing to cancel.")
CANCEL_ALREADY = _("Job {job} is already being cancelled.")
CANCEL_DONE_REFUNDED = _("Cancelled job {job}; its {cost:credits} were refunded.")
CANCEL_DONE_CHARGED = _("Cancelled job {job}; the video was already made, so its {cost:credits} were not refunded.")
CANCEL_ASKED = _("Cancelling job {job}: the video service already has it. Its thread will say whether the "
                 "credits are refunded.")
# Stored as the job's reason (plain English, looked up when shown), so without placeholders.
CANCELLED_REFUNDED = _("Cancelled; the credits were refunded.")
CANCELLED_CHARGED = _("Cancelled; the video service had already started on it (which is paid for), so the credits "
                      "were not refunded.")
JOB_CANCELLED_REFUNDED = _("Your video was cancelled; your {cost:credits} were refunded.")
JOB_CANCELLED_CHARGED = _("Your video was cancelled. The video service had already started on it, which is paid "
                          "for, so your {cost:credits} were not refunded.")

VIDEO_CAPTION = _("here is your video: \u201c{prompt}\u201d ({settings}).")

QUOTA_VIEW = _(
    "Today you have used {used:n} of {limit:credits}, {held:n} held by videos in progress, {left:n} left. "
    "The workspace has {ws_left:n} of {ws_limit:n} left. Credits reset at 00:00 UTC, in {reset}."
)
HISTORY_EMPTY = _("You have no videos yet. Try /video with a prompt.")
HISTORY_LINE = _("{when:when} {job} {status}: {prompt} ({duration} s, {resolution})")
NO_ACTIVE_JOBS = _("You have no videos in progress. /history lists your recent ones.")
REGENERATE_NOT_YOURS = _("Only the person who asked for this video (or an admin) can regenerate it.")
FRAME_GONE = _("The image this video starts from is no longer kept (it was pruned).")
REGENERATE_IMAGE_GONE = _("The image this video started from has been cleaned up, so it cannot be regenerated.")
JOB_NOT_FOUND = _("I don't know a job called {job}.")
STATUS_LINE = _("{job} {status} after {elapsed}: {prompt}")
OPTION_NEEDS_VALUE = _("The option {option} needs a value, for example {option} 10.")
UNKNOWN_COMMAND = _("I don't know that command. {help}")
# The help texts, one per platform, are in bot/messages/options.py (bot/help.py builds them).
RUN_POLLER_ONLY = _("No chat adapter is configured (no DISCORD_TOKEN or SLACK_BOT_TOKEN); running the poller alone.")

ADMIN_ONLY = _("Only workspace admins can use admin commands.")
ADMIN_HELP = _(
    "Admin commands: quota [user] (show); quota set CREDITS [user] (a user's, or without a user the "
    "workspace's, daily credits); block USER; unblock USER; channels (list); channels allow CHANNEL; "
    "channels remove CHANNEL; usage [DAYS]; log; language [LANGUAGE] (the workspace's default language); "
    "budget [USD|off] (the workspace's daily spending limit in US dollars: show, set, or off to remove it)."
)
ADMIN_BAD = _("I didn't understand that admin command. {help}")
ADMIN_LIMIT_SET = _("Daily credits for {who} set to {credits:n}.")
ADMIN_BLOCKED = _("{user} can no longer make videos here.")
ADMIN_UNBLOCKED = _("{user} can make videos here again.")
ADMIN_CHANNELS_NONE = _("Videos can be made in every channel (no allow-list).")
ADMIN_CHANNELS = _("Videos can be made only in: {channels}.")
ADMIN_CHANNEL_ALLOWED = _("{channel} added to the channels where videos can be made.")
ADMIN_CHANNEL_REMOVED = _("{channel} removed from the allow-list.")
ADMIN_USAGE = _(
    "Last {days:days}: {jobs:videos}, {delivered:n} delivered, {failed:n} failed; "
    "{credits:credits} and {usd:usd} spent."
)
ADMIN_USAGE_USER = _("{user}: {delivered:n} delivered, {credits:credits}, {usd:usd}")
ADMIN_QUOTA_USER = _("{user}: {used:n} used, {held:n} held, {left:n} left of {limit:n} today.")
ADMIN_QUOTA_WORKSPACE = _("This workspace: {used:n} used or held, {left:n} left of {limit:n} today.")
ADMIN_LOG_EMPTY = _("No admin changes yet.")
ADMIN_USAGE_PROVIDERS = _("By video service: {providers}.")
ADMIN_USAGE_PROVIDER = _("{name} {usd:usd} ({count:videos})")
ADMIN_LANGUAGE = _("Members whose own language is unknown get answers in {language} ({code}).")
ADMIN_LANGUAGE_SET = _("Default language set to {language} ({code}) for members whose own language is unknown.")
ADMIN_LANGUAGE_UNKNOWN = _("I don't speak {code}. Languages: {languages}.")
ADMIN_BUDGET = _("This workspace's daily spending limit is {budget:usd}; {spent:usd} spent or held today.")
ADMIN_BUDGET_NONE = _("This workspace has no daily spending limit of its own; {spent:usd} spent or held today.")
ADMIN_BUDGET_SET = _("This workspace's daily spending limit is now {budget:usd}; {spent:usd} spent or held today.")
ADMIN_BUDGET_OFF = _("This workspace's own daily spending limit is removed; {spent:usd} spent or held today.")
ADMIN_BUDGET_CEILING = _("The bot-wide limit, which only the bot's operator sets, is {ceiling:usd} a day and "
                         "applies as well.")
ADMIN_BUDGET_NO_CEILING = _("The bot's operator has set no bot-wide limit.")
ADMIN_BUDGET_BAD = _(
    "A budget is an amount of US dollars from 0 to {max:n} (for example 25 or 7.50), or off to remove it; "
    "\u201c{value}\u201d is not one. Nothing was changed."
)

# Local disk trouble is the bot's own machine, never the video service (issue 14).
DISK_FULL = _("The bot's server is out of disk space, so it could not save the finished video.")
DISK_UNWRITABLE = _("The bot's server could not save the finished video to its disk.")
LOCAL_MEDIA_UNWRITABLE = _(
    "MEDIA_DIR: cannot write videos to {path} ({reason}). Fix its permissions, free some space, "
    "or set MEDIA_DIR to a writable folder."
)
LOCAL_OUT_IS_DIR = _("--out {path} is a folder; give a file name for the video, such as {path}/video.mp4.")
LOCAL_OUT_NO_FOLDER = _("--out {path}: the folder {parent} does not exist.")
LOCAL_OUT_UNWRITABLE = _("--out {path}: cannot write to the folder {parent} ({reason}).")
LOCAL_OUT_FAILED = _("Could not write the video to {path} ({reason}); it is kept at {kept}.")
LOCAL_IMAGE_MISSING = _("--image {path}: no such file.")
LOCAL_IMAGE_NOT_FILE = _("--image {path} is not a regular file; give the path of a PNG, JPEG or WebP picture.")
PROMPT_NOT_TEXT = _("Your prompt is not valid text (it has bytes that are not UTF-8). "
                    "Please type it again as plain text.")
PROMPT_INVISIBLE = _("Your prompt has no visible text, only spaces or invisible characters. "
                     "Please describe the video you want.")
IMAGE_WEBP_TOO_BIG = _("That WebP image is {w}x{h} pixels; a WebP can have at most 16 megapixels "
                       "(videos are 1080p at most). Please send it as PNG or JPEG, or scale it down.")

# The adapters' own words: forms, buttons, status messages, and refusals made before the core sees a request.
NO_IMAGE = _("That message has no image I can animate. Pick a message with a PNG, JPEG or WebP picture.")
NOT_RECORDED = _("I could not take that request just now (my database did not answer). Please try again.")
MALFORMED = _("Slack sent that request without some of its parts. Please try again.")
FORM_EXPIRED = _("The bot restarted before your form could open. Please run the command again.")
OTHER_WORKSPACE = _("This bot is not set up for this workspace.")
NO_URLS = _("I can't fetch images from addresses typed into a command. Use `/video` on its own to open the form "
            "and attach the image there, or mention me in a message with the image attached.")
NOT_IN_CHANNEL = _("I can't post in this channel. Invite me first: type `/invite @{bot}` here, "
                   "then try again. Nothing was charged.")
TOO_LARGE = _("The video is too large for this server's upload limit ({mb:.1f} MB).")
LINK_TEXT = _("{user} your video is too large to upload here; download it until {until} ({relative}): {link}")
REGENERATE_BUTTON = _("Regenerate ({cost:credits})")
CREDITS_COUNT = _("{n:credits}")
LABEL_SETTINGS = _("Settings")
LABEL_ELAPSED = _("Elapsed")
LABEL_PLACE = _("Place in line")
LABEL_CREDITS = _("Credits")
LABEL_WHY = _("Why")
LEFT_TODAY = _("{n:n} left today")
PLACE_IN_LINE = _("#{n} in line")
JOB_FOOTER = _("job {job}")
ANIMATE_THE_IMAGE = _("(animate the image)")
STATUS_FALLBACK = _("Video for {user}: {status}")
FORM_TITLE = _("Make a video")
FORM_SUBMIT = _("Make it")
FORM_CANCEL = _("Cancel")
FORM_PROMPT = _("Prompt")
FORM_PROMPT_HINT = _("What should happen in the video?")
FORM_DURATION = _("Duration")
FORM_RESOLUTION = _("Resolution")
FORM_SECONDS = _("{n} seconds")
FORM_HD_SHORT = _("1080P (6 seconds only)")
FORM_IMAGE = _("First frame (optional)")
FORM_CHOSEN = _("First frame: *{name}* from the message")
ANIMATE_TITLE = _("Animate image")
ANIMATE_LABEL = _("What should happen?")
ANIMATE_HINT = _("Slow zoom in, leaves drifting in the wind")
REGENERATE = _("Regenerate")
CONSOLE_WAITING = _("Waiting for {count:videos} to finish...")
CONSOLE_DONE = _("Done: {delivered:n} delivered, {failed:n} not.")
CONSOLE_ERROR = _("error: {text}")
