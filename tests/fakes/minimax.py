"""A local fake of MiniMax's video API that enforces the real wire format (providers.md section 1)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

MODELS = {"MiniMax-Hailuo-2.3", "MiniMax-Hailuo-2.3-Fast", "MiniMax-Hailuo-02"}
FIELDS = {"model", "prompt", "first_frame_image", "duration", "resolution", "prompt_optimizer", "fast_pretreatment",
          "callback_url", "aigc_watermark"}
STEPS = ["Preparing", "Queueing", "Processing", "Success"]


def ok(**data: Any) -> dict[str, Any]:
    return {**data, "base_resp": {"status_code": 0, "status_msg": "success"}}


def error(code: int, msg: str) -> dict[str, Any]:
    return {"base_resp": {"status_code": code, "status_msg": msg}}


def invalid_body(body: Any) -> str | None:
    """Why MiniMax would refuse this body with 2013, or None."""
    if not isinstance(body, dict):
        return "body must be an object"
    unknown = set(body) - FIELDS
    if unknown:
        return f"unknown field(s) {sorted(unknown)}"
    if body.get("model") not in MODELS:
        return "invalid model"
    has_frame = "first_frame_image" in body
    if body["model"].endswith("-Fast") and not has_frame:
        return "Fast is image-to-video only"
    prompt = body.get("prompt")
    if prompt is None and not has_frame:
        return "prompt is required"
    if prompt is not None and (not isinstance(prompt, str) or len(prompt) > 2000):
        return "prompt must be a string of at most 2000 characters"
    if has_frame and not (isinstance(body["first_frame_image"], str)
                          and body["first_frame_image"].startswith(("data:image/", "https://"))):
        return "first_frame_image must be a URL or a data URL"
    duration = body.get("duration", 6)
    if type(duration) is not int or duration not in (6, 10):
        return "duration must be the integer 6 or 10"
    resolution = body.get("resolution", "768P")
    if resolution not in ("768P", "1080P"):
        return "resolution must be 768P or 1080P"
    if resolution == "1080P" and duration != 6:
        return "1080P supports 6 s only"
    for flag in ("prompt_optimizer", "fast_pretreatment", "aigc_watermark"):
        if flag in body and type(body[flag]) is not bool:
            return f"{flag} must be a boolean"
    if "callback_url" in body and not isinstance(body["callback_url"], str):
        return "callback_url must be a string"
    return None


@dataclass
class Task:
    body: dict[str, Any]
    steps: list[str]
    file_id: int
    queries: int = 0
    timeline: list[tuple[float, str]] | None = None  # (time.time() from which on, status)


@dataclass
class FakeMiniMax:
    """Serve the three endpoints plus video downloads; script faults per endpoint with `fail_next`."""

    api_key: str = "mm-test-key-0123456789"
    video: bytes = b""
    steps: list[str] = field(default_factory=lambda: list(STEPS))
    tasks: dict[str, Task] = field(default_factory=dict)
    submissions: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    faults: dict[str, deque[tuple[Any, ...]]] = field(default_factory=lambda: defaultdict(deque))
    expired_tokens: set[str] = field(default_factory=set)
    downloads: int = 0
    steps_for: Any = None  # optional callable giving each new task its own list of statuses
    create_delay: float = 0.0  # seconds each accepted submission takes before its task id is answered
    submitted_at: list[float] = field(default_factory=list)  # time.monotonic() of each accepted submission
    # optional callable(body) -> [(seconds after submission, status), ...]: tasks move on with time, not queries
    timeline_for: Any = None
    seen_at: dict[str, float] = field(default_factory=dict)  # task id -> time.time() of its first Success answer

    def __post_init__(self) -> None:
        self._ids = itertools.count(106916112212032)
        self._tokens = itertools.count(1)
        self.urls: dict[str, int] = {}  # download token -> file id
        app = web.Application()
        app.router.add_post("/v1/video_generation", self._create)
        app.router.add_get("/v1/query/video_generation", self._query)
        app.router.add_get("/v1/files/retrieve", self._retrieve)
        app.router.add_get("/cdn/{token}/output.mp4", self._download)
        self._runner = web.AppRunner(app)
        self._closing = asyncio.Event()

    async def start(self) -> FakeMiniMax:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        return self

    async def stop(self) -> None:
        self._closing.set()  # end stalls, so shutdown does not wait for them
        await self._runner.cleanup()

    def fail_next(self, endpoint: str, *actions: tuple[Any, ...]) -> None:
        """Queue faults for `create`, `query`, `retrieve` or `download`: ("code", n), ("http", status),
        ("html",), ("truncated",), ("reset",), ("stall", seconds)."""
        self.faults[endpoint].extend(actions)

    def done_at(self, task_id: str) -> float:
        """When (time.time()) a task with a timeline reached its last status."""
        timeline = self.tasks[task_id].timeline
        assert timeline is not None
        return timeline[-1][0]

    def expire_download_urls(self) -> None:
        """Every download address handed out so far now answers 403."""
        self.expired_tokens.update(self.urls)

    async def _fault(self, endpoint: str, request: web.Request) -> web.StreamResponse | None:
        if not self.faults[endpoint]:
            return None
        kind, *args = self.faults[endpoint].popleft()
        if kind == "code":
            return _json(error(args[0], "scripted fault"))
        if kind == "http":
            headers = {"Retry-After": str(args[1])} if len(args) > 1 else {}
            return web.Response(status=args[0], text="error", headers=headers)
        if kind == "html":
            return web.Response(status=502, text="<html><body>Bad gateway</body></html>", content_type="text/html")
        if kind == "truncated":
            return web.Response(status=200, text='{"task_id": "1", "base_', content_type="application/json")
        if kind == "stall":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), args[0])
            return None
        if kind == "reset":
            request.transport.close()  # type: ignore[union-attr]
            return web.Response(status=500)
        raise ValueError(kind)

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    async def _create(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(("create", request.path_qs))
        if not self._authorised(request):
            return _json(error(1004, "not authorized"))
        if (fault := await self._fault("create", request)) is not None:
            return fault
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _json(error(2013, "invalid params: body is not JSON"))
        if (problem := invalid_body(body)) is not None:
            return _json({"task_id": "", **error(2013, f"invalid params, {problem}")})
        self.submissions.append(body)
        self.submitted_at.append(time.monotonic())
        task_id = str(next(self._ids))
        steps = self.steps_for() if self.steps_for else list(self.steps)
        self.tasks[task_id] = Task(body, steps, next(self._ids))
        if self.timeline_for is not None:
            start = time.time()
            self.tasks[task_id].timeline = [(start + at, status) for at, status in self.timeline_for(body)]
        if self.create_delay:  # the task exists; only the answer is slow
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.create_delay)
        return _json(ok(task_id=task_id))

    async def _query(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(("query", request.path_qs))
        if not self._authorised(request):
            return _json(error(1004, "not authorized"))
        if (fault := await self._fault("query", request)) is not None:
            return fault
        task = self.tasks.get(request.query.get("task_id", ""))
        if task is None:
            return _json(error(2013, "invalid params, task not found"))
        status = task.steps[min(task.queries, len(task.steps) - 1)]
        if task.timeline is not None:
            now = time.time()
            status = [s for at, s in task.timeline if at <= now][-1]
        task.queries += 1
        if status.startswith("code:"):
            return _json(error(int(status[5:]), "scripted"))
        answer: dict[str, Any] = {"task_id": request.query["task_id"], "status": status}
        if status == "Success":
            self.seen_at.setdefault(request.query["task_id"], time.time())
            high = task.body.get("resolution") == "1080P"
            answer.update(file_id=str(task.file_id), video_width=1920 if high else 1366,
                          video_height=1080 if high else 768)
        return _json(ok(**answer))

    async def _retrieve(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(("retrieve", request.path_qs))
        if not self._authorised(request):
            return _json(error(1004, "not authorized"))
        if (fault := await self._fault("retrieve", request)) is not None:
            return fault
        raw = request.query.get("file_id", "")
        if not raw.isdigit():
            return _json(error(2013, "invalid params, file_id must be an integer"))
        token = f"t{next(self._tokens)}"
        self.urls[token] = int(raw)
        url = f"{self.base_url}/cdn/{token}/output.mp4"
        return _json(ok(file={"file_id": int(raw), "bytes": len(self.video), "created_at": 1700469398,
                              "filename": "output_aigc.mp4", "purpose": "video_generation", "download_url": url}))

    async def _download(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(("download", request.path_qs))
        if (fault := await self._fault("download", request)) is not None:
            return fault
        token = request.match_info["token"]
        if token not in self.urls or token in self.expired_tokens:
            return web.Response(status=403, text="<Error>AccessDenied: Request has expired</Error>")
        self.downloads += 1
        return web.Response(body=self.video, content_type="video/mp4")


def _json(data: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(status=status, body=json.dumps(data).encode(), content_type="application/json",
                        headers={"Trace-Id": "fake-trace"})
