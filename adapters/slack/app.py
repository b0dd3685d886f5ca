"""Wire slack-bolt's AsyncApp to the core: Socket Mode by default, HTTP with signed requests otherwise."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack import translate as t
from adapters.slack.backlog import AfterAck, Work
from adapters.slack.cancel import install_cancel
from adapters.slack.chains import install_chains
from adapters.slack.front import SlackFront
from adapters.slack.history import history_blocks, install_history
from adapters.slack.locale import UserLocales
from adapters.slack.opener import ChannelStatus
from adapters.slack.port import SlackPort, SlackRates
from bot import messages
from bot.commands import CommandRequest
from bot.config import Settings
from bot.context import AdapterContext
from bot.contract import InvalidRequest
from bot.i18n import render, said
from bot.inbox import InboxUnavailable
from bot.store import InboxItem

log = logging.getLogger(__name__)

Tell = Callable[[str], Awaitable[Any]]


class SlackAdapter:
    """The Slack side of the bot: commands, modal, mentions, shortcut, Regenerate button."""

    def __init__(self, settings: Settings, ctx: AdapterContext, *, shared_port: bool = False) -> None:
        self.settings = settings
        self.ctx = ctx
        self.shared_port = shared_port  # one of several workers on one HTTP port (SO_REUSEPORT)
        self.socket_mode = settings.slack_app_token is not None
        self.admins = {u.strip() for u in settings.slack_admin_user_ids.split(",") if u.strip()}
        self._handler: AsyncSocketModeHandler | None = None
        self._runner: web.AppRunner | None = None
        self.bot_name = "the bot"
        self.later = AfterAck(ctx.supervisor)
        self.replays: dict[str, Callable[[dict[str, Any], str], Awaitable[None]]] = {}  # features' own kinds

    def build(self) -> AsyncApp:
        """The bolt app with every listener registered (no network yet)."""
        token = self.settings.slack_bot_token.get_secret_value()  # type: ignore[union-attr]
        # One HTTP session for every Web API call: without it slack_sdk opens a connection per call.
        self._session = aiohttp.ClientSession()
        self.client = AsyncWebClient(token=token, base_url=self.settings.slack_api_url, session=self._session)
        self.locales = UserLocales(self.client)
        secret = self.settings.slack_signing_secret.get_secret_value() if self.settings.slack_signing_secret else None

        # Authorisation from the one auth.test made at start-up: otherwise a burst of first requests
        # would each call auth.test before bolt's own cache fills.
        async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult | None:
            # A request from a workspace this token does not belong to is not ours to answer (or charge).
            if team_id and self._auth.team_id and team_id != self._auth.team_id:
                log.warning("a request from workspace %s, where this bot is not installed; refused", team_id)
                return None
            return self._auth

        # Each listener acknowledges and queues its work on `self.later`, then returns: bolt can answer
        # Slack as soon as the listener returns, without polling for the acknowledgement.
        self.app = AsyncApp(client=AsyncWebClient(base_url=self.settings.slack_api_url, session=self._session),
                            authorize=authorize, process_before_response=True,
                            signing_secret=secret, request_verification_enabled=not self.socket_mode)
        self.port = SlackPort(self.client, token, self.settings.slack_api_url,
                              upload_timeout=self.settings.upload_timeout_seconds,
                              limits=SlackRates(self.settings.slack_posts_per_second,
                                                self.settings.slack_edits_per_minute,
                                                self.settings.slack_uploads_per_minute))
        self.app.command("/video")(self._on_command)
        self.app.view(t.MODAL_ID)(self._on_modal)
        self.app.event("app_mention")(self._on_mention)
        self.app.shortcut("animate_image")(self._on_shortcut)
        self.app.action(t.REGENERATE)(self._on_regenerate)
        for install in (install_cancel, install_chains, install_history):
            install(self)
        self.app.event("message")(self._ignore)
        return self.app

    async def start(self) -> None:
        """Check the token, register the port, and connect (Socket Mode) or listen (HTTP)."""
        self.build()
        if not self.socket_mode and self.settings.slack_signing_secret is None:
            await self._session.close()
            raise ValueError("SLACK_SIGNING_SECRET: Slack HTTP mode needs it (or set SLACK_APP_TOKEN for Socket Mode)")
        try:
            auth = await self.client.auth_test()
        except SlackApiError as exc:
            await self._session.close()
            raise ValueError(f"SLACK_BOT_TOKEN: Slack refused it ({exc.response.get('error')}); copy the Bot User "
                             "OAuth Token (xoxb-...) from the app's OAuth & Permissions page") from None
        self.bot_name = str(auth.get("user") or self.bot_name)
        self._auth = AuthorizeResult(enterprise_id=auth.get("enterprise_id"), team_id=auth.get("team_id"),
                                     bot_user_id=auth.get("user_id"), bot_id=auth.get("bot_id"),
                                     bot_token=self.client.token)
        self.ctx.register(t.PLATFORM, self.port)
        self.later.start()
        self.ctx.inbox.serve(t.PLATFORM, self._replay)
        if self.socket_mode:
            app_token = self.settings.slack_app_token.get_secret_value()  # type: ignore[union-attr]
            self._handler = AsyncSocketModeHandler(self.app, app_token, web_client=self.client)
            await self._handler.connect_async()
            log.info("Slack connected through Socket Mode")
        else:
            secret = self.settings.slack_signing_secret.get_secret_value()  # type: ignore[union-attr]
            front = SlackFront(self.app, secret, self.command, self.later.arrived, self._auth.team_id)
            self._runner = web.AppRunner(front.web_app("/slack/events"), access_log=None)
            await self._runner.setup()
            await web.TCPSite(self._runner, "0.0.0.0", self.settings.slack_port, backlog=1024,
                              reuse_port=self.shared_port or None).start()
            log.info("Slack listening on port %d at /slack/events", self.settings.slack_port)

    async def aclose(self) -> None:
        """Stop listening, finish the work already acknowledged (within the grace period), disconnect."""
        if self._handler is not None:
            await self._handler.close_async()
        if self._runner is not None:
            await self._runner.cleanup()
        self.ctx.inbox.unserve(t.PLATFORM)
        if not await self.later.drain(self.settings.shutdown_grace_seconds):
            log.warning("stopping with %d acknowledged Slack requests not yet handled", self.later.waiting)
        await self.later.aclose()
        self.ctx.unregister(t.PLATFORM)
        await self.port.aclose()
        await self._session.close()

    # -- listeners: each records, acknowledges, then works ---------------------------------

    async def command(self, form: dict[str, Any]) -> dict[str, Any] | None:
        """A `/video` command: parsed, recorded and queued; what its acknowledgement says."""
        key = t.inbox_key(form)
        answer, work = self.take_command(form, key)
        if work is None:
            return answer  # the acknowledgement is the whole answer: nothing to record
        try:
            if await self.ctx.inbox.record(t.PLATFORM, "command", key, form):
                self.later.put(lambda: self.ctx.inbox.run(key, work), urgent=t.opens_form(form))
        except InboxUnavailable:
            return {"response_type": "ephemeral",
                    "text": render(messages.NOT_RECORDED, self.locales.cached(str(form.get("user_id"))))}
        return answer

    def take_command(self, body: dict[str, Any], key: str | None = None
                     ) -> tuple[dict[str, Any] | None, Work | None]:
        """Parse a `/video` command once: what its acknowledgement says, and the work that follows it."""
        known = self.locales.cached(str(body.get("user_id")))  # the acknowledgement cannot wait for users.info
        try:
            req = t.slash_request(body)
            channel, response_url, _ = body["channel_id"], body["response_url"], body["team_id"]
        except InvalidRequest as exc:
            return {"response_type": "ephemeral", "text": t.render_text(render(said(exc), known))}, None
        except (KeyError, TypeError, AttributeError):
            log.warning("a /video request without its channel, user or response_url; ignored")
            return {"response_type": "ephemeral", "text": render(messages.MALFORMED, known)}, None
        webhook = AsyncWebhookClient(response_url, session=self._session)

        async def tell(text: str, **blocks: Any) -> None:
            await webhook.send(text=t.render_text(text), response_type="ephemeral", replace_original=False, **blocks)

        async def work() -> None:
            if req is None:
                locale = await self.locales.of(body["user_id"])
                try:
                    await self.client.views_open(trigger_id=body["trigger_id"],
                                                 view=t.modal_view({"channel": channel}, locale=locale))
                except SlackApiError:
                    # A trigger lives 3 s: replayed after a restart, it is gone.
                    await tell(render(messages.FORM_EXPIRED, locale))
            elif req.command in ("admin", "cancel", "preset", "history", "repost"):
                # Checked here, on the server side, from Slack's own roles: never trusted from the request.
                admin = dataclasses.replace(req, is_admin=await self._is_admin(req.user_id),
                                            locale=await self.locales.of(req.user_id))
                await tell((reply := await self.ctx.core.handle(admin)).text, **history_blocks(reply, admin.locale))
            else:
                await self._ask(req, None, tell, key)

        return None, work

    async def _admit(self, kind: str, body: dict[str, Any], work: Callable[[str], Awaitable[object]], *,
                     urgent: bool = False) -> None:
        """Record an acknowledged payload and queue its work; a resend is dropped here."""
        key = t.inbox_key(body)
        try:
            fresh = await self.ctx.inbox.record(t.PLATFORM, kind, key, body)
        except InboxUnavailable:
            log.error("a Slack %s could not be recorded; not handled", kind)
            return
        if fresh:
            self.later.put(lambda: self.ctx.inbox.run(key, lambda: work(key)), urgent=urgent)

    async def _replay(self, item: InboxItem) -> None:
        """Do the work of a payload another process (or this one, before a restart) acknowledged."""
        body = json.loads(item.payload)
        if item.kind == "command":
            _, work = self.take_command(body, item.key)
            if work is not None:
                await work()
            return
        run = {"view": self._modal, "mention": self._mention, "shortcut": self._shortcut,
               "regenerate": self._regenerate, **self.replays}[item.kind]
        await run(body, item.key)

    async def _on_command(self, ack, body: dict[str, Any]) -> None:
        await ack(**(await self.command(body) or {}))

    async def _on_modal(self, ack, body: dict[str, Any]) -> None:
        await self._admit("view", body, lambda key: self._modal(body, key))
        await ack()

    async def _modal(self, body: dict[str, Any], key: str | None = None) -> None:
        try:
            req, meta = t.modal_request(body)
        except (KeyError, TypeError, AttributeError, ValueError):
            log.warning("a form submission without its fields; ignored")
            return
        thread = meta.get("thread")
        await self._ask(req, thread, self._ephemeral(req.channel_id, req.user_id, thread), key)

    async def _on_mention(self, body: dict[str, Any]) -> None:
        # Bolt acknowledges events itself once this returns.
        await self._admit("mention", body, lambda key: self._mention(body, key))

    async def _mention(self, body: dict[str, Any], key: str | None = None) -> None:
        event = body["event"]
        thread = event.get("thread_ts") or event["ts"]
        tell = self._ephemeral(event["channel"], event["user"], thread)
        try:
            req = t.mention_request(event, body.get("team_id", ""))
        except InvalidRequest as exc:
            await tell(render(said(exc), await self.locales.of(event["user"])))
            return
        await self._ask(req, thread, tell, key)

    async def _on_shortcut(self, ack, body: dict[str, Any]) -> None:
        await self._admit("shortcut", body, lambda key: self._shortcut(body, key), urgent=True)
        await ack()

    async def _shortcut(self, body: dict[str, Any], key: str | None = None) -> None:
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id", "")
        tell = self._ephemeral(channel, body["user"]["id"], None)
        locale = await self.locales.of(body["user"]["id"])
        file = t.image_file(message)
        if file is None:
            await tell(render(messages.NO_IMAGE, locale))
            return
        keep = {k: file.get(k) for k in ("id", "name", "mimetype", "size", "url_private_download", "url_private")}
        meta = {"channel": channel, "thread": message.get("thread_ts") or message.get("ts"), "file": keep}
        try:
            await self.client.views_open(trigger_id=body["trigger_id"], view=t.modal_view(meta, chosen=keep,
                                                                                          locale=locale))
        except SlackApiError:
            await tell(render(messages.FORM_EXPIRED, locale))

    async def _on_regenerate(self, ack, body: dict[str, Any]) -> None:
        await self._admit("regenerate", body, lambda key: self._regenerate(body, key))
        await ack()

    async def _regenerate(self, body: dict[str, Any], key: str | None = None) -> None:
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id") or body["container"]["channel_id"]
        req = CommandRequest(platform=t.PLATFORM, workspace_id=body.get("team", {}).get("id", ""),
                             channel_id=channel, user_id=user, user_name=body["user"].get("name", ""),
                             command="regenerate", job_id=body["actions"][0]["value"],
                             is_admin=await self._is_admin(user))
        thread = (body.get("message") or {}).get("thread_ts")
        await self._ask(req, None, self._ephemeral(channel, user, thread), key)

    async def _ignore(self, body: dict[str, Any]) -> None:
        """Plain channel messages need no answer (listening keeps bolt from warning about them)."""

    # -- the shared path ------------------------------------------------------------------
    async def _ask(self, req: CommandRequest, thread: str | None, tell: Tell, key: str | None = None) -> None:
        """One call to the core; an accepted video's status message is posted through ChannelStatus."""
        if key is not None:
            req = dataclasses.replace(req, request_key=key)
        req = dataclasses.replace(req, locale=req.locale or await self.locales.of(req.user_id))
        opener = ChannelStatus(self.client, req.channel_id, thread, self.bot_name)
        reply = await self.ctx.core.handle(req, opener)
        if not reply.ok or reply.job_id is None:
            if key is not None:
                # Marked answered before it is sent: a crash after the send would otherwise repeat it on
                # the replay, since a Slack message cannot be sent idempotently (see the README).
                await self.ctx.inbox.mark_done(key)
            await tell(reply.text)

    def _ephemeral(self, channel: str, user: str, thread: str | None) -> Tell:
        async def tell(text: str) -> None:
            try:
                await self.client.chat_postEphemeral(channel=channel, user=user, text=t.render_text(text),
                                                     thread_ts=thread)
            except SlackApiError as exc:
                log.warning("could not answer %s: %s", user, exc.response.get("error"))

        return tell

    async def _is_admin(self, user: str) -> bool:
        if user in self.admins:
            return True
        try:
            info = (await self.client.users_info(user=user)).get("user") or {}
        except SlackApiError:
            return False
        return bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))
