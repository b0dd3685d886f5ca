"""A local fake Discord: REST and gateway on one ephemeral port, for the real discord.py client.

Visibility is modelled the way members see it:

* a public message lives in its channel's list, `messages[channel_id]` (what `messages_in` returns);
  every state a public message ever showed (created or edited, even if deleted later) is also kept in
  `shown`, so a test can tell that something never appeared in a channel, not even for a moment;
* an ephemeral message is seen only by the member behind the interaction: it lives in `ephemeral`, a list
  of message dicts that also carry `user_id` and `token` (`ephemeral_for(user_id)` filters it); the channel
  endpoints (bot token) cannot see, edit or start threads from it.

Interaction responses follow Discord's rules:

* callback 4 makes a message at once (ephemeral with flags 64); callback 5 defers: a "thinking" message
  (flags 128, LOADING), ephemeral only if the defer carried flags 64; 6 and 7 acknowledge / update the
  component's message; 9 opens a modal (recorded in `callbacks` only);
* the FIRST follow-up after a type-5 defer, while the "thinking" message is still unresolved, resolves it:
  same message id, the defer's visibility, content replaced; its own ephemeral flag is ignored (Discord:
  "If you defer without flag 64 you cannot then respond with an ephemeral response"). PATCH @original
  also resolves it. Later follow-ups are new messages whose visibility follows their own flags;
* once a deferred original is deleted, follow-ups on that token fail: 404 Unknown Message (10008).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
from aiohttp import web

from tests.fakes.limits import Limiter

APP_ID = "111111111111111111"
GUILD_ID = "222222222222222222"
CHANNEL_ID = "333333333333333333"
EPHEMERAL = 1 << 6  # message flag: seen only by the member behind the interaction
LOADING = 1 << 7  # message flag: a deferred "thinking" response not resolved yet


def snowflake() -> str:
    """A fresh snowflake (ids made from small numbers look expired to discord.py)."""
    snowflake.n = getattr(snowflake, "n", 0) + 1  # type: ignore[attr-defined]
    return str(discord.utils.time_snowflake(discord.utils.utcnow()) + snowflake.n)  # type: ignore[attr-defined]


def user(uid: str, name: str) -> dict[str, Any]:
    return {"id": uid, "username": name, "discriminator": "0", "avatar": None, "global_name": name}


@dataclass
class DiscordLimits:
    """A per-channel limit on message creates and on edits (Discord: 5 per 5 s), past which it answers 429."""

    messages: int = 5
    edits: int = 5
    per_seconds: float = 5.0
    scale: float = 1.0  # > 1 runs the windows faster for tests


@dataclass
class FakeDiscord:
    """Records every REST call in `calls`; keeps channels, messages and threads like Discord does."""

    token: str = "fake-bot-token"
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    upload_limit: int = 25 * 1024 * 1024
    forbid_threads: bool = False
    faults: list[tuple[str, str, int, dict[str, Any]]] = field(default_factory=list)
    late: list[tuple[str, str, float]] = field(default_factory=list)  # (method, path regex, seconds)
    files: dict[str, Path] = field(default_factory=dict)
    bot_permissions: int = 309237763072  # what the bot's role grants in the guild
    ephemeral: list[dict[str, Any]] = field(default_factory=list)  # seen only by `user_id`
    shown: list[dict[str, Any]] = field(default_factory=list)  # every public state ever shown, with channel_id
    # interaction id -> (time.perf_counter() when its FIRST callback arrived, that callback's body)
    answered: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    limits: DiscordLimits | None = None  # None: no rate limits (the default, as before)

    def __post_init__(self) -> None:
        self.bot = user(APP_ID, "hailuo")
        self.channels[CHANNEL_ID] = {"id": CHANNEL_ID, "type": 0, "guild_id": GUILD_ID, "name": "general",
                                     "position": 0}
        self._seq = itertools.count(1)
        self._dir = Path(tempfile.mkdtemp(prefix="fake-discord-"))
        self._ws: web.WebSocketResponse | None = None
        self._originals: dict[str, str] = {}  # interaction token -> message id
        self.identified: list[dict[str, Any]] = []  # every IDENTIFY the gateway received
        self._payloads: dict[str, dict[str, Any]] = {}  # interaction token -> INTERACTION_CREATE payload
        # interaction token -> {"deferred": bool, "resolved": bool, "ephemeral": bool, "deleted": bool}
        self._responses: dict[str, dict[str, Any]] = {}
        app = web.Application(client_max_size=1024**3)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        app.router.add_get("/attachments/{name}", self._attachment)
        self._runner = web.AppRunner(app)
        self._closing = asyncio.Event()
        self.limiter = Limiter(scale=self.limits.scale if self.limits else 1.0)
        self.times: list[tuple[float, str, str]] = []  # (time.monotonic(), method, path) of calls answered 2xx

    @property
    def rate_limited(self) -> int:
        """How many 429s the fake has answered."""
        return self.limiter.total_refused

    async def start(self) -> FakeDiscord:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.base}/api/v10"
        self.gateway_url = f"ws://127.0.0.1:{self.port}/gateway"
        return self

    async def stop(self) -> None:
        self._closing.set()  # let late answers end, so shutdown does not wait for them
        if self._ws is not None:
            await self._ws.close()
        await self._runner.cleanup()

    # -- helpers for tests ------------------------------------------------------------------

    def add_attachment(self, name: str, data: bytes, content_type: str) -> dict[str, Any]:
        path = self._dir / name
        path.write_bytes(data)
        self.files[name] = path
        url = f"{self.base}/attachments/{name}"
        return {"id": snowflake(), "filename": name, "size": len(data), "content_type": content_type, "url": url,
                "proxy_url": url}

    def fail_next(self, method: str, pattern: str, status: int, body: dict[str, Any]) -> None:
        """The next request matching `method` and the path regex answers with this error."""
        self.faults.append((method, pattern, status, body))

    def answer_late(self, method: str, pattern: str, seconds: float) -> None:
        """The next request matching `method` and the path regex does its work, then answers `seconds` late."""
        self.late.append((method, pattern, seconds))

    def delete_channel(self, channel_id: str) -> None:
        self.channels.pop(channel_id, None)

    def messages_in(self, channel_id: str) -> list[dict[str, Any]]:
        return self.messages.get(channel_id, [])

    def ephemeral_for(self, user_id: str) -> list[dict[str, Any]]:
        """The ephemeral messages only this member saw (interaction responses and follow-ups)."""
        return [m for m in self.ephemeral if m["user_id"] == user_id]

    def ever_shown_in(self, channel_id: str) -> list[dict[str, Any]]:
        """Every state any public message in this channel ever showed, deleted ones included."""
        return [m for m in self.shown if m["channel_id"] == channel_id]

    def thinking_in(self, channel_id: str) -> list[dict[str, Any]]:
        """Public "thinking" messages still waiting to be resolved in this channel."""
        return [m for m in self.messages_in(channel_id) if m.get("flags", 0) & LOADING]

    def paths(self, method: str | None = None) -> list[str]:
        return [p for m, p, _ in self.calls if method is None or m == method]

    async def wait_for(self, predicate, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls: {[(m, p) for m, p, _ in self.calls][-15:]}")
            await asyncio.sleep(0.02)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        assert self._ws is not None, "the client is not connected"
        await self._ws.send_json({"op": 0, "t": event, "s": next(self._seq), "d": data})

    async def burst(self, payloads: list[dict[str, Any]]) -> dict[str, float]:
        """Remember and dispatch these INTERACTION_CREATE payloads back to back; when each was sent, by id."""
        sent = {}
        for payload in payloads:
            self.remember(payload)
            sent[payload["id"]] = time.perf_counter()
            await self.dispatch("INTERACTION_CREATE", payload)
        return sent

    def interaction(self, kind: int, data: dict[str, Any], *, user_id: str = "444444444444444444",
                    permissions: str = "0", channel_id: str = CHANNEL_ID, limit: int | None = None,
                    message: dict[str, Any] | None = None) -> dict[str, Any]:
        """An INTERACTION_CREATE payload from a guild member (permissions as a bit string)."""
        payload = {
            "id": snowflake(), "application_id": APP_ID, "type": kind, "token": f"tok-{snowflake()}", "version": 1,
            "attachment_size_limit": limit or self.upload_limit, "guild_id": GUILD_ID, "channel_id": channel_id,
            "channel": self.channels.get(channel_id, {"id": channel_id, "type": 0, "guild_id": GUILD_ID,
                                                      "name": "x", "position": 0}),
            "member": {"user": user(user_id, f"user{user_id[-2:]}"), "roles": [], "flags": 0,
                       "joined_at": "2024-01-01T00:00:00+00:00", "permissions": permissions},
            "app_permissions": "2147483647", "locale": "en-US", "context": 0, "data": data,
        }
        if message is not None:
            payload["message"] = message
        return payload

    # -- gateway ----------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        async for msg in ws:
            frame = json.loads(msg.data)
            if frame["op"] == 1:
                await ws.send_json({"op": 11})
            elif frame["op"] == 2:
                self.identified.append(frame["d"])
                shard = frame["d"].get("shard")
                # A shard sees the guilds whose id routes to it: (guild_id >> 22) % shard_count.
                mine = shard is None or (int(GUILD_ID) >> 22) % shard[1] == shard[0]
                await self.dispatch("READY", {"v": 10, "user": {**self.bot, "bot": True}, "session_id": "fake",
                                              "guilds": [{"id": GUILD_ID, "unavailable": True}] if mine else [],
                                              "resume_gateway_url": self.gateway_url,
                                              "application": {"id": APP_ID, "flags": 0},
                                              **({"shard": shard} if shard is not None else {})})
                if mine:
                    await self.dispatch("GUILD_CREATE", {"id": GUILD_ID, "name": "guild", "unavailable": False,
                                                         "owner_id": "1", "channels": list(self.channels.values()),
                                                         "roles": [], "members": [], "threads": []})
            elif frame["op"] == 6:
                await self.dispatch("RESUMED", {})
        return ws

    # -- REST -------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        tail, method = request.match_info["tail"], request.method
        body = await self._body(request)
        self.calls.append((method, tail, body))
        for i, (m, pattern, status, error) in enumerate(self.faults):
            if m == method and re.fullmatch(pattern, tail):
                del self.faults[i]
                return _json(error, status)
        if not tail.startswith(("interactions/", "webhooks/")) and request.headers.get("Authorization") != \
                f"Bot {self.token}":
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        limited = self._limit(method, tail)
        if limited is not None and limited[0] is not None:
            wait, _, _ = limited
            return _json({"message": "You are being rate limited.", "retry_after": round(wait, 3), "global": False},
                         429, headers=self._limit_headers(limited, method, tail) | {"Retry-After": f"{wait:.3f}"})
        for pattern, handler in self._routes():
            match = re.fullmatch(pattern, f"{method} {tail}")
            if match:
                answer = await handler(body, *match.groups())
                if limited is not None:
                    answer.headers.update(self._limit_headers(limited, method, tail))
                if answer.status < 300:
                    self.times.append((time.monotonic(), method, tail))
                await self._maybe_late(method, tail)
                return answer
        return _json({"message": "404: Not Found", "code": 0}, 404)

    def _limit(self, method: str, tail: str) -> tuple[float | None, int, float] | None:
        """(wait, remaining, reset-after) for a message create or edit under the limits; None for other routes."""
        lim = self.limits
        if lim is None:
            return None
        if method == "POST" and (m := re.fullmatch(r"channels/(\d+)/messages", tail)):
            return self.limiter.window("create", m[1], limit=lim.messages, seconds=lim.per_seconds)
        if method == "PATCH" and (m := re.fullmatch(r"channels/(\d+)/messages/\d+", tail)):
            return self.limiter.window("edit", m[1], limit=lim.edits, seconds=lim.per_seconds)
        return None

    def _limit_headers(self, limited: tuple[float | None, int, float], method: str, tail: str) -> dict[str, str]:
        """The X-RateLimit-* headers discord.py reads (and the Via header it wants on a real 429)."""
        _, remaining, reset_after = limited
        lim = self.limits
        assert lim is not None
        channel = tail.split("/")[1]
        return {"X-RateLimit-Limit": str(lim.messages if method == "POST" else lim.edits),
                "X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
                "X-RateLimit-Bucket": hashlib.sha1(f"{method}:{channel}".encode()).hexdigest()[:16],
                "X-RateLimit-Scope": "user", "Via": "1.1 google"}

    async def _maybe_late(self, method: str, tail: str) -> None:
        for i, (m, pattern, seconds) in enumerate(self.late):
            if m == method and re.fullmatch(pattern, tail):
                del self.late[i]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), seconds)
                return

    def _routes(self):
        return [
            (r"GET users/@me", self._me),
            (r"GET users/@me/guilds", self._my_guilds),
            (r"GET guilds/(\d+)/roles", self._roles),
            (r"GET guilds/(\d+)/members/(\d+)", self._member),
            (r"GET oauth2/applications/@me", self._app),
            (r"GET applications/@me", self._app),
            (r"PUT applications/\d+(?:/guilds/(\d+))?/commands", self._sync),
            (r"GET applications/\d+(?:/guilds/(\d+))?/commands", self._get_commands),
            (r"POST interactions/(\d+)/([^/]+)/callback", self._callback),
            (r"PATCH webhooks/\d+/([^/]+)/messages/@original", self._edit_original),
            (r"GET webhooks/\d+/([^/]+)/messages/@original", self._get_original),
            (r"DELETE webhooks/\d+/([^/]+)/messages/@original", self._delete_original),
            (r"POST webhooks/\d+/([^/]+)", self._followup),
            (r"POST channels/(\d+)/messages/(\d+)/threads", self._thread_from_message),
            (r"POST channels/(\d+)/messages", self._post),
            (r"GET channels/(\d+)/messages", self._history),
            (r"GET channels/(\d+)/messages/(\d+)", self._get_message),
            (r"PATCH channels/(\d+)/messages/(\d+)", self._edit),
            (r"GET channels/(\d+)", self._get_channel),
        ]

    async def _body(self, request: web.Request) -> Any:
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            payload: dict[str, Any] = {}
            files = []
            async for part in reader:
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                elif part.name and part.name.startswith("files["):
                    path = self._dir / f"{snowflake()}-{part.filename}"
                    digest, size = hashlib.sha256(), 0
                    with path.open("wb") as out:
                        while chunk := await part.read_chunk(1 << 16):
                            digest.update(chunk)
                            size += len(chunk)
                            out.write(chunk)
                    files.append({"filename": part.filename, "size": size, "sha256": digest.hexdigest(),
                                  "path": str(path)})
            payload["_files"] = files
            return payload
        raw = await request.read()
        return json.loads(raw) if raw else None

    def _message(self, channel: str, body: dict[str, Any], author: dict[str, Any] | None = None) -> dict[str, Any]:
        files = body.get("_files") or []
        attachments = []
        for f in files:
            name = Path(f["path"]).name
            self.files[name] = Path(f["path"])
            url = f"{self.base}/attachments/{name}"
            attachments.append({"id": snowflake(), "filename": f["filename"], "size": f["size"], "url": url,
                                "proxy_url": url, "sha256": f["sha256"], "path": f["path"]})
        return {"id": snowflake(), "channel_id": channel, "type": 0, "content": body.get("content") or "",
                "author": author or self.bot, "attachments": attachments, "embeds": body.get("embeds") or [],
                "components": body.get("components") or [], "mentions": [], "mention_roles": [],
                "timestamp": discord.utils.utcnow().isoformat(), "edited_timestamp": None, "flags": 0,
                "tts": False, "mention_everyone": False, "pinned": False}

    def _store(self, channel: str, body: dict[str, Any]) -> web.Response:
        if channel not in self.channels:
            return _json({"message": "Unknown Channel", "code": 10003}, 404)
        if self.channels[channel].get("archived"):
            return _json({"message": "Thread is archived", "code": 50083}, 400)
        total = sum(f["size"] for f in body.get("_files") or [])
        if total > self.upload_limit:
            return _json({"message": "Request entity too large", "code": 40005}, 413)
        message = self._message(channel, body)
        self._publish(channel, message)
        return _json(message)

    def _publish(self, channel: str, message: dict[str, Any]) -> None:
        self.messages.setdefault(channel, []).append(message)
        self._log(message)

    def _log(self, message: dict[str, Any]) -> None:
        if not message.get("flags", 0) & EPHEMERAL:
            self.shown.append(json.loads(json.dumps({k: v for k, v in message.items() if k != "author"})))

    def _private(self, token: str, message: dict[str, Any]) -> None:
        message["flags"] = message.get("flags", 0) | EPHEMERAL
        payload = self._payloads.get(token, {})
        who = (payload.get("member") or {}).get("user") or payload.get("user") or {}
        message.update({"user_id": who.get("id"), "token": token})
        self.ephemeral.append(message)

    async def _me(self, body: Any) -> web.Response:
        return _json({**self.bot, "bot": True, "flags": 0})

    async def _my_guilds(self, body: Any) -> web.Response:
        return _json([{"id": GUILD_ID, "name": "guild", "icon": None, "owner": False, "permissions": "0"}])

    async def _roles(self, body: Any, guild: str) -> web.Response:
        return _json([{"id": guild, "name": "@everyone", "permissions": "0", "position": 0},
                      {"id": "999", "name": "hailuo", "permissions": str(self.bot_permissions), "position": 1}])

    async def _member(self, body: Any, guild: str, member: str) -> web.Response:
        return _json({"user": self.bot, "roles": ["999"], "joined_at": "2024-01-01T00:00:00+00:00"})

    async def _app(self, body: Any) -> web.Response:
        return _json({"id": APP_ID, "name": "hailuo", "description": "", "icon": None, "bot_public": True,
                      "bot_require_code_grant": False, "owner": user("1", "owner"), "verify_key": "k", "flags": 0})

    async def _sync(self, body: list[dict[str, Any]], guild: str | None) -> web.Response:
        registered = [{"description": "", **c, "id": snowflake(), "application_id": APP_ID, "version": "1"}
                      for c in body]
        self.commands[guild or "global"] = registered
        return _json(registered)

    async def _get_commands(self, body: Any, guild: str | None) -> web.Response:
        return _json(self.commands.get(guild or "global", []))

    async def _callback(self, body: dict[str, Any], interaction_id: str, token: str) -> web.Response:
        self.callbacks.append({"token": token, **body})
        self.answered.setdefault(interaction_id, (time.perf_counter(), body))
        kind, data = body["type"], body.get("data") or {}
        ephemeral = bool(data.get("flags", 0) & EPHEMERAL)
        payload = self._payloads.get(token, {})
        if kind in (4, 5):  # the response becomes a message: in the channel, or seen by the member only
            message = self._message(self._interaction_channel.get(token, CHANNEL_ID), data if kind == 4 else {})
            if kind == 5:
                message["flags"] = LOADING
                message["interaction_metadata"] = {"id": interaction_id, "type": payload.get("type", 2),
                                                   "user": self.bot}
            if ephemeral:
                self._private(token, message)
            else:
                self._publish(message["channel_id"], message)
            self._originals[token] = message["id"]
            self._responses[token] = {"deferred": kind == 5, "resolved": kind == 4, "ephemeral": ephemeral,
                                      "deleted": False}
        elif kind in (6, 7):  # a component's message is acknowledged (6) or updated at once (7)
            target = self._find((payload.get("message") or {}).get("id", ""))
            if target is not None:
                self._originals[token] = target["id"]
                if kind == 7:
                    self._update(target, data)
            self._responses[token] = {"deferred": False, "resolved": True,
                                      "ephemeral": bool(target and target.get("flags", 0) & EPHEMERAL),
                                      "deleted": False}
        return _json({"interaction": {"id": interaction_id, "type": payload.get("type", 2),
                                      "response_message_loading": kind == 5,
                                      "response_message_ephemeral": ephemeral}})

    @property
    def _interaction_channel(self) -> dict[str, str]:
        return {token: p["channel_id"] for token, p in self._payloads.items()}

    def remember(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Note where an interaction came from and who sent it (so its responses land there, for them)."""
        self._payloads[payload["token"]] = payload
        return payload

    def _find(self, message_id: str, *, public_only: bool = False) -> dict[str, Any] | None:
        for messages in self.messages.values():
            for m in messages:
                if m["id"] == message_id:
                    return m
        if not public_only:
            for m in self.ephemeral:
                if m["id"] == message_id:
                    return m
        return None

    def _update(self, message: dict[str, Any], body: dict[str, Any]) -> None:
        message.update({k: v for k, v in body.items() if k in ("content", "embeds", "components")})
        message["flags"] = message.get("flags", 0) & ~LOADING  # an edit resolves "thinking"
        message["edited_timestamp"] = discord.utils.utcnow().isoformat()
        self._log(message)

    async def _edit_original(self, body: dict[str, Any], token: str) -> web.Response:
        message = self._find(self._originals.get(token, ""))
        if message is None:
            return _json({"message": "Unknown Message", "code": 10008}, 404)
        self._update(message, body)
        if token in self._responses:
            self._responses[token]["resolved"] = True
        return _json(message)

    async def _get_original(self, body: Any, token: str) -> web.Response:
        message = self._find(self._originals.get(token, ""))
        return _json(message) if message else _json({"message": "Unknown Message", "code": 10008}, 404)

    async def _delete_original(self, body: Any, token: str) -> web.Response:
        message_id = self._originals.pop(token, "")
        if not message_id:
            return _json({"message": "Unknown Message", "code": 10008}, 404)
        for channel, messages in self.messages.items():
            self.messages[channel] = [m for m in messages if m["id"] != message_id]
        self.ephemeral = [m for m in self.ephemeral if m["id"] != message_id]
        if token in self._responses:
            self._responses[token]["deleted"] = True
        return web.Response(status=204)

    async def _followup(self, body: dict[str, Any], token: str) -> web.Response:
        state = self._responses.get(token)
        if state is not None and state["deferred"] and state["deleted"]:
            # Discord: after the deferred original is deleted, follow-ups on the token are refused.
            return _json({"message": "Unknown Message", "code": 10008}, 404)
        if state is not None and state["deferred"] and not state["resolved"]:
            # The first follow-up after a defer RESOLVES the "thinking" message: same id, the defer's
            # visibility (its own flags 64 cannot change it), content replaced.
            state["resolved"] = True
            message = self._find(self._originals.get(token, ""))
            if message is None:
                return _json({"message": "Unknown Message", "code": 10008}, 404)
            fresh = self._message(message["channel_id"], body)
            message["attachments"] = fresh["attachments"]
            self._update(message, {k: fresh[k] for k in ("content", "embeds", "components")})
            return _json(message)
        message = self._message(self._interaction_channel.get(token, CHANNEL_ID), body)
        message["webhook_id"] = APP_ID
        if body.get("flags", 0) & EPHEMERAL:
            self._private(token, message)
        else:
            self._publish(message["channel_id"], message)
        return _json(message)

    async def _post(self, body: dict[str, Any], channel: str) -> web.Response:
        return self._store(channel, body)

    async def _history(self, body: Any, channel: str) -> web.Response:
        if channel not in self.channels:
            return _json({"message": "Unknown Channel", "code": 10003}, 404)
        return _json(list(reversed(self.messages.get(channel, [])))[:100])

    async def _get_message(self, body: Any, channel: str, message_id: str) -> web.Response:
        message = self._find(message_id, public_only=True)
        return _json(message) if message else _json({"message": "Unknown Message", "code": 10008}, 404)

    async def _edit(self, body: dict[str, Any], channel: str, message_id: str) -> web.Response:
        message = self._find(message_id, public_only=True)  # an ephemeral message is not the bot's to edit
        if message is None or message["channel_id"] != channel:
            return _json({"message": "Unknown Message", "code": 10008}, 404)
        self._update(message, body)
        return _json(message)

    async def _get_channel(self, body: Any, channel: str) -> web.Response:
        found = self.channels.get(channel)
        return _json(found) if found else _json({"message": "Unknown Channel", "code": 10003}, 404)

    async def _thread_from_message(self, body: dict[str, Any], channel: str, message_id: str) -> web.Response:
        if self.forbid_threads:
            return _json({"message": "Missing Permissions", "code": 50013}, 403)
        started = self._find(message_id, public_only=True)  # no thread from an ephemeral or deleted message
        if started is None or started["channel_id"] != channel:
            return _json({"message": "Unknown Message", "code": 10008}, 404)
        thread = {"id": message_id, "parent_id": channel, "guild_id": GUILD_ID, "owner_id": APP_ID,
                  "name": body.get("name", "thread"), "type": 11, "message_count": 0, "member_count": 1,
                  "thread_metadata": {"archived": False, "auto_archive_duration": body.get("auto_archive_duration",
                                                                                            1440),
                                      "archive_timestamp": discord.utils.utcnow().isoformat(), "locked": False}}
        self.channels[message_id] = thread
        return _json(thread)

    async def _attachment(self, request: web.Request) -> web.StreamResponse:
        path = self.files.get(request.match_info["name"])
        if path is None:
            return web.Response(status=404)
        return web.FileResponse(path)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py compares the content type exactly: no charset suffix.
    return web.Response(status=status, body=json.dumps(data).encode(),
                        headers={"Content-Type": "application/json", **(headers or {})})
