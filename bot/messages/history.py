"""History with links, and posting a kept video again (issue 15): the words of bot/repost.py and its buttons."""

from bot.i18n import Template as _

HISTORY_POST = _("{line} · post: {link}")
HISTORY_POSTED = _("{line} · posted")
REPOST_BUTTON = _("Post {job} again")
REPOST_CAPTION = _("posted this video again: \u201c{prompt}\u201d ({settings}).")
REPOST_DONE = _("Posted the video of job {job} again here; nothing was charged.")
REPOST_WHICH = _("Say which video to post again: its job id is in your history, for example repost 3f2a9c1b7d4e.")
REPOST_NOT_YOURS = _("Only the person who asked for this video (or an admin) can post it again.")
REPOST_NOT_DELIVERED = _("Job {job} has no finished video to post again ({status}).")
REPOST_FILE_GONE = _("The video of job {job} is no longer kept (it was cleaned up), so it cannot be posted again.")
REPOST_FAILED = _("I could not post the video here. Nothing was charged; please try again later.")

DISCORD_COMMAND_TEXTS = (
    _("video-repost"), _("Post one of your videos again in this channel (admins: anyone's)"),
    _("The job id, from /video-history"),
)
