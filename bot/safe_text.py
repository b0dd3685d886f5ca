"""Member text shown back in the bot's messages: marked off from the bot's own words, bidi controls taken out.

A prompt (or any text a member typed) may hold what a platform would act on: `<!channel>` or a disguised link
on Slack, `@everyone` or `[text](url)` on Discord, a right-to-left override that makes the rest of a line read
backwards. The core never escapes for a platform; it marks each member value it puts into a message with
`shown()`, and every adapter renders a message through `render_refs`, which hands the marked parts to the
adapter's own escaping and renders the bot's neutral references (`<user:ID>`, `<channel:ID>`, `<link:URL>`)
only outside them, so text a member typed can never become a mention.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Noncharacters (U+FDD0-U+FDEF are reserved by Unicode for a program's internal use): the start and end of
# a member's text inside a message. Removed from whatever a member typed, so a member cannot forge them.
OPEN, CLOSE = "\ufdd0", "\ufdd1"
_MARKS = re.compile("[\ufdd0-\ufdef]")
# Embeddings and overrides (U+202A-U+202E) and isolates (U+2066-U+2069): shown, they reorder what follows.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_SPAN = re.compile("\ufdd0([^\ufdd0\ufdd1]*)\ufdd1")
_REF = re.compile(r"<(user|channel|link):([^<>\s]+)>")

Render = Callable[[str], str]


def neutral(text: str) -> str:
    """`text` with bidi embeddings, overrides and isolates (and the bot's own marks) taken out, for showing."""
    return _MARKS.sub("", _BIDI.sub("", text))


def shown(text: str) -> str:
    """A member's text, neutralised and marked, to put into a message the bot sends (empty stays empty)."""
    return f"{OPEN}{neutral(text)}{CLOSE}" if text else ""


def link_ref(url: str) -> str:
    """A neutral link to a web address; each adapter renders it its own way (an address with spaces is refused)."""
    return f"<link:{url}>"


def spans(text: str, *, member: Render, bot: Render) -> str:
    """`text` with each member part passed through `member` and each part of the bot's words through `bot`."""
    out: list[str] = []
    pos = 0
    for m in _SPAN.finditer(text):
        out.append(bot(_MARKS.sub("", text[pos:m.start()])))
        out.append(member(m.group(1)))
        pos = m.end()
    out.append(bot(_MARKS.sub("", text[pos:])))
    return "".join(out)


def render_refs(text: str, *, user: Render, channel: Render, link: Render = lambda url: url,
                member: Render = lambda s: s, other: Render = lambda s: s) -> str:
    """A message in a platform's syntax: neutral references rendered in the bot's words only.

    Args:
        text: the message as the core wrote it (rendered in the reader's language).
        user, channel, link: how the platform writes a mention, a channel and a link.
        member: how it escapes a member's text (`shown` parts): never a reference, whatever it holds.
        other: how it escapes the rest of the bot's words.
    """
    kinds = {"user": user, "channel": channel, "link": link}

    def bot(chunk: str) -> str:
        out: list[str] = []
        pos = 0
        for m in _REF.finditer(chunk):
            out.append(other(chunk[pos:m.start()]))
            out.append(kinds[m.group(1)](m.group(2)))
            pos = m.end()
        out.append(other(chunk[pos:]))
        return "".join(out)

    return spans(text, member=member, bot=bot)


def plain(text: str) -> str:
    """The text with its marks removed (for a terminal, a log line, a web page that escapes for itself)."""
    return _MARKS.sub("", text)
