"""Text the bot sends to Slack: `&`, `<` and `>` escaped everywhere but in the bot's own mentions and links.

Slack reads `<!channel>`, `<!subteam^S1>`, `<@U1>` and `<https://x|label>` in message text (mrkdwn blocks, the
fallback `text`, a file's comment) as pings and links. Escaping the three characters, as Slack's formatting
rules ask, shows them as typed; only the references the bot wrote itself (bot.safe_text) become real syntax.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from bot.safe_text import neutral, render_refs

_ID = re.compile(r"[A-Z0-9]{2,40}")


def escape(text: str) -> str:
    """Slack's escaping of the three characters its message text gives meaning to."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def member(text: str) -> str:
    """A member's text as Slack mrkdwn shows it literally (bidi controls taken out)."""
    return escape(neutral(text))


def _mention(kind: str, ref: str) -> str:
    return f"<{kind}{ref}>" if _ID.fullmatch(ref) else escape(ref)


def _link(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or "|" in url:
        return escape(url)
    return f"<{escape(url)}>"


def slack_text(text: str) -> str:
    """The core's words as Slack message text: its mentions and links real, everything else escaped."""
    return render_refs(text, user=lambda uid: _mention("@", uid), channel=lambda cid: _mention("#", cid),
                       link=_link, member=escape, other=escape)
