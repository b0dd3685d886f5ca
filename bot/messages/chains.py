"""Remix and Extend (bot/chains.py): the buttons, the forms, and what a member is told."""

from bot.i18n import Template as _

REMIX_BUTTON = _("Remix")
EXTEND_BUTTON = _("Extend")
JOINED_BUTTON = _("Joined video")
REMIX_TITLE = _("Remix this video")
EXTEND_TITLE = _("Continue this video")
EXTEND_PROMPT_HINT = _("What happens next? The new clip starts from the last frame of this one.")
REMIX_KEEPS_FRAME = _("The first frame of the original video is kept.")
EXTEND_KEEPS_FRAME = _("The new clip starts from the last frame of this video.")

CHAIN_WHICH = _("Say which job: its id is on the status message, for example /extend 3f2a9c1b7d4e.")
CHAIN_NOT_YOURS = _("Only the person who asked for this video (or an admin) can remix or extend it.")
CHAIN_NOT_DELIVERED = _("Job {job} is not a delivered video ({status}), so it cannot be remixed, extended or joined. "
                        "Nothing was charged.")
EXTEND_CAP = _("This chain already has {count} clips, the most this bot allows (EXTEND_MAX_CLIPS = {limit}). "
               "Nothing was charged.")
CHAIN_FILE_GONE = _("The video of job {job} is no longer kept, so it cannot be continued or joined. "
                    "Nothing was charged.")
CHAIN_FRAME_FAILED = _("I could not read the last frame of job {job}'s video. Nothing was charged.")
JOINED_SINGLE = _("Job {job} is a single clip: extend it first, then ask for the joined video.")
JOINED_FAILED = _("I could not join the clips of this chain.")
JOINED_POSTED = _("The joined video ({count} clips, {seconds} s) is posted in the thread.")
JOINED_CAPTION = _("the whole chain: {count} clips joined, {seconds} s, ending with \u201c{prompt}\u201d.")
JOINED_POST_FAILED = _("I could not post the joined video here just now. Nothing was charged; please try again.")
JOINED_NOT_POSTED = _("I could not post the joined video here: {reason}")
EXTEND_NO_IMAGE = _("--extend starts from the last frame of that video, so it takes no --image.")
