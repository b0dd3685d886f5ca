"""A local fake of Replicate's predictions API that enforces the wire format (providers.md section 3)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

MODELS = {"minimax/hailuo-2.3", "minimax/hailuo-2.3-fast"}
INPUT_FIELDS = {"prompt", "first_frame_image", "duration", "resolution", "prompt_optimizer"}
TOP_FIELDS = {"input", "webhook", "webhook_events_filter"}
EVENTS = {"start", "output", "logs", "completed"}
STEPS = ["starting", "processing", "processing", "succeeded"]
TERMINAL = {"succeeded", "failed", "canceled", "aborted"}


def invalid_input(model: str, body: Any) -> str | None:
    """Why Replicate would refuse this create body with 422, or None."""
    if not isinstance(body, dict):
        return "body must be an object"
    if unknown := set(body) - TOP_FIELDS:
        return f"Additional property {sorted(unknown)[0]} is not allowed"
    if "webhook" in body and not (isinstance(body["webhook"], str) and body["webhook"].startswith("http")):
        return "webhook must be a URL"
    events = body.get("webhook_events_filter", [])
    if not isinstance(events, list) or not all(isinstance(e, str) and e in EVENTS for e in events):
        return "webhook_events_filter must be a list of start, output, logs, completed"
    data = body.get("input")
    if not isinstance(data, dict):
        return "input is required"
    if unknown := set(data) - INPUT_FIELDS:
        return f"input: Additional property {sorted(unknown)[0]} is not allowed"
    prompt = data.get("prompt", "")
    if not isinstance(prompt, str):
        return "input.prompt: Invalid type. Expected: string"
    frame = data.get("first_frame_image")
    if frame is not None and not (isinstance(frame, str) and frame.startswith(("data:image/", "https://"))):
        return "input.first_frame_image: Does not match format 'uri'"
    if model.endswith("-fast") and frame is None:
        return "input: first_frame_image is required"
    if not prompt and frame is None:
        return "input: prompt is required"
    duration = data.get("duration", 6)
    if type(duration) is not int or duration not in (6, 10):
        return "input.duration: must be one of the following: 6, 10"
    resolution = data.get("resolution", "768p")
    if resolution not in ("768p", "1080p"):
        return "input.resolution: must be one of the following: \"768p\", \"1080p\""
    if resolution == "1080p" and duration != 6:
        return "1080p supports 6 second videos only"
    if "prompt_optimizer" in data and type(data["prompt_optimizer"]) is not bool:
        return "input.prompt_optimizer: Invalid type. Expected: boolean"
    return None


def sign(secret: str, msg_id: str, stamp: int, body: bytes) -> str:
    """The Standard Webhooks `webhook-signature` value for `body`."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass
class Prediction:
    id: str
    model: str
    body: dict[str, Any]
    steps: list[str]
    gets: int = 0
    status: str = "starting"
    error: str | None = None


@dataclass
class FakeReplicate:
    """Serve create, get, cancel, account and output files; script faults per endpoint with `fail_next`."""

    token: str = "r8_fake_token_0123456789abcdef"
    webhook_secret: str = "whsec_" + base64.b64encode(b"fake-replicate-signing-key-0001").decode()
    video: bytes = b""
    steps: list[str] = field(default_factory=lambda: list(STEPS))  # "failed:<error text>" fails with that text
    steps_for: Any = None  # optional callable giving each new prediction its own list of steps
    output_as_list: bool = False  # answer `output` as a one-element list, as some docs show
    predictions: dict[str, Prediction] = field(default_factory=dict)
    submissions: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    faults: dict[str, deque[tuple[Any, ...]]] = field(default_factory=lambda: defaultdict(deque))
    download_auth: list[str | None] = field(default_factory=list)  # the Authorization header of each download
    pushes: list[tuple[str, int]] = field(default_factory=list)  # (webhook URL, its answer) per push sent

    def __post_init__(self) -> None:
        self._ids = (f"fakepred{n:018d}" for n in itertools.count(1))
        self._messages = itertools.count(1)
        self._sending: set[asyncio.Task[None]] = set()
        app = web.Application()
        app.router.add_post("/v1/models/{owner}/{name}/predictions", self._create)
        app.router.add_get("/v1/predictions/{id}", self._get)
        app.router.add_post("/v1/predictions/{id}/cancel", self._cancel)
        app.router.add_get("/v1/account", self._account)
        app.router.add_get("/v1/webhooks/default/secret", self._secret)
        app.router.add_get("/files/{id}/output.mp4", self._download)
        self._runner = web.AppRunner(app)

    async def start(self) -> FakeReplicate:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.host = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.host}/v1"
        return self

    async def stop(self) -> None:
        await self.delivered()
        await self._runner.cleanup()

    def fail_next(self, endpoint: str, *actions: tuple[Any, ...]) -> None:
        """Queue faults for `create`, `get`, `cancel` or `download`: ("http", status[, retry_after]), ("html",)."""
        self.faults[endpoint].extend(actions)

    def expire(self, prediction_id: str) -> None:
        """An hour has passed: the prediction, its input and its output file are deleted."""
        self.predictions.pop(prediction_id, None)

    async def delivered(self) -> None:
        """Wait until every webhook push under way has been answered."""
        while self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    def as_json(self, pred: Prediction) -> dict[str, Any]:
        """The prediction object as Replicate shows it."""
        output: Any = None
        if pred.status == "succeeded":
            url = f"{self.host}/files/{pred.id}/output.mp4"
            output = [url] if self.output_as_list else url
        get = f"{self.base_url}/predictions/{pred.id}"
        return {"id": pred.id, "model": pred.model, "version": "hidden", "input": pred.body["input"], "logs": "",
                "output": output, "error": pred.error, "status": pred.status, "data_removed": False,
                "created_at": "2025-11-01T12:00:00.000Z", "urls": {"get": get, "cancel": f"{get}/cancel"}}

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    def _fault(self, endpoint: str) -> web.Response | None:
        if not self.faults[endpoint]:
            return None
        kind, *args = self.faults[endpoint].popleft()
        if kind == "http":
            headers = {"Retry-After": str(args[1])} if len(args) > 1 else {}
            return _problem(args[0], "scripted fault", headers=headers)
        if kind == "html":
            return web.Response(status=502, text="<html><body>Bad gateway</body></html>", content_type="text/html")
        raise ValueError(kind)

    async def _create(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(("create", request.path))
        if not self._authorised(request):
            return _problem(401, "You did not pass a valid authentication token")
        if (fault := self._fault("create")) is not None:
            return fault
        model = f"{request.match_info['owner']}/{request.match_info['name']}"
        if model not in MODELS:
            return _problem(404, "The requested resource could not be found.")
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _problem(400, "body is not JSON")
        if (problem := invalid_input(model, body)) is not None:
            return _problem(422, problem)
        self.submissions.append(body)
        pred = Prediction(next(self._ids), model, body, self.steps_for() if self.steps_for else list(self.steps))
        self.predictions[pred.id] = pred
        return _json(self.as_json(pred), 201)

    async def _get(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(("get", request.path))
        if not self._authorised(request):
            return _problem(401, "You did not pass a valid authentication token")
        if (fault := self._fault("get")) is not None:
            return fault
        pred = self.predictions.get(request.match_info["id"])
        if pred is None:
            return _problem(404, "The requested resource could not be found.")
        if pred.status not in TERMINAL:  # the walk: one step further on each GET
            self._move(pred, pred.steps[min(pred.gets, len(pred.steps) - 1)])
            pred.gets += 1
        return _json(self.as_json(pred))

    async def _cancel(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(("cancel", request.path))
        if not self._authorised(request):
            return _problem(401, "You did not pass a valid authentication token")
        if (fault := self._fault("cancel")) is not None:
            return fault
        pred = self.predictions.get(request.match_info["id"])
        if pred is None:
            return _problem(404, "The requested resource could not be found.")
        if pred.status not in TERMINAL:
            self._move(pred, "canceled")
        return _json(self.as_json(pred))

    async def _account(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            return _problem(401, "You did not pass a valid authentication token")
        return _json({"type": "user", "username": "fake-user", "name": "Fake User"})

    async def _secret(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            return _problem(401, "You did not pass a valid authentication token")
        return _json({"key": self.webhook_secret})

    async def _download(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(("download", request.path))
        self.download_auth.append(request.headers.get("Authorization"))
        if (fault := self._fault("download")) is not None:
            return fault
        pred = self.predictions.get(request.match_info["id"])
        if pred is None or pred.status != "succeeded":
            return web.Response(status=404, text="Not found")
        return web.Response(body=self.video, content_type="video/mp4")

    def _move(self, pred: Prediction, step: str) -> None:
        status, _, error = step.partition(":")
        pred.status, pred.error = status, (error or None)
        if status in TERMINAL and pred.body.get("webhook"):
            events = pred.body.get("webhook_events_filter") or sorted(EVENTS)
            if "completed" in events:
                task = asyncio.get_running_loop().create_task(self._push(pred.body["webhook"], self.as_json(pred)))
                self._sending.add(task)
                task.add_done_callback(self._sending.discard)

    async def _push(self, url: str, prediction: dict[str, Any]) -> None:
        body = json.dumps(prediction).encode()
        msg_id, stamp = f"msg_fake{next(self._messages)}", int(time.time())
        headers = {"Content-Type": "application/json", "webhook-id": msg_id, "webhook-timestamp": str(stamp),
                   "webhook-signature": sign(self.webhook_secret, msg_id, stamp, body)}
        try:
            async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as answer:
                self.pushes.append((url, answer.status))
        except aiohttp.ClientError:
            self.pushes.append((url, 0))


def _json(data: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(status=status, body=json.dumps(data).encode(), content_type="application/json")


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> web.Response:
    titles = {401: "Unauthenticated", 404: "Not found", 422: "Input validation failed", 429: "Request was throttled"}
    body = {"title": titles.get(status, "Error"), "detail": detail, "status": status}
    return web.Response(status=status, body=json.dumps(body).encode(), content_type="application/problem+json",
                        headers=headers or {})
