"""A strict local fake of fal's queue API for Hailuo 2.3 (providers.md section 3, "fal: queue API")."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

APP = "fal-ai/minimax"
# endpoint id -> (tier, takes an image). Fast has no text-to-video: it answers 404 like any unknown id.
ENDPOINTS = {
    f"{APP}/hailuo-2.3/{tier}/{mode}": (tier, mode == "image-to-video")
    for tier in ("standard", "pro") for mode in ("text-to-video", "image-to-video")
} | {f"{APP}/hailuo-2.3-fast/{tier}/image-to-video": (tier, True) for tier in ("standard", "pro")}
LOCKED = "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing."


def _problem(loc: str, msg: str, kind: str = "value_error") -> dict[str, Any]:
    return {"loc": ["body", loc], "msg": msg, "type": kind}


def input_problems(endpoint: str, body: Any) -> list[dict[str, Any]]:
    """Why fal would refuse this input with a 422 (pydantic-style `detail` items); [] when it is fine."""
    if not isinstance(body, dict):
        return [_problem("body", "Input should be a valid dictionary", "dict_type")]
    tier, takes_image = ENDPOINTS[endpoint]
    allowed = {"prompt", "prompt_optimizer", "duration"} | ({"image_url"} if takes_image else set())
    problems = [_problem(k, "Extra inputs are not permitted", "extra_forbidden") for k in sorted(set(body) - allowed)]
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        problems.append(_problem("prompt", "Field required" if prompt is None else "Input should be a string"))
    elif len(prompt) > 2000 or (not takes_image and not prompt.strip()):
        problems.append(_problem("prompt", "prompt must be 1 to 2000 characters"))
    if "prompt_optimizer" in body and type(body["prompt_optimizer"]) is not bool:
        problems.append(_problem("prompt_optimizer", "Input should be a valid boolean", "bool_type"))
    if "duration" in body:
        # The docs say the string enum "6" | "10"; some notes say an integer: accept both spellings.
        duration = body["duration"]
        seconds = duration if type(duration) is int else int(duration) if duration in ("6", "10") else None
        if seconds not in (6, 10):
            problems.append(_problem("duration", "Input should be '6' or '10'", "enum"))
        elif tier == "pro" and seconds != 6:
            problems.append(_problem("duration", "Pro (1080p) makes 6 second videos only", "enum"))
    if takes_image:
        image = body.get("image_url")
        if not isinstance(image, str) or not image.startswith(("data:image/", "https://", "http://")):
            problems.append(_problem("image_url", "image_url must be a URL or an image data URI"))
    return problems


@dataclass
class Request:
    endpoint: str
    body: dict[str, Any]
    steps: list[tuple[str, int | None]]
    webhook: str | None
    error: str | None = None  # a forced model error this request ends with
    polls: int = 0
    completed_at: float | None = None
    cancelled: bool = False
    token: str = ""


@dataclass
class FakeFal:
    """Serve fal's queue for the six Hailuo 2.3 endpoints, plus the result files; script faults with `fail_next`."""

    key: str = "fal-key-id:0123456789abcdef"
    video: bytes = b""
    queued_polls: int = 2  # status GETs answered IN_QUEUE, with the position counting down to 0
    progress_polls: int = 1  # then IN_PROGRESS this many times, then COMPLETED
    retention: float = 360.0  # seconds a result and its file live after completion (fal: 6 min from 10 KB)
    clock: Callable[[], float] = time.monotonic
    locked: bool = False  # the account is out of credit: every call answers 403 "Exhausted balance"
    requests: dict[str, Request] = field(default_factory=dict)
    submissions: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (endpoint, input) accepted
    calls: list[tuple[str, str]] = field(default_factory=list)  # (what, path and query) of every call
    faults: dict[str, deque[tuple[Any, ...]]] = field(default_factory=lambda: defaultdict(deque))
    model_errors: deque[str] = field(default_factory=deque)
    pushes: list[tuple[str, int]] = field(default_factory=list)  # (webhook url, its answer's status)
    downloads: int = 0

    def __post_init__(self) -> None:
        self._tokens = itertools.count(1)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        for endpoint in ENDPOINTS:
            app.router.add_post(f"/{endpoint}", self._submit)
        app.router.add_get(f"/{APP}/requests/{{rid}}/status", self._status)
        app.router.add_get(f"/{APP}/requests/{{rid}}", self._result)
        app.router.add_put(f"/{APP}/requests/{{rid}}/cancel", self._cancel)
        app.router.add_get("/files/{token}/output.mp4", self._file)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        self._runner = web.AppRunner(app)

    async def start(self) -> FakeFal:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.queue_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def stop(self) -> None:
        await self._runner.cleanup()

    def fail_next(self, what: str, *actions: tuple[Any, ...]) -> None:
        """Queue faults for `submit`, `status`, `result`, `cancel` or `file`: ("http", status[, retry_after]),
        ("html",), ("reset",)."""
        self.faults[what].extend(actions)

    def fail_model_next(self, *kinds: str) -> None:
        """The next submitted requests end in a model error: "content", "validation" or "timeout"."""
        self.model_errors.extend(kinds)

    async def finish(self, rid: str) -> None:
        """Complete a request at once, as fal does without being asked (and push it to its webhook)."""
        request = self.requests[rid]
        request.polls = len(request.steps) - 1
        await self._complete(rid, request)

    # -- handlers -------------------------------------------------------------------------------------

    async def _submit(self, request: web.Request) -> web.StreamResponse:
        endpoint = request.path.lstrip("/")
        if (refusal := await self._gate("submit", request)) is not None:
            return refusal
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _json({"detail": "Invalid JSON body"}, 400)
        if problems := input_problems(endpoint, body):
            return _json({"detail": problems}, 422)
        rid = str(uuid.uuid4())
        steps = [("IN_QUEUE", n) for n in range(self.queued_polls - 1, -1, -1)]
        steps += [("IN_PROGRESS", None)] * self.progress_polls + [("COMPLETED", None)]
        error = self.model_errors.popleft() if self.model_errors else None
        self.requests[rid] = Request(endpoint, body, steps, request.query.get("fal_webhook"), error)
        self.submissions.append((endpoint, body))
        return _json({"request_id": rid, "gateway_request_id": rid, **self._urls(rid)})

    async def _status(self, request: web.Request) -> web.StreamResponse:
        if (refusal := await self._gate("status", request)) is not None:
            return refusal
        rid, task = self._find(request)
        if task is None:
            return _json({"detail": "Request not found"}, 404)
        status, position = task.steps[min(task.polls, len(task.steps) - 1)]
        task.polls += 1
        if status == "COMPLETED":
            await self._complete(rid, task)
        answer: dict[str, Any] = {"status": status, **self._urls(rid)}
        if position is not None:
            answer["queue_position"] = position
        return _json(answer, 200 if status == "COMPLETED" else 202)

    async def _result(self, request: web.Request) -> web.StreamResponse:
        if (refusal := await self._gate("result", request)) is not None:
            return refusal
        _, task = self._find(request)
        if task is None:
            return _json({"detail": "Request not found"}, 404)
        if task.completed_at is None:
            return _json({"detail": "Request is still in progress"}, 400)
        if task.cancelled:
            return _json({"detail": "Request was cancelled"}, 400)
        if task.error == "content":
            return _json({"detail": [{**_problem("prompt", "The content was flagged by a content checker.",
                                                 "content_policy_violation"), "categories": ["violence"]}]}, 422)
        if task.error == "validation":
            return _json({"detail": [_problem("image_url", "Image is too small (min 300px)")]}, 422)
        if task.error == "timeout":
            return web.json_response({"detail": "Request timed out", "error_type": "request_timeout"}, status=504,
                                     headers={"X-Fal-Error-Type": "request_timeout", "X-Fal-Retryable": "true"})
        url = f"{self.queue_url}/files/{task.token}/output.mp4"
        return _json({"video": {"url": url, "content_type": "video/mp4", "file_name": "output.mp4",
                                "file_size": len(self.video)}})

    async def _cancel(self, request: web.Request) -> web.StreamResponse:
        if (refusal := await self._gate("cancel", request)) is not None:
            return refusal
        _, task = self._find(request)
        if task is None:
            return _json({"status": "NOT_FOUND"}, 404)
        if task.completed_at is not None:
            return _json({"status": "ALREADY_COMPLETED"}, 400)
        task.cancelled = True
        task.steps = [("COMPLETED", None)]  # fal ends it; its result says so
        return _json({"status": "CANCELLATION_REQUESTED"}, 202)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        self.calls.append(("file", request.path_qs))
        if (fault := self._fault("file", request)) is not None:
            return fault
        token = request.match_info["token"]
        task = next((t for t in self.requests.values() if t.token == token and t.token), None)
        if task is None or self._expired(task):
            return web.Response(status=404, text="Not Found")
        self.downloads += 1
        return web.Response(body=self.video, content_type="video/mp4")

    async def _unknown(self, request: web.Request) -> web.StreamResponse:
        self.calls.append(("unknown", request.path_qs))
        return _json({"detail": f"Application {request.path.lstrip('/')!r} not found"}, 404)

    # -- helpers --------------------------------------------------------------------------------------

    async def _gate(self, what: str, request: web.Request) -> web.StreamResponse | None:
        """Record the call; refuse a wrong key or a locked account; play a scripted fault."""
        self.calls.append((what, request.path_qs))
        if request.headers.get("Authorization") != f"Key {self.key}":
            return _json({"detail": "Unauthorized: invalid key"}, 401)
        if self.locked:
            return _json({"detail": LOCKED}, 403)
        return self._fault(what, request)

    def _fault(self, what: str, request: web.Request) -> web.StreamResponse | None:
        if not self.faults[what]:
            return None
        kind, *args = self.faults[what].popleft()
        if kind == "http":
            headers = {"Retry-After": str(args[1])} if len(args) > 1 else {}
            return _json({"detail": "scripted fault"}, args[0], headers)
        if kind == "html":
            return web.Response(status=502, text="<html><body>Bad gateway</body></html>", content_type="text/html")
        if kind == "reset":
            request.transport.close()  # type: ignore[union-attr]
            return web.Response(status=500)
        raise ValueError(kind)

    def _find(self, request: web.Request) -> tuple[str, Request | None]:
        rid = request.match_info["rid"]
        task = self.requests.get(rid)
        return rid, None if task is None or self._expired(task) else task

    def _expired(self, task: Request) -> bool:
        return task.completed_at is not None and self.clock() - task.completed_at > self.retention

    def _urls(self, rid: str) -> dict[str, str]:
        base = f"{self.queue_url}/{APP}/requests/{rid}"
        return {"response_url": base, "status_url": f"{base}/status", "cancel_url": f"{base}/cancel"}

    async def _complete(self, rid: str, task: Request) -> None:
        if task.completed_at is not None:
            return
        task.completed_at = self.clock()
        task.token = f"t{next(self._tokens)}"
        if task.webhook:
            ok = task.error is None and not task.cancelled
            payload = {"video": {"url": f"{self.queue_url}/files/{task.token}/output.mp4"}} if ok else None
            push = {"request_id": rid, "gateway_request_id": rid, "status": "OK" if ok else "ERROR",
                    "payload": payload, **({} if ok else {"error": "Request failed"})}
            async with aiohttp.ClientSession() as session, session.post(task.webhook, json=push) as answer:
                self.pushes.append((task.webhook, answer.status))


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=json.dumps(data).encode(), content_type="application/json",
                        headers=headers or {})
