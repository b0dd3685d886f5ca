"""MiniMax's own video API (providers.md section 1): create, query, retrieve, download."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx

from bot.contract import VideoRequest
from bot.images import data_url_async
from bot.providers.base import Fault, ProviderError, TaskState, TaskStatus
from bot.providers.http import (
    ExpiredURL,
    api_client,
    decode_json,
    download_client,
    fault_for_code,
    fault_for_http,
    retry_after,
    stream_capped,
    transport_error,
)

log = logging.getLogger(__name__)

FAST_MODEL = "MiniMax-Hailuo-2.3-Fast"
STANDARD_MODEL = "MiniMax-Hailuo-2.3"
_STATES = {
    "Preparing": TaskStatus.PREPARING,
    "Queueing": TaskStatus.QUEUEING,
    "Processing": TaskStatus.PROCESSING,
    "Success": TaskStatus.SUCCESS,
    "Fail": TaskStatus.FAIL,
    "Failed": TaskStatus.FAIL,  # the docs say Fail; an official client checks Failed; accept both
}


class MiniMaxProvider:
    """Hailuo 2.3 through `POST /v1/video_generation` and friends, authenticated with a Bearer key."""

    name = "minimax"

    def __init__(
        self,
        api_key: str,
        base_url: str = "https://api.minimax.io",
        model: str = "MiniMax-Hailuo-2.3",
        *,
        callback_url: str | None = None,
        timeout: float = 30.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.model = model
        self.callback_url = callback_url
        self._client = client or api_client(base_url, api_key, timeout)
        self._downloads = download_client()

    def body(self, request: VideoRequest, first_frame: str | None) -> dict[str, Any]:
        """The exact JSON the API receives for `request`."""
        if request.fast and first_frame is None:
            raise ProviderError(Fault.USER, "the Fast model only animates an image", code="fast_needs_image")
        body: dict[str, Any] = {
            # MINIMAX_MODEL names the standard model; set to the Fast one it only made that the default (bot/models.py).
            "model": FAST_MODEL if request.fast else (STANDARD_MODEL if self.model == FAST_MODEL else self.model),
            "duration": int(request.duration),
            "resolution": request.resolution,
            "prompt_optimizer": bool(request.prompt_optimizer),
            "fast_pretreatment": bool(request.fast_pretreatment),
        }
        if request.prompt:
            body["prompt"] = request.prompt
        if first_frame is not None:
            body["first_frame_image"] = first_frame
        if self.callback_url:
            body["callback_url"] = self.callback_url
        return body

    async def submit(self, request: VideoRequest) -> str:
        """Create the task; return MiniMax's task id."""
        frame = await data_url_async(request.first_frame) if request.first_frame else None
        data = await self._call("POST", "/v1/video_generation", "submit", json=self.body(request, frame))
        task_id = str(data.get("task_id") or "")
        if not task_id:
            raise ProviderError(Fault.RETRY, "submit: no task id in the answer")
        return task_id

    async def status(self, task_id: str) -> TaskState:
        """Query the task; on success also fetch the download address."""
        data = await self._call("GET", "/v1/query/video_generation", "status", params={"task_id": task_id})
        state = _STATES.get(str(data.get("status")))
        if state is None:
            raise ProviderError(Fault.RETRY, f"status: unknown status {data.get('status')!r}")
        if state is not TaskStatus.SUCCESS:
            return TaskState(task_id, state)
        file_id = str(data.get("file_id") or "")
        if not file_id:
            raise ProviderError(Fault.RETRY, "status: success without a file id")
        return TaskState(task_id, state, video_url=await self._download_url(file_id), file_id=file_id)

    async def download(self, state: TaskState) -> AsyncIterator[bytes]:
        """Stream the video; an expired address (403/404) is renewed once through files/retrieve."""
        url = state.video_url or ""
        for attempt in (1, 2):
            try:
                async for chunk in stream_capped(self._downloads, url, expired=(403, 404) if attempt == 1 else ()):
                    yield chunk
                return
            except ExpiredURL:
                log.info("task %s: download address expired; asking for a fresh one", state.task_id)
                if state.file_id:
                    url = await self._download_url(state.file_id)
                else:  # a query of a finished task answers with a fresh address
                    url = (await self.status(state.task_id)).video_url or ""

    async def check(self) -> str:
        """One cheap authenticated call: querying a task that does not exist."""
        try:
            await self._call("GET", "/v1/query/video_generation", "check", params={"task_id": "0"})
        except ProviderError as exc:
            if exc.fault is Fault.OPERATOR:
                raise
            if exc.fault is Fault.RETRY and not isinstance(exc.code, int):
                raise  # could not reach the service at all
        return f"MiniMax answered and accepted the API key (model {self.model})."

    async def aclose(self) -> None:
        """Close both HTTP clients."""
        await self._client.aclose()
        await self._downloads.aclose()

    async def _download_url(self, file_id: str) -> str:
        try:
            numeric = int(file_id)  # a string in the query answer, an integer here
        except ValueError:
            raise ProviderError(Fault.RETRY, f"retrieve: bad file id {file_id!r}") from None
        data = await self._call("GET", "/v1/files/retrieve", "retrieve", params={"file_id": numeric})
        url = (data.get("file") or {}).get("download_url")
        if not url:
            raise ProviderError(Fault.RETRY, "retrieve: no download address")
        return str(url)

    async def _call(self, method: str, path: str, what: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise transport_error(exc, what) from exc
        if response.status_code != 200:
            raise ProviderError(fault_for_http(response.status_code), f"{what}: HTTP {response.status_code}",
                                code=response.status_code, retry_after=retry_after(response))
        data = decode_json(response, what)
        base = data.get("base_resp") or {}
        code = int(base.get("status_code") or 0)
        if code != 0:
            message = str(base.get("status_msg") or "error")[:200]
            trace = response.headers.get("trace-id", "")
            raise ProviderError(fault_for_code(code), f"{what}: {code} {message} {trace}".strip(), code=code,
                                retry_after=retry_after(response))
        return data
