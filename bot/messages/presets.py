"""What presets say (bot/presets.py), and the Discord /video-preset command's texts for the catalogs."""

from bot.i18n import Template as _

PRESET_HELP = _(
    "Presets: preset save NAME TEXT [--duration 10] [--resolution 1080P] [--no-optimizer] [--fast] "
    "[--workspace] (a preset for everyone here: admins only); preset list; preset use NAME [PROMPT] (without a "
    "prompt, NAME becomes your default preset until preset use off); preset delete NAME [--workspace]; "
    "/video --preset NAME PROMPT. Put {placeholder} in the text where your prompt goes; otherwise the text is "
    "added after your prompt, with a comma."
)
PRESET_NAME_MISSING = _("Say which preset: its name comes first, for example preset use noir.")
PRESET_BAD_NAME = _("A preset's name is 1 to {limit:n} letters, digits, - and _ (and not off); {name} is not one.")
PRESET_TEXT_MISSING = _("A preset needs its text after the name, for example preset save noir film noir, rain.")
PRESET_ADMINS_ONLY = _("Only workspace admins can save or delete this workspace's presets; "
                       "your own presets need no admin.")
PRESET_FULL_WORKSPACE = _("This workspace already keeps {limit:n} presets, the most it can; delete one first.")
PRESET_FULL_OWN = _("You already keep {limit:n} presets here, the most you can; delete one first.")
PRESET_SAVED_OWN = _("Saved your preset {name}. Use it with --preset {name}, or make it your default with "
                     "preset use {name}.")
PRESET_SAVED_WORKSPACE = _("Saved the preset {name} for everyone in this workspace: use it with --preset {name}.")
PRESET_UNKNOWN = _("There is no preset called {name} here; preset list shows the ones you can use.")
PRESET_DELETED_OWN = _("Deleted your preset {name}.")
PRESET_DELETED_WORKSPACE = _("Deleted this workspace's preset {name}.")
PRESET_DEFAULT_SET = _("Your videos here now use the preset {name} unless you name another (--preset off leaves it "
                       "out of one video). Stop with preset use off.")
PRESET_DEFAULT_OFF = _("Your videos here no longer use a default preset.")
PRESET_TOO_LONG = _(
    "With the preset {name} the prompt is too long: yours has {prompt_chars:n} characters and the preset's text "
    "{preset_chars:n}, {total:n} together, over the limit of {limit:n}. Nothing was charged; shorten your prompt."
)
PRESET_LIST_NONE = _("No presets here yet. Save one with preset save NAME TEXT.")
PRESET_LIST_HEAD = _("Presets you can use here:")
PRESET_LINE = _("{name} ({who}): {text}")
PRESET_LINE_SETTINGS = _("{name} ({who}): {text} [{settings}]")
PRESET_YOURS = _("yours")
PRESET_YOURS_DEFAULT = _("yours, your default")
PRESET_SHARED = _("this workspace's")
PRESET_SHARED_DEFAULT = _("this workspace's, your default")
PRESET_SHADOWED = _("this workspace's, hidden by yours of that name")
PRESET_LIST_FOOT = _("Use one with --preset NAME, or make it your default with preset use NAME. {placeholder} in "
                     "a text marks where your prompt goes; otherwise the text is added after your prompt.")

# Discord: /video-preset, and the preset option of /video.
DISCORD_COMMAND_TEXTS = (
    _("video-preset"), _("Save, list, use or delete prompt presets"),
    _("The preset's name (letters, digits, - and _)"),
    _("save: the preset's text ({prompt} marks your prompt); use: your prompt"),
    _("For everyone in this server (admins only)"),
    _("Save a preset"), _("List the presets you can use"), _("Use a preset (with a prompt: make a video now)"),
    _("Delete a preset"),
    _("A preset to apply (your own, or this server's)"),
)
