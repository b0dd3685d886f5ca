"""A local fake of Workers AI's `ai/run` for `minimax/hailuo-2.3`, enforcing its input schema."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

REQUIRED = {"prompt_optimizer", "fast_pretreatment", "duration", "resolution"}
FIELDS = REQUIRED | {"prompt", "first_frame_image"}


def schema_problem(body: Any) -> str | None:
    """Why Workers AI would refuse this body with a 400, or None."""
    if not isinstance(body, dict) or set(body) != {"model", "input"}:
        return "body must be {model, input}"
    if body["model"] not in ("minimax/hailuo-2.3", "minimax/hailuo-2.3-fast"):
        return "unknown model"
    data = body["input"]
    if not isinstance(data, dict):
        return "input must be an object"
    if body["model"].endswith("-fast") and "first_frame_image" not in data:
        return "missing required ['first_frame_image']"  # hailuo-2.3-fast's schema requires it
    if set(data) - FIELDS:
        return f"additionalProperties: {sorted(set(data) - FIELDS)}"
    if REQUIRED - set(data):
        return f"missing required {sorted(REQUIRED - set(data))}"
    if type(data["prompt_optimizer"]) is not bool or type(data["fast_pretreatment"]) is not bool:
        return "flags must be booleans"
    if type(data["duration"]) is not int or data["duration"] not in (6, 10):
        return "duration must be 6 or 10"
    if data["resolution"] not in ("768P", "1080P"):
        return "resolution must be 768P or 1080P"
    if "prompt" in data and (not isinstance(data["prompt"], str) or len(data["prompt"]) > 2000):
        return "prompt must be a string of at most 2000 characters"
    return None


@dataclass
class FakeCloudflare:
    """`POST /client/v4/accounts/{id}/ai/run` blocks for `delay` seconds, then answers with the video URL."""

    account_id: str = "acc0123456789"
    api_token: str = "cf-test-token-0123456789"
    video: bytes = b""
    delay: float = 0.2
    runs: list[dict[str, Any]] = field(default_factory=list)
    faults: deque[tuple[Any, ...]] = field(default_factory=deque)
    in_flight: int = 0

    def __post_init__(self) -> None:
        self._ids = itertools.count(388507504709991)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/client/v4/accounts/{account}/ai/run", self._run)
        app.router.add_get("/client/v4/user/tokens/verify", self._verify)
        app.router.add_get("/video/{name}", self._video)
        self._runner = web.AppRunner(app)
        self._closing = asyncio.Event()

    async def start(self) -> FakeCloudflare:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{self.port}/client/v4"
        return self

    async def stop(self) -> None:
        self._closing.set()  # release calls still blocking, so shutdown does not wait for them
        await self._runner.cleanup()

    def fail_next(self, *actions: tuple[Any, ...]) -> None:
        """Queue faults for the next runs: ("http", status, code), ("html",), ("fail",)."""
        self.faults.extend(actions)

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.api_token}"

    async def _run(self, request: web.Request) -> web.Response:
        if not self._authorised(request) or request.match_info["account"] != self.account_id:
            return _envelope(401, 10000, "Authentication error")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _envelope(400, 5006, "Could not parse request body")
        if (problem := schema_problem(body)) is not None:
            return _envelope(400, 5006, f"Error: input: {problem}")
        self.runs.append(body)
        self.in_flight += 1
        try:
            # The real call blocks until the video is done.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.delay)
        finally:
            self.in_flight -= 1
        if self.faults:
            kind, *args = self.faults.popleft()
            if kind == "http":
                return _envelope(args[0], args[1] if len(args) > 1 else 0, "scripted")
            if kind == "html":
                return web.Response(status=502, text="<html>Bad gateway</html>", content_type="text/html")
            if kind == "fail":
                task = str(next(self._ids))
                return _json({"result": {"status": "Fail", "task_id": task}, "state": "Completed"})
        task = str(next(self._ids))
        video = f"http://127.0.0.1:{self.port}/video/{task}.mp4"
        return _json({"gatewayMetadata": {"keySource": "Unified"},
                      "result": {"status": "Success", "task_id": task, "video": video}, "state": "Completed"})

    async def _verify(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _envelope(401, 1000, "Invalid API Token")
        return _json({"result": {"id": "tok", "status": "active"}, "success": True, "errors": [], "messages": []})

    async def _video(self, request: web.Request) -> web.Response:
        return web.Response(body=self.video, content_type="video/mp4")


def _json(data: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(status=status, body=json.dumps(data).encode(), content_type="application/json")


def _envelope(status: int, code: int, message: str) -> web.Response:
    return _json({"result": None, "success": False, "errors": [{"code": code, "message": message}],
                  "messages": []}, status)
