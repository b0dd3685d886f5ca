"""fal's queue API for Hailuo 2.3 (providers.md section 3, "fal: queue API").

Plain httpx rather than the official `fal-client` package: the bot needs its own async client with
explicit timeouts, task ids a new process can use from the database alone, downloads streamed under
a size cap, and every failure sorted into retry / user / operator the way the poller expects, while
`fal-client` hides the HTTP status behind its own exceptions and polls on its own schedule.

The task id is fal's `request_id` alone: the status, result and cancel URLs live under the app
(`fal-ai/minimax`), not the endpoint, so they are derived from it after a restart. Results are kept
for minutes only (6 min for files of 10 KB or more), so the video is fetched as soon as it is done.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

from bot.contract import VideoRequest
from bot.images import data_url_async
from bot.providers.base import Fault, ProviderError, TaskLost, TaskState, TaskStatus
from bot.providers.http import (
    ExpiredURL,
    decode_json,
    download_client,
    fault_for_http,
    retry_after,
    stream_capped,
    transport_error,
)

log = logging.getLogger(__name__)

APP = "fal-ai/minimax"  # the queue's status, result and cancel paths drop the endpoint subpath
CONTENT_CODE = 1026  # MiniMax's code for a content refusal, so failure_reason words it as one
_IDENT = re.compile(r"[A-Za-z0-9_-]{1,128}")  # fal's request ids are UUIDs; nothing else goes in a URL path
_OPERATOR_WORDS = ("exhausted balance", "locked")  # fal's answer for an account out of credit


def endpoint_for(request: VideoRequest, *, fast: bool, has_image: bool) -> str:
    """The fal endpoint id for a request: tier by resolution, mode by image, Fast for images only."""
    tier = "pro" if request.resolution == "1080P" else "standard"
    if fast:
        if not has_image:
            raise ProviderError(Fault.USER, "the Fast model only animates an image", code="fast_needs_image")
        return f"fal-ai/minimax/hailuo-2.3-fast/{tier}/image-to-video"
    mode = "image-to-video" if has_image else "text-to-video"
    return f"fal-ai/minimax/hailuo-2.3/{tier}/{mode}"


class FalProvider:
    """Hailuo 2.3 through `POST {queue}/{endpoint}` and the queue's status/result/cancel, with `Key` auth."""

    name = "fal"

    def __init__(
        self,
        key: str,
        queue_url: str = "https://queue.fal.run",
        *,
        webhook_url: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.webhook_url = webhook_url
        self.queue_url = queue_url.rstrip("/")
        self._client = client or httpx.AsyncClient(
            base_url=self.queue_url, headers={"Authorization": f"Key {key}"},
            timeout=httpx.Timeout(30.0, connect=10.0), follow_redirects=True)
        self._downloads = download_client()  # the video comes from fal's CDN; the key never goes there

    @staticmethod
    def body(request: VideoRequest, image_url: str | None) -> dict[str, Any]:
        """The exact input fal receives: no wrapper, duration as a string, none at all for Pro."""
        # fal's schema marks `prompt` required on every endpoint, image ones included, so an
        # image-only job sends an empty prompt (MiniMax itself takes none).
        data: dict[str, Any] = {"prompt": request.prompt, "prompt_optimizer": bool(request.prompt_optimizer)}
        if request.resolution != "1080P":
            data["duration"] = str(int(request.duration))  # the docs' DurationEnum is "6" | "10"
        if image_url is not None:
            data["image_url"] = image_url
        return data  # fast_pretreatment has no fal field: it is dropped

    async def submit(self, request: VideoRequest) -> str:
        """Queue the request; return fal's request id."""
        endpoint = endpoint_for(request, fast=request.fast, has_image=request.first_frame is not None)
        image = await data_url_async(request.first_frame) if request.first_frame else None
        params = {"fal_webhook": self.webhook_url} if self.webhook_url else None
        data = await self._call("POST", f"/{endpoint}", "submit", json=self.body(request, image), params=params)
        request_id = data.get("request_id")
        if not isinstance(request_id, str) or not _IDENT.fullmatch(request_id):
            raise ProviderError(Fault.RETRY, "submit: no usable request id in the answer")
        if data.get("status_url") not in (None, self._url(request_id, "/status")):
            # Restarts derive this address from the id; say so loudly if fal ever moves it.
            log.warning("fal answered status_url %r, not the derived one", data.get("status_url"))
        return request_id

    async def status(self, task_id: str) -> TaskState:
        """Where the request is; once COMPLETED, its result (the video address, or the model's error)."""
        data = await self._call("GET", self._path(task_id, "/status"), "status", lost_on_404=True)
        status = data.get("status")
        if status == "IN_QUEUE":
            position = data.get("queue_position")
            ok = isinstance(position, int) and not isinstance(position, bool) and position >= 0
            return TaskState(task_id, TaskStatus.QUEUEING, queue_position=position if ok else None)
        if status == "IN_PROGRESS":
            return TaskState(task_id, TaskStatus.PROCESSING)
        if status == "COMPLETED":
            return await self._result(task_id)
        raise ProviderError(Fault.RETRY, f"status: unknown status {str(status)[:40]!r}")

    async def download(self, state: TaskState) -> AsyncIterator[bytes]:
        """Stream the video from fal's CDN; a file already deleted fails for good, refunded."""
        try:
            async for chunk in stream_capped(self._downloads, state.video_url or "", expired=(403, 404)):
                yield chunk
        except ExpiredURL:
            # fal deletes results minutes after completion and its file addresses never change:
            # retrying cannot bring this one back.
            raise ProviderError(Fault.OPERATOR, "fal no longer keeps this video (result expired)",
                                code="result_expired") from None

    async def cancel(self, task_id: str) -> bool:
        """Ask fal to drop a request; True when it accepted, False when it was finished or unknown."""
        try:
            response = await self._client.put(self._path(task_id, "/cancel"))
        except httpx.HTTPError as exc:
            raise transport_error(exc, "cancel") from exc
        if response.status_code in (200, 202):
            return True
        if response.status_code in (400, 404):  # ALREADY_COMPLETED, NOT_FOUND
            return False
        raise _http_error(response, "cancel")

    async def check(self) -> str:
        """One cheap authenticated call: the status of a request that does not exist."""
        try:
            await self._call("GET", self._path("0" * 32, "/status"), "check", lost_on_404=True)
        except TaskLost:
            pass  # the key was accepted; there is simply no such request
        return "fal answered and accepted the API key."

    async def aclose(self) -> None:
        """Close both HTTP clients."""
        await self._client.aclose()
        await self._downloads.aclose()

    def _path(self, task_id: str, suffix: str = "") -> str:
        if not _IDENT.fullmatch(task_id):
            raise TaskLost("not a fal request id")
        return f"/{APP}/requests/{task_id}{suffix}"

    def _url(self, task_id: str, suffix: str = "") -> str:
        return f"{self.queue_url}{self._path(task_id, suffix)}"

    async def _result(self, task_id: str) -> TaskState:
        response = await self._send("GET", self._path(task_id), "result")
        if response.status_code == 200:
            data = decode_json(response, "result")
            video = data.get("video")
            url = video.get("url") if isinstance(video, dict) else None
            if isinstance(url, str) and url:
                return TaskState(task_id, TaskStatus.SUCCESS, video_url=url)
            if "detail" not in data:
                raise ProviderError(Fault.RETRY, "result: finished without a video address")
            return TaskState(task_id, TaskStatus.FAIL, error=_model_error(response, data))
        if response.status_code in (401, 402, 403, 404, 429):
            raise _http_error(response, "result", lost_on_404=True)  # 404: fal deleted the result
        data = _json_or_none(response)
        typed = data is not None and (data.get("error_type") or response.headers.get("x-fal-error-type"))
        if data is None or "detail" not in data or (response.status_code >= 500 and not typed):
            # A gateway hiccup, not the request's stored outcome (which names its error_type): ask
            # again later rather than pay for the same video twice.
            raise _http_error(response, "result")
        return TaskState(task_id, TaskStatus.FAIL, error=_model_error(response, data))

    async def _send(self, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise transport_error(exc, what) from exc

    async def _call(self, method: str, path: str, what: str, *, lost_on_404: bool = False,
                    **kwargs: Any) -> dict[str, Any]:
        response = await self._send(method, path, what, **kwargs)
        if response.status_code not in (200, 201, 202):  # the queue answers 202 while a request waits
            raise _http_error(response, what, lost_on_404=lost_on_404)
        return decode_json(response, what)


def _json_or_none(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _detail_text(data: dict[str, Any] | None) -> str:
    """fal's `detail`: a string for request errors, a list of typed objects for model errors."""
    detail = (data or {}).get("detail")
    if isinstance(detail, list):
        parts = [f"{d.get('type', '')}: {d.get('msg', '')}" for d in detail if isinstance(d, dict)]
        return "; ".join(parts)[:200]
    return str(detail or "")[:200]


def _error_types(data: dict[str, Any]) -> set[str]:
    detail = data.get("detail")
    if not isinstance(detail, list):
        return set()
    return {str(d.get("type")) for d in detail if isinstance(d, dict)}


def _model_error(response: httpx.Response, data: dict[str, Any]) -> ProviderError:
    """A finished request's error: content and validation refusals are the user's, the rest passing."""
    text = _detail_text(data)
    if "content_policy_violation" in _error_types(data):
        return ProviderError(Fault.USER, f"result: {text}", code=CONTENT_CODE)
    if response.status_code in (400, 413, 422):
        return ProviderError(Fault.USER, f"result: {text}", code=response.status_code)
    kind = data.get("error_type") or response.headers.get("x-fal-error-type") or response.status_code
    return ProviderError(Fault.RETRY, f"result: {kind} {text}".strip(), code=kind)


def _http_error(response: httpx.Response, what: str, *, lost_on_404: bool = False) -> ProviderError:
    status = response.status_code
    if status == 404 and lost_on_404:
        return TaskLost(f"{what}: fal no longer knows this request")
    data = _json_or_none(response)
    text = _detail_text(data) or response.text[:200]
    fault = fault_for_http(status)
    code: int | str = status
    if status < 500 and any(word in text.lower() for word in _OPERATOR_WORDS):
        fault = Fault.OPERATOR  # out of credit or locked: no retry helps until someone tops up
    elif data is not None and "content_policy_violation" in _error_types(data):
        fault, code = Fault.USER, CONTENT_CODE
    return ProviderError(fault, f"{what}: HTTP {status} {text}".strip(), code=code,
                         retry_after=retry_after(response))


def webhook_task(body: bytes) -> str | None:
    """The request id of a fal webhook push, or None for anything malformed; never raises."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError, TypeError):  # not JSON, not UTF-8, or nested past the parser's stack
        return None
    if not isinstance(data, dict):
        return None
    request_id, status = data.get("request_id"), data.get("status")
    if not isinstance(request_id, str) or not _IDENT.fullmatch(request_id):
        return None
    if status not in ("OK", "ERROR") or not isinstance(data.get("payload", {}), dict | None):
        return None
    return request_id
