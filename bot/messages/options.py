"""Words for the options of issue 15: the Fast model, camera moves, the forms' extra fields, and help per platform."""

from bot.i18n import Template as _

# -- the Fast model ---------------------------------------------------------------------------------------
BAD_MODEL = _("The model must be standard or fast (you asked for {got}).")
FAST_NEEDS_IMAGE = _("The Fast model only animates an image: attach a picture for its first frame, or leave the "
                     "model at standard for a video from text alone. Nothing was charged.")
FAST_NOT_OFFERED = _("The Fast model is not available on this bot's video service ({provider}). Leave the model at "
                     "standard. Nothing was charged.")
WORD_FAST_MODEL = _("Fast model")

# -- camera moves -----------------------------------------------------------------------------------------
CAMERA_UNKNOWN = _("\u201c{move}\u201d is not a camera move I know. Camera moves: {moves}. Nothing was charged.")
CAMERA_TOO_MANY = _("One bracket can combine at most {max:n} camera moves; this one has {count:n}. "
                    "Nothing was charged.")
CAMERA_UNBALANCED = _("Your prompt has a [ or ] without its partner (or brackets inside brackets). Camera moves go "
                      "in square brackets, like [Pan left] or [Pan left,Pedestal up]. Nothing was charged.")
CAMERA_EMPTY = _("Your prompt has empty brackets. Put a camera move inside, one of: {moves}. Nothing was charged.")

# -- the forms' fields ------------------------------------------------------------------------------------
FORM_MODEL = _("Model")
FORM_MODEL_STANDARD = _("Standard")
FORM_MODEL_FAST = _("Fast: cheaper and quicker, images only")
FORM_CAMERA = _("Camera moves (up to 3)")
FORM_CAMERA_HINT = _("Added to the end of the prompt")
FORM_OPTIONS = _("Options")
FORM_OPTIMIZER = _("Let the model polish the prompt")
FORM_FAST_PRETREATMENT = _("Fast pretreatment (shorter prompt optimisation)")

# -- help, per platform: only what works there ------------------------------------------------------------
HELP_DISCORD = _(
    "Make a video: /video with a prompt and, if you like, image (a first frame to animate), duration, "
    "resolution, model (standard, or fast: cheaper and quicker, images only), camera (up to three moves), "
    "prompt_optimizer and fast_pretreatment. Or pick Animate image from the Apps menu of a message with a "
    "picture. Under a delivered video: Regenerate, Remix, Extend and Joined video. Also: /video-status [job], "
    "/video-history, /video-repost, /video-quota, /video-preset, /video-cancel, /video-help; admins: /video-admin."
)
HELP_SLACK = _(
    "Make a video: /video <prompt> [--duration 6|10] [--resolution 768P|1080P] [--no-optimizer] [--fast] "
    "[--model fast]; /video alone opens a form with every option and an image upload. To animate a picture, "
    "use the form, mention me in a message with the picture attached, or use the Animate image shortcut on "
    "a message with one. --fast shortens the prompt optimisation; --model fast picks the Fast model (cheaper "
    "and quicker, images only); --preset NAME applies a preset. Under a delivered video: Regenerate, Remix, "
    "Extend and Joined video. Also: /video status [job], /video history, /video repost JOB, /video quota, "
    "/video preset save|list|use|delete, /video cancel JOB, /video help; admins: /video admin."
)
HELP_CONSOLE = _(
    "Make a video: /video <prompt> [--duration 6|10] [--resolution 768P|1080P] [--no-optimizer] [--fast] "
    "[--image PATH] [--model fast]. --fast shortens the prompt optimisation; --model fast picks the Fast model "
    "(cheaper and quicker, with --image only); --preset NAME applies a preset. Also: /quota, /status [job], "
    "/history, /repost JOB, /remix JOB, /extend JOB, /preset, /cancel JOB, /admin, /help."
)
HELP_CAMERA = _("Camera moves go in the prompt in square brackets, up to {max:n} combined in one, for example "
                "[Pan left,Pedestal up]: {moves}.")
HELP_COSTS = _("Costs: 768P 6 s = {c1:credits}, 768P 10 s = {c2:credits}, 1080P 6 s = {c3:credits}.")
HELP_COSTS_FAST = _("With the Fast model: 768P 6 s = {f1:credits}, 768P 10 s = {f2:credits}, "
                    "1080P 6 s = {f3:credits}.")
HELP_NO_FAST = _("The Fast model is not available on this bot's video service.")
UNKNOWN_OPTION = _(
    "I don't know the option {option}. Options: --duration 6|10, --resolution 768P|1080P, --no-optimizer, "
    "--fast (fast pretreatment), --model standard|fast."
)

# Discord's command names, descriptions and choices for these options (see discord_commands.py).
DISCORD_COMMAND_TEXTS = (
    _("video-help"), _("How to make videos here, the camera moves, and what they cost"),
    _("video-status"), _("Your videos in progress, or one job"),
    _("A job id, from a status message (default: all your videos in progress)"),
    _("Standard, or Fast: cheaper and quicker, images only"), _("Standard"), _("Fast (images only)"),
    _("Camera moves, up to three, e.g. Pan left,Pedestal up (added to the prompt)"),
)
FORM_MODEL_DEFAULT = _("The bot's default")
