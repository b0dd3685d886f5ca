"""A local fake Slack: the Web API methods the bot uses, file hosting, upload v2, and Socket Mode."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.limits import Limiter, header_seconds


def sign(body: str, secret: str, ts: int | None = None) -> dict[str, str]:
    """Headers Slack sends with a request body, signed with the app's signing secret."""
    stamp = str(int(time.time()) if ts is None else ts)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class SlackLimits:
    """Slack's documented limits (the fake answers 429 past them); `scale` > 1 runs them faster for tests."""

    posts_per_second: float = 1.0  # chat.postMessage per channel...
    post_burst: float = 3.0  # ...with a short burst allowed
    updates_per_minute: float = 50.0  # chat.update per workspace (Tier 3)
    update_burst: float = 10.0
    uploads_per_minute: float = 100.0  # files.getUploadURLExternal / completeUploadExternal per workspace (Tier 4)
    upload_burst: float = 10.0
    scale: float = 1.0


@dataclass
class FakeSlack:
    """Slack's Web API on 127.0.0.1; `calls` records (method, merged args) for assertions."""

    bot_token: str = "xoxb-fake-0000000000-abcdefghijkl"
    app_token: str = "xapp-fake-0000000000-abcdefghijkl"
    team_id: str = "T1"
    bot_user: str = "UBOT"
    public_channels: set[str] = field(default_factory=lambda: {"C1", "C2"})
    members_of: set[str] = field(default_factory=lambda: {"C1"})
    admins: set[str] = field(default_factory=set)
    locales: dict[str, str] = field(default_factory=dict)  # user -> locale users.info reports (include_locale)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    responses: list[dict[str, Any]] = field(default_factory=list)
    response_ids: list[str] = field(default_factory=list)  # the response_url each of `responses` came to
    fail: dict[str, list[str]] = field(default_factory=dict)
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)
    upload_delay: float = 0.0  # seconds each upload takes before it is accepted
    upload_failures: list[int] = field(default_factory=list)  # HTTP statuses for the next uploads
    upload_stalls: list[float] = field(default_factory=list)  # seconds the next uploads stall before answering
    late: dict[str, list[float]] = field(default_factory=dict)  # method -> seconds its next calls answer late
    limits: SlackLimits | None = None  # None: no rate limits (the default, as before)
    scopes: str = ("commands,chat:write,chat:write.public,channels:join,files:write,files:read,app_mentions:read,"
                   "channels:history,groups:history,users:read")

    def __post_init__(self) -> None:
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._files: dict[str, tuple[str, bytes, str]] = {}
        self._dir = Path(tempfile.mkdtemp(prefix="fake-slack-"))
        self._ws: web.WebSocketResponse | None = None
        self._ack_events: dict[str, asyncio.Event] = {}
        app = web.Application(client_max_size=2 * 1024**3)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files-pri/{file_id}/{name}", self._file)
        app.router.add_post("/response_url/{n}", self._response_url)
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app)
        self._closing = asyncio.Event()
        self.limiter = Limiter(scale=self.limits.scale if self.limits else 1.0)
        self.times: list[tuple[float, str]] = []  # (time.monotonic(), method) of every call let through

    @property
    def rate_limited(self) -> int:
        """How many 429s the fake has answered."""
        return self.limiter.total_refused

    async def start(self) -> FakeSlack:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.base}/api/"
        return self

    async def stop(self) -> None:
        self._closing.set()  # let stalled uploads end, so shutdown does not wait for them
        if self._ws is not None:
            await self._ws.close()
        await self._runner.cleanup()

    # -- helpers for tests ------------------------------------------------------------

    def add_file(self, name: str, data: bytes, mimetype: str) -> dict[str, Any]:
        """A file a user shared, as Slack describes it in event and view payloads."""
        file_id = f"F{next(self._ids):08d}"
        self._files[file_id] = (name, data, mimetype)
        return {"id": file_id, "name": name, "title": name, "mimetype": mimetype, "filetype": name.rsplit(".")[-1],
                "size": len(data), "url_private": f"{self.base}/files-pri/{file_id}/{name}",
                "url_private_download": f"{self.base}/files-pri/{file_id}/{name}"}

    def response_url(self) -> str:
        return f"{self.base}/response_url/{next(self._ids)}"

    def methods(self) -> list[str]:
        return [m for m, _ in self.calls]

    def args_of(self, method: str) -> list[dict[str, Any]]:
        return [a for m, a in self.calls if m == method]

    async def wait_for(self, predicate, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls so far: {self.methods()}")
            await asyncio.sleep(0.02)

    async def send_envelope(self, kind: str, payload: dict[str, Any]) -> str:
        """Push a Socket Mode envelope to the connected app; returns its envelope id."""
        envelope_id = f"env-{next(self._ids)}"
        self._ack_events[envelope_id] = asyncio.Event()
        assert self._ws is not None, "no Socket Mode connection"
        await self._ws.send_str(json.dumps({"envelope_id": envelope_id, "type": kind, "payload": payload,
                                            "accepts_response_payload": kind == "slash_commands"}))
        return envelope_id

    async def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        await asyncio.wait_for(self._ack_events[envelope_id].wait(), timeout)
        return self.acks[envelope_id]

    # -- Web API ------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if raw:
            if request.content_type == "application/json":
                args.update(json.loads(raw))
            else:
                args.update(dict(urllib.parse.parse_qsl(raw.decode())))
        self.calls.append((method, args))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if token != expected:
            return _json({"ok": False, "error": "invalid_auth"})
        if (wait := self._over_limit(method, args)) is not None:
            return _json({"ok": False, "error": "ratelimited"}, status=429,
                         headers={"Retry-After": header_seconds(wait, self.limiter.scale)})
        self.times.append((time.monotonic(), method))
        if self.fail.get(method):
            return _json({"ok": False, "error": self.fail[method].pop(0)})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return _json({"ok": False, "error": "unknown_method"})
        answer = handler(args)
        if self.late.get(method):  # the work is done; only the answer is slow
            await self._stall(self.late[method].pop(0))
        return _json(answer, headers={"x-oauth-scopes": self.scopes})

    def _over_limit(self, method: str, args: dict[str, Any]) -> float | None:
        """Seconds to wait when this call is past Slack's limit (429), None when it may go through."""
        lim = self.limits
        if lim is None:
            return None
        if method == "chat.postMessage":
            return self.limiter.bucket("post", str(args.get("channel")), per=lim.posts_per_second, seconds=1.0,
                                       burst=lim.post_burst)
        if method == "chat.update":
            return self.limiter.bucket("update", self.team_id, per=lim.updates_per_minute, seconds=60.0,
                                       burst=lim.update_burst)
        if method in ("files.getUploadURLExternal", "files.completeUploadExternal"):
            return self.limiter.bucket("upload", f"{self.team_id}:{method}", per=lim.uploads_per_minute, seconds=60.0,
                                       burst=lim.upload_burst)
        return None

    async def _stall(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    def _channel_error(self, channel: str) -> dict[str, Any] | None:
        if channel not in self.public_channels and channel not in self.members_of:
            return {"ok": False, "error": "channel_not_found"}
        if channel not in self.members_of:
            return {"ok": False, "error": "not_in_channel"}
        return None

    def _post(self, channel: str, **message: Any) -> dict[str, Any]:
        ts = f"1700000000.{next(self._ts):06d}"
        record = {"type": "message", "ts": ts, "user": self.bot_user, **message}
        self.messages.setdefault(channel, []).append(record)
        return record

    def _m_auth_test(self, args: dict) -> dict:
        return {"ok": True, "team_id": self.team_id, "user_id": self.bot_user, "bot_id": "B1", "team": "fake"}

    def _m_chat_postMessage(self, args: dict) -> dict:
        channel = args["channel"]
        if (err := self._channel_error(channel)) is not None:
            return err
        thread = args.get("thread_ts")
        if thread and not any(m["ts"] == thread for m in self.messages.get(channel, [])):
            return {"ok": False, "error": "thread_not_found"}
        blocks = args.get("blocks")
        record = self._post(channel, text=args.get("text", ""), thread_ts=thread,
                            blocks=json.loads(blocks) if isinstance(blocks, str) else blocks)
        return {"ok": True, "channel": channel, "ts": record["ts"], "message": record}

    def _m_chat_update(self, args: dict) -> dict:
        for message in self.messages.get(args["channel"], []):
            if message["ts"] == args["ts"]:
                blocks = args.get("blocks")
                message.update(text=args.get("text", ""), blocks=json.loads(blocks) if isinstance(blocks, str)
                               else blocks, edited=True)
                return {"ok": True, "channel": args["channel"], "ts": args["ts"]}
        return {"ok": False, "error": "message_not_found"}

    def _m_chat_delete(self, args: dict) -> dict:
        messages = self.messages.get(args["channel"], [])
        self.messages[args["channel"]] = [m for m in messages if m["ts"] != args["ts"]]
        return {"ok": True}

    def _m_chat_postEphemeral(self, args: dict) -> dict:
        return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}

    def _m_conversations_join(self, args: dict) -> dict:
        if args["channel"] not in self.public_channels:
            return {"ok": False, "error": "method_not_supported_for_channel_type"}
        self.members_of.add(args["channel"])
        return {"ok": True, "channel": {"id": args["channel"]}}

    def _m_conversations_replies(self, args: dict) -> dict:
        thread = args["ts"]
        found = [m for m in self.messages.get(args["channel"], []) if m["ts"] == thread or m.get("thread_ts") == thread]
        return {"ok": True, "messages": found, "has_more": False}

    def _m_users_info(self, args: dict) -> dict:
        user = args["user"]
        info = {"id": user, "is_admin": user in self.admins, "is_owner": False}
        if str(args.get("include_locale")).lower() in ("true", "1"):  # as Slack: only when asked for
            info["locale"] = self.locales.get(user, "en-US")
        return {"ok": True, "user": info}

    def _m_views_open(self, args: dict) -> dict:
        view = args["view"]
        return {"ok": True, "view": json.loads(view) if isinstance(view, str) else view}

    def _m_files_getUploadURLExternal(self, args: dict) -> dict:
        file_id = f"F{next(self._ids):08d}"
        self.uploads[file_id] = {"filename": args["filename"], "length": int(args["length"])}
        return {"ok": True, "upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, args: dict) -> dict:
        files = json.loads(args["files"]) if isinstance(args["files"], str) else args["files"]
        channel, thread = args.get("channel_id"), args.get("thread_ts")
        if channel and (err := self._channel_error(channel)) is not None:
            return err
        if thread and not any(m["ts"] == thread for m in self.messages.get(channel, [])):
            return {"ok": False, "error": "thread_not_found"}
        shared = []
        for f in files:
            upload = self.uploads[f["id"]]
            upload.update(channel=channel, thread_ts=thread, comment=args.get("initial_comment"), title=f.get("title"))
            shared.append({"id": f["id"], "name": upload["filename"], "title": f.get("title"),
                           "size": upload.get("size")})
        if channel:
            posted = self._post(channel, text=args.get("initial_comment", ""), thread_ts=thread, files=shared)
            for f in files:
                self.uploads[f["id"]]["ts"] = posted["ts"]
        return {"ok": True, "files": shared}

    def _m_files_info(self, args: dict) -> dict:
        upload = self.uploads.get(args.get("file", ""))
        if upload is None:
            return {"ok": False, "error": "file_not_found"}
        file = {"id": args["file"], "name": upload["filename"], "title": upload.get("title"),
                "size": upload.get("size")}
        if upload.get("channel") and upload.get("ts"):  # where it was shared, as Slack lists it
            kind = "public" if upload["channel"] in self.public_channels else "private"
            share = {"ts": upload["ts"], "channel_name": upload["channel"], "team_id": self.team_id}
            if upload.get("thread_ts"):
                share["thread_ts"] = upload["thread_ts"]
            file["shares"] = {kind: {upload["channel"]: [share]}}
        return {"ok": True, "file": file}

    def _m_chat_getPermalink(self, args: dict) -> dict:
        channel, ts = args.get("channel", ""), args.get("message_ts", "")
        message = next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        link = f"https://fake.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        if message.get("thread_ts") and message["thread_ts"] != ts:
            link += f"?thread_ts={message['thread_ts']}&cid={channel}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _m_apps_connections_open(self, args: dict) -> dict:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link?ticket=t"}

    # -- other endpoints ----------------------------------------------------------------

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if self.upload_failures:
            await request.read()
            return web.Response(status=self.upload_failures.pop(0), text="upload failed")
        digest, size = hashlib.sha256(), 0
        path = self._dir / file_id
        with path.open("wb") as out:
            async for chunk in request.content.iter_chunked(1 << 16):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        stall = self.upload_stalls.pop(0) if self.upload_stalls else self.upload_delay
        if stall:
            await self._stall(stall)
        self.uploads[file_id].update(size=size, sha256=digest.hexdigest(), path=str(path))
        return web.Response(text=f"OK - {size}")

    async def _file(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.bot_token}":
            return web.Response(text="<!DOCTYPE html><html><body>Sign in to Slack</body></html>",
                                content_type="text/html")
        _, data, mimetype = self._files[request.match_info["file_id"]]
        return web.Response(body=data, content_type=mimetype)

    async def _response_url(self, request: web.Request) -> web.Response:
        self.responses.append(json.loads(await request.read()))
        self.response_ids.append(request.path.rsplit("/", 1)[-1])
        return web.Response(text="ok")

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._ws = ws
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}}))
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                data = json.loads(msg.data)
                if "envelope_id" in data:
                    self.acks[data["envelope_id"]] = data
                    self._ack_events.setdefault(data["envelope_id"], asyncio.Event()).set()
        return ws


def _json(data: dict[str, Any], headers: dict[str, str] | None = None, status: int = 200) -> web.Response:
    return web.Response(status=status, body=json.dumps(data).encode(),
                        headers={"Content-Type": "application/json", **(headers or {})})
