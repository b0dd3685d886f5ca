"""How an accepted Slack job gets its status message: posted in the channel (joining it if need be)."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.port import rate_limited, status_ref
from adapters.slack.translate import status_message
from bot import messages
from bot.i18n import render
from bot.ports import CannotPost, StatusPlace, StatusView

NOT_IN_CHANNEL = messages.NOT_IN_CHANNEL


class ChannelStatus:
    """The core's StatusOpener for one Slack request: Slack was acknowledged already, so `busy` has nothing to do."""

    def __init__(self, client: AsyncWebClient, channel: str, thread: str | None, bot_name: str) -> None:
        self.client = client
        self.channel = channel
        self.thread = thread
        self.bot_name = bot_name

    async def busy(self) -> None:
        """Nothing to do: every Slack request is acknowledged before the core sees it."""

    async def open(self, text: str, view: StatusView) -> StatusPlace:
        """Post the status message; the job's thread is the message's own (or the thread asked in)."""
        message_text, blocks = status_message(view)
        for attempt in (1, 2):
            try:
                answer = await self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread,
                                                            text=message_text, blocks=blocks)
                ts = str(answer["ts"])
                return StatusPlace(status_ref(self.channel, ts), self.thread or ts)
            except SlackApiError as exc:
                if (limited := rate_limited(exc)) is not None:
                    raise limited from exc  # the core waits it out and asks again
                if exc.response.get("error") == "not_in_channel" and attempt == 1:
                    try:
                        await self.client.conversations_join(channel=self.channel)
                        continue
                    except SlackApiError:
                        pass  # private channels cannot be joined: the member must invite the bot
                break
        raise CannotPost(render(NOT_IN_CHANNEL.format(bot=self.bot_name), view.locale))
