"""Cloudflare Workers AI's proxied `minimax/hailuo-2.3` (providers.md section 2).

The REST call blocks until the video is done, so `submit` starts it as a tracked background
request and returns an id of our own at once; `status` reports on that request. The request lives
in memory only: after a restart `status` raises TaskLost, and the poller resubmits the job once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx

from bot.contract import VideoRequest
from bot.images import data_url_async
from bot.providers.base import Fault, ProviderError, TaskLost, TaskState, TaskStatus
from bot.providers.http import (
    api_client,
    decode_json,
    download_client,
    fault_for_http,
    retry_after,
    stream_capped,
    transport_error,
)
from bot.tasks import TaskSupervisor

log = logging.getLogger(__name__)

MODEL = "minimax/hailuo-2.3"
FAST_MODEL = "minimax/hailuo-2.3-fast"  # image-to-video only: its schema requires first_frame_image
_OPERATOR_ERRORS = {2021, 10000, 10001}  # invalid credentials, authentication errors


class CloudflareProvider:
    """Hailuo 2.3 via `POST {base}/accounts/{account}/ai/run` with the model in the body."""

    name = "cloudflare"

    def __init__(
        self,
        account_id: str,
        api_token: str,
        base_url: str = "https://api.cloudflare.com/client/v4",
        *,
        supervisor: TaskSupervisor,
        timeout: float = 900.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.account_id = account_id
        self.supervisor = supervisor
        self._client = client or api_client(base_url, api_token, timeout)
        self._downloads = download_client()
        self._results: dict[str, TaskState | ProviderError | None] = {}
        self._calls: dict[str, asyncio.Task[None]] = {}

    @staticmethod
    def body(request: VideoRequest, first_frame: str | None) -> dict[str, Any]:
        """The exact JSON Workers AI receives: the four required fields always, no callback_url."""
        data: dict[str, Any] = {
            "prompt_optimizer": bool(request.prompt_optimizer),
            "fast_pretreatment": bool(request.fast_pretreatment),
            "duration": int(request.duration),
            "resolution": request.resolution,
        }
        if request.prompt:
            data["prompt"] = request.prompt
        if first_frame is not None:
            data["first_frame_image"] = first_frame
        return {"model": FAST_MODEL if request.fast else MODEL, "input": data}

    async def submit(self, request: VideoRequest) -> str:
        """Start the blocking call in the background; return our own task id for it."""
        frame = await data_url_async(request.first_frame) if request.first_frame else None
        body = self.body(request, frame)
        task_id = f"cf-{uuid.uuid4().hex}"
        self._results[task_id] = None
        self._calls[task_id] = self.supervisor.start(self._run(task_id, body), name=f"cloudflare-{task_id}")
        return task_id

    async def status(self, task_id: str) -> TaskState:
        """Processing while the call is on the wire; then its result.

        A call that failed in a retryable way comes back as FAIL carrying a RETRY error (the poller
        sends the job again); a user or operator fault is raised as ProviderError; a task this
        process never started (a restart) raises TaskLost.
        """
        if task_id not in self._results:
            raise TaskLost("the Cloudflare call was cut off by a restart")
        result = self._results[task_id]
        if result is None:
            return TaskState(task_id, TaskStatus.PROCESSING)
        self._results.pop(task_id, None)
        if isinstance(result, ProviderError):
            if result.fault is Fault.RETRY:
                return TaskState(task_id, TaskStatus.FAIL, error=result)
            raise result
        return result

    async def download(self, state: TaskState) -> AsyncIterator[bytes]:
        """Stream the finished video from the address in `result.video`."""
        async for chunk in stream_capped(self._downloads, state.video_url or ""):
            yield chunk

    async def check(self) -> str:
        """One cheap authenticated call: verify the API token."""
        try:
            response = await self._client.get("/user/tokens/verify")
        except httpx.HTTPError as exc:
            raise transport_error(exc, "check") from exc
        data = decode_json(response, "check")
        if response.status_code != 200 or not data.get("success"):
            raise _envelope_error(response, data, "check")
        return f"Cloudflare accepted the API token (account {self.account_id[:6]}...)."

    async def aclose(self) -> None:
        """Cancel calls under way and close the clients."""
        for call in list(self._calls.values()):
            call.cancel()
        await asyncio.gather(*self._calls.values(), return_exceptions=True)
        await self._client.aclose()
        await self._downloads.aclose()

    async def _run(self, task_id: str, body: dict[str, Any]) -> None:
        try:
            self._results[task_id] = await self._post(task_id, body)
        except ProviderError as exc:
            self._results[task_id] = exc
        finally:
            self._calls.pop(task_id, None)

    async def _post(self, task_id: str, body: dict[str, Any]) -> TaskState:
        try:
            response = await self._client.post(f"/accounts/{self.account_id}/ai/run", json=body)
        except httpx.HTTPError as exc:
            raise transport_error(exc, "run") from exc
        data = decode_json(response, "run")
        if response.status_code != 200 or data.get("success") is False:
            raise _envelope_error(response, data, "run")
        result = data.get("result") or {}
        if result.get("status") == "Fail" or data.get("state") == "Failed":
            return TaskState(task_id, TaskStatus.FAIL)
        video = result.get("video")
        if not video:
            raise ProviderError(Fault.RETRY, "run: finished without a video address")
        return TaskState(task_id, TaskStatus.SUCCESS, video_url=str(video))


def _envelope_error(response: httpx.Response, data: dict[str, Any], what: str) -> ProviderError:
    errors = data.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    code = first.get("code")
    message = str(first.get("message") or f"HTTP {response.status_code}")[:200]
    fault = fault_for_http(response.status_code) if response.status_code != 200 else Fault.USER
    if code in _OPERATOR_ERRORS:
        fault = Fault.OPERATOR
    return ProviderError(fault, f"{what}: {code or response.status_code} {message}",
                         code=code or response.status_code, retry_after=retry_after(response))
