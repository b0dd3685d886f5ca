"""Each Slack member's language, from users.info with include_locale, cached per user."""

from __future__ import annotations

import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.i18n import normalize

TTL_SECONDS = 24 * 3600.0  # a member who changes Slack's language is followed within a day
MAX_USERS = 50_000  # the cache starts over past this many members


class UserLocales:
    """Asks Slack once per member (and day) which language they use; None when Slack does not say."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._known: dict[str, tuple[float, str | None]] = {}

    def cached(self, user: str) -> str | None:
        """The member's language if already known (no call: for answers inside Slack's 3 seconds)."""
        hit = self._known.get(user)
        return hit[1] if hit is not None else None

    async def of(self, user: str) -> str | None:
        """The member's language, normalized to one the bot speaks (None: the workspace default applies)."""
        hit = self._known.get(user)
        now = time.monotonic()
        if hit is not None and now - hit[0] < TTL_SECONDS:
            return hit[1]
        try:
            info = (await self.client.users_info(user=user, include_locale=True)).get("user") or {}
        except SlackApiError:
            return hit[1] if hit is not None else None  # asked again next time
        locale = normalize(info.get("locale"))
        if len(self._known) >= MAX_USERS:
            self._known.clear()
        self._known[user] = (now, locale)
        return locale
