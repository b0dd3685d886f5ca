"""Slack's HTTP front door: check the signature, answer slash commands at once, hand every request to bolt."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot import messages

log = logging.getLogger(__name__)

# A slash command parsed, recorded and queued: what its acknowledgement says (a message dict, or
# None for a plain 200).
TakeCommand = Callable[[dict[str, Any]], Awaitable["dict[str, Any] | None"]]
OTHER_WORKSPACE = str(messages.OTHER_WORKSPACE)  # English: users.info cannot be asked about another workspace
MAX_BODY = 1024 * 1024  # Slack's payloads are a few kB; a view submission with blocks stays far below this


class SlackFront:
    """POST /slack/events: the acknowledgement of a slash command costs one signature check and one parse.

    Slash commands are the bursty part (a whole team trying the bot at once), and Slack gives each
    3 s. Here a slash command is parsed once and answered without bolt, by the same `take` the bolt
    listener uses in Socket Mode (an error in plain words, or an empty 200); its work goes straight
    to the after-ack pool. (Bolt's own parser drops a slash command whose text contains the word
    "payload".) Everything else (events, buttons, modals) goes through bolt as it comes.
    """

    def __init__(self, app: AsyncApp, signing_secret: str, take: TakeCommand, arrived: Callable[[], None],
                 team_id: str | None) -> None:
        self.app = app
        self.verifier = SignatureVerifier(signing_secret)
        self.take = take
        self.arrived = arrived
        self.team_id = team_id

    def web_app(self, path: str = "/slack/events") -> web.Application:
        """The aiohttp application serving `path`."""
        web_app = web.Application(client_max_size=MAX_BODY)
        web_app.router.add_post(path, self.handle)
        return web_app

    async def handle(self, request: web.Request) -> web.Response:
        """One request from Slack."""
        self.arrived()
        raw = await request.read()
        try:
            body = raw.decode()
        except UnicodeDecodeError:
            return web.Response(status=400)
        headers = request.headers
        if not self._signed(body, headers):
            return web.json_response({"error": "invalid request"}, status=401)
        form = _slash_command(body, headers.get("Content-Type", ""))
        if form is None:
            if _undecodable_payload(body, headers.get("Content-Type", "")):
                return web.Response(status=400)  # bolt's own parser would fail on it with a 500
            bolt_request = AsyncBoltRequest(body=body, query=request.query_string, headers=dict(headers))
            return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))
        if self.team_id and form.get("team_id", self.team_id) != self.team_id:  # a missing one: "missing parts"
            # Signed by this app, but from a workspace this bot's token does not belong to.
            log.warning("a /video from workspace %s, where this bot is not installed; refused", form.get("team_id"))
            return web.json_response({"response_type": "ephemeral", "text": OTHER_WORKSPACE})
        answer = await self.take(form)
        if answer is not None:
            return web.Response(text=json.dumps(answer), content_type="application/json")
        return web.Response()


    def _signed(self, body: str, headers: Any) -> bool:
        # A timestamp that is not a number is as bad as a wrong signature (the verifier would raise on it).
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        if not timestamp.isascii() or not timestamp.isdigit():
            return False
        return self.verifier.is_valid(body, timestamp, headers.get("X-Slack-Signature", ""))


def _undecodable_payload(body: str, content_type: str) -> bool:
    """True for an interactive request whose `payload` is not JSON: a bad request, not a server error."""
    if not content_type.startswith("application/x-www-form-urlencoded") or body.startswith("{"):
        return False
    payload = dict(parse_qsl(body, keep_blank_values=True)).get("payload")
    if payload is None:
        return False
    try:
        json.loads(payload)
    except ValueError:
        return True
    return False


def _slash_command(body: str, content_type: str) -> dict[str, str] | None:
    """The form of a slash command, or None for anything else (JSON events, interactive payloads)."""
    if not content_type.startswith("application/x-www-form-urlencoded") or body.startswith("{"):
        return None
    form = dict(parse_qsl(body, keep_blank_values=True))
    if "payload" in form or "command" not in form:
        return None
    return form
