"""Replicate's official `minimax/hailuo-2.3` model (providers.md section 3): predictions over HTTP.

We talk to Replicate with httpx rather than the official `replicate` client: the bot needs async
calls with explicit timeouts, videos streamed to disk under a size cap with no API key sent to the
CDN, and every failure classified as retry / user / operator by our own rules, and the client's
`run`/`FileOutput` layer hides the HTTP status and retry headers those rules need. Four JSON
endpoints are less code to own than a dependency to wrap.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from bot.contract import VideoRequest
from bot.images import data_url_async
from bot.models import replicate_models
from bot.providers.base import Fault, ProviderError, TaskLost, TaskState, TaskStatus
from bot.providers.http import (
    ExpiredURL,
    api_client,
    decode_json,
    download_client,
    fault_for_http,
    retry_after,
    stream_capped,
    transport_error,
)

log = logging.getLogger(__name__)

_STATES = {"starting": TaskStatus.PREPARING, "processing": TaskStatus.PROCESSING}
# A failed prediction's `error` is free text. Safety refusals end the job as the requester's (under
# MiniMax's code 1026, which the notices word as a content-policy refusal: the model relays MiniMax);
# bad input ends it too; only clearly passing trouble is sent again. Anything else is a final
# failure: a resubmission resets the poller's retry count, so retrying unknown errors could loop
# (and bill) until the job times out.
_CONTENT = re.compile(r"sensitiv|nsfw|safety|content polic|flagged|moderat|inappropriate|\bE005\b|\b1026\b|\b1027\b",
                      re.IGNORECASE)
_BAD_INPUT = re.compile(r"invalid|must be|not supported|unsupported|validation|\b2013\b", re.IGNORECASE)
_TRANSIENT = re.compile(r"timed? ?-?out|interrupted|try again|retry|unavailable|overload|capacity|rate limit|"
                        r"too many requests|temporar|connection|internal server", re.IGNORECASE)
CONTENT_CODE = 1026
WEBHOOK_TOLERANCE = 300.0  # seconds a webhook's timestamp may differ from our clock (replays)
_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


class ReplicateProvider:
    """Hailuo 2.3 via `POST {base}/models/{model}/predictions`, polled at `GET {base}/predictions/{id}`."""

    name = "replicate"

    def __init__(
        self,
        token: str,
        base_url: str = "https://api.replicate.com/v1",
        *,
        model: str = "minimax/hailuo-2.3",
        webhook_url: str | None = None,
        timeout: float = 30.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.model = model
        self.webhook_url = webhook_url
        self._client = client or api_client(base_url, token, timeout)
        self._downloads = download_client()

    def model_for(self, request: VideoRequest) -> str:
        """The Replicate model a request goes to: REPLICATE_MODEL's standard one, or its Fast sibling."""
        standard, fast = replicate_models(self.model)
        if request.fast:
            if fast is None:
                raise ProviderError(Fault.USER, f"{standard} has no Fast model", code="fast_not_offered")
            return fast
        return standard

    def body(self, request: VideoRequest, first_frame: str | None) -> dict[str, Any]:
        """The exact JSON Replicate receives for `request` (resolution lowercase, duration an int)."""
        if request.fast and first_frame is None:
            raise ProviderError(Fault.USER, "the Fast model only animates an image", code="fast_needs_image")
        data: dict[str, Any] = {
            # Always a string: an image-only job sends "" rather than risk a schema that requires it.
            "prompt": request.prompt or "",
            "duration": int(request.duration),
            "resolution": request.resolution.lower(),
            "prompt_optimizer": bool(request.prompt_optimizer),
        }
        if first_frame is not None:
            data["first_frame_image"] = first_frame  # Replicate takes data: URIs for file inputs
        body: dict[str, Any] = {"input": data}
        if self.webhook_url:
            body["webhook"] = self.webhook_url
            body["webhook_events_filter"] = ["completed"]  # one push at the end, not one per log line
        return body

    async def submit(self, request: VideoRequest) -> str:
        """Create the prediction; return its id."""
        frame = await data_url_async(request.first_frame) if request.first_frame else None
        data = await self._call("POST", f"/models/{self.model_for(request)}/predictions", "submit",
                                json=self.body(request, frame))
        task_id = str(data.get("id") or "")
        if not _ID.fullmatch(task_id):
            raise ProviderError(Fault.RETRY, "submit: no prediction id in the answer")
        return task_id

    async def status(self, task_id: str) -> TaskState:
        """Get the prediction; a 404 (unknown, or deleted after an hour) raises TaskLost."""
        return prediction_state(task_id, await self._call("GET", f"/predictions/{task_id}", "status"))

    async def cancel(self, task_id: str) -> bool:
        """Ask Replicate to cancel a prediction; True when it reports it canceled (False if it is gone or done)."""
        try:
            data = await self._call("POST", f"/predictions/{task_id}/cancel", "cancel")
        except TaskLost:
            return False
        return data.get("status") == "canceled"

    async def download(self, state: TaskState) -> AsyncIterator[bytes]:
        """Stream the output file; Replicate deletes it after an hour, and then there is no fresh address."""
        try:
            async for chunk in stream_capped(self._downloads, state.video_url or "", expired=(404, 410)):
                yield chunk
        except ExpiredURL as exc:
            raise ProviderError(Fault.OPERATOR, "video download: Replicate deleted the output (kept 1 hour)",
                                code=exc.status) from None

    async def check(self) -> str:
        """One cheap authenticated call: the account the token belongs to."""
        data = await self._call("GET", "/account", "check")
        return f"Replicate accepted the API token (account {str(data.get('username') or '?')[:40]})."

    async def webhook_secret(self) -> str:
        """The account's webhook signing secret (`whsec_...`), for checking pushes with `webhook_task`."""
        key = str((await self._call("GET", "/webhooks/default/secret", "webhook secret")).get("key") or "")
        if not key.startswith("whsec_"):
            raise ProviderError(Fault.RETRY, "webhook secret: no key in the answer")
        return key

    async def aclose(self) -> None:
        """Close both HTTP clients."""
        await self._client.aclose()
        await self._downloads.aclose()

    async def _call(self, method: str, path: str, what: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise transport_error(exc, what) from exc
        if response.status_code in (200, 201, 202):
            return decode_json(response, what)
        if response.status_code == 404 and what in ("status", "cancel"):
            raise TaskLost("Replicate no longer knows this prediction (deleted after an hour, or never made)")
        raise ProviderError(fault_for_http(response.status_code),
                            f"{what}: HTTP {response.status_code} {_detail(response)}".strip(),
                            code=response.status_code, retry_after=retry_after(response))


def prediction_state(task_id: str, data: Mapping[str, Any]) -> TaskState:
    """What a prediction object (from a GET or a webhook) says, in the bot's terms."""
    status = str(data.get("status") or "")
    if status in _STATES:
        return TaskState(task_id, _STATES[status])
    if status == "succeeded":
        url = _output_url(data.get("output"))
        if url is None:
            raise ProviderError(Fault.RETRY, "status: succeeded without a video address")
        return TaskState(task_id, TaskStatus.SUCCESS, video_url=url)
    if status == "failed":
        return TaskState(task_id, TaskStatus.FAIL, error=failure(str(data.get("error") or "")))
    if status == "canceled":
        # Someone with the account's token canceled it on purpose: not retried, refunded, and
        # not the requester's input; the operator is the one who can say why.
        return TaskState(task_id, TaskStatus.FAIL,
                         error=ProviderError(Fault.OPERATOR, "the prediction was canceled at Replicate",
                                             code="canceled"))
    # An unlisted status (`aborted`: ended before it started) is the service's trouble: send it again.
    return TaskState(task_id, TaskStatus.FAIL,
                     error=ProviderError(Fault.RETRY, f"status: prediction ended as {status[:40]!r}", code=status[:40]))


def failure(error: str) -> ProviderError | None:
    """Whose fault a failed prediction's error text is; None for an unexplained, final failure."""
    text = error[:500]
    if _CONTENT.search(text):
        code = 1027 if re.search(r"\b1027\b", text) else CONTENT_CODE  # MiniMax's code for a withheld output
        return ProviderError(Fault.USER, f"refused by the safety filter: {text[:200]}", code=code)
    if _BAD_INPUT.search(text):
        return ProviderError(Fault.USER, f"input refused: {text[:200]}", code=422)
    if _TRANSIENT.search(text):
        return ProviderError(Fault.RETRY, f"prediction failed: {text[:200]}", code="failed")
    log.warning("replicate prediction failed: %s", text[:200] or "(no error text)")
    return None


def webhook_task(headers: Mapping[str, str], body: bytes, secret: str, now: float | None = None) -> str | None:
    """The prediction id of an authentic Replicate webhook (Standard Webhooks signature), else None."""
    try:
        lower = {str(k).lower(): str(v) for k, v in headers.items()}
        msg_id, stamp, signatures = (lower.get(h, "") for h in ("webhook-id", "webhook-timestamp",
                                                                  "webhook-signature"))
        if not (msg_id and stamp.isascii() and stamp.isdigit() and signatures and isinstance(body, bytes | bytearray)):
            return None
        if abs((time.time() if now is None else now) - int(stamp)) > WEBHOOK_TOLERANCE:
            return None
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        if not key:
            return None
        digest = hmac.new(key, f"{msg_id}.{stamp}.".encode() + bytes(body), hashlib.sha256).digest()
        expected = b"v1," + base64.b64encode(digest)
        # Every entry is compared (no early exit), each in constant time.
        matched = [hmac.compare_digest(expected, entry.encode()) for entry in signatures.split(" ") if entry]
        if not any(matched):
            return None
        data = json.loads(body)
    except (ValueError, TypeError, binascii.Error, RecursionError, UnicodeError, OverflowError):
        return None
    task_id = data.get("id") if isinstance(data, dict) else None
    return task_id if isinstance(task_id, str) and _ID.fullmatch(task_id) else None


def _output_url(output: Any) -> str | None:
    # The docs show one URI string; some pages show a list of one: accept both.
    if isinstance(output, list) and len(output) == 1:
        output = output[0]
    if isinstance(output, str) and output.startswith(("https://", "http://")):
        return output
    return None


def _detail(response: httpx.Response) -> str:
    # Replicate's errors are problem+json: {"detail": ..., "status": ...}; quote a little of it.
    try:
        data = response.json()
    except ValueError:
        return ""
    detail = data.get("detail") if isinstance(data, dict) else None
    return str(detail)[:200] if detail else ""
