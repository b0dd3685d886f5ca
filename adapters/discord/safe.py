"""Text the bot sends to Discord: pings limited by `allowed_mentions`, a member's markdown shown as typed.

Every message, edit and follow-up carries `allowed_mentions`: the client's default allows nothing
(`@everyone`, `@here`, roles and users stay inert whatever the text says), and a post that mentions its
requester allows that one user (`only`). A member's text in a message (bot.safe_text) has its markdown
escaped, so `[Discord login](https://evil)` shows as typed instead of as a disguised link.
"""

from __future__ import annotations

import discord

from bot.safe_text import neutral, render_refs

NO_PINGS = discord.AllowedMentions.none()


def only(user_id: str) -> discord.AllowedMentions:
    """The mentions a post may ping: its requester's, nobody else's (no @everyone, @here or role)."""
    users = [discord.Object(int(user_id))] if user_id.isdigit() else False
    return discord.AllowedMentions(everyone=False, roles=False, users=users, replied_user=False)


def member(text: str) -> str:
    """A member's text as Discord shows it literally: bidi controls out, markdown (and masked links) escaped."""
    return discord.utils.escape_markdown(neutral(text))


def _mention(kind: str, ref: str) -> str:
    return f"<{kind}{ref}>" if ref.isdigit() else discord.utils.escape_markdown(ref)


def discord_text(text: str) -> str:
    """The core's words as Discord content: its mentions and links real, a member's text escaped."""
    return render_refs(text, user=lambda uid: _mention("@", uid), channel=lambda cid: _mention("#", cid),
                       link=lambda url: f"<{url}>" if url.startswith("https://") else url, member=member)
