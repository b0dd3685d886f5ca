"""Who may ask for what, where: blocked users, channel allow-lists, blocked terms."""

from __future__ import annotations

import re

from bot import messages
from bot.commands import CommandRequest
from bot.store import Store


async def access_refusal(store: Store, req: CommandRequest) -> str | None:
    """Why this user may not make a video here, or None when they may."""
    if await store.is_blocked(req.platform, req.workspace_id, req.user_id):
        return messages.USER_BLOCKED
    allowed = await store.allowed_channels(req.platform, req.workspace_id)
    if allowed and req.channel_id not in allowed:
        return messages.CHANNEL_NOT_ALLOWED.format(channels=", ".join(messages.channel_ref(c) for c in allowed))
    return None


def blocked_term(prompt: str, terms: list[str]) -> str | None:
    """The first blocked term the prompt contains as a whole word, if any."""
    lowered = prompt.lower()
    for term in terms:
        if re.search(rf"(?<!\w){re.escape(term)}(?!\w)", lowered):
            return term
    return None
