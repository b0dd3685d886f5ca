"""Discord's command names, descriptions and choices, for the catalogs (the Translator looks each up by English).

A feature that adds Discord commands keeps their texts in a `DISCORD_COMMAND_TEXTS` tuple of its own messages module.
"""

from bot.i18n import Template as _

DISCORD_COMMAND_TEXTS = (
    _("video"), _("video-quota"), _("video-history"), _("video-admin"),
    _("Make a short video with Hailuo 2.3 (attach an image to animate it)"),
    _("What the video should show (up to 2000 characters)"),
    _("A PNG, JPEG or WebP picture to use as the first frame"),
    _("6 or 10 seconds"), _("768P, or 1080P (6 s only)"),
    _("Let the model polish your prompt (default on)"), _("Shorter prompt optimisation (default off)"),
    _("6 seconds"), _("10 seconds"), _("1080P (6 s only)"),
    _("Your video credits today"), _("Your recent videos"),
    _("Manage video quotas, blocked users and channels"),
    _("What to do"), _("The member it is about"), _("The channel it is about"),
    _("Daily credits (quota-set)"), _("How many days back (usage)"), _("Default language code, e.g. zh-CN (language)"),
    _("Show quota (a user's, or the server's)"), _("Set daily credits (a user's, or the server's)"),
    _("Block a user"), _("Unblock a user"), _("List the channels where videos are allowed"),
    _("Allow videos in a channel"), _("Remove a channel from the allow-list"), _("Usage and spend"),
    _("Recent admin changes"), _("Show or set the server's default language"),
    _("Daily spending limit in US dollars (budget)"), _("Show or set the server's daily spending limit (US dollars)"),
    _("Remove the server's own daily spending limit"),
    _("video-cancel"), _("Cancel one of your videos (admins: anyone's)"),
    _("The job id, from the video's status message"),
)
