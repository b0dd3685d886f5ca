"""What the HTTP-based providers share: error classification, JSON decoding, capped streaming."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from bot.providers.base import Fault, ProviderError

MAX_VIDEO_BYTES = 2 * 1024**3
CHUNK = 64 * 1024

# MiniMax base_resp codes (providers.md 1.6) and whose problem each one is.
USER_CODES = {1026, 1027, 1042, 2013}
OPERATOR_CODES = {1004, 1008, 1028, 1030, 2038, 2049, 2056, 2061}
RATE_LIMIT_CODES = {1002, 1039, 1041, 2045, 429}


def api_client(base_url: str, token: str, timeout: float) -> httpx.AsyncClient:
    """The client for a provider's API: its base URL, the bearer token, explicit timeouts."""
    return httpx.AsyncClient(base_url=base_url.rstrip("/"), headers={"Authorization": f"Bearer {token}"},
                             timeout=httpx.Timeout(timeout, connect=10.0), follow_redirects=True)


def download_client() -> httpx.AsyncClient:
    """The client for finished videos: they come from a CDN host, and no API key goes there."""
    return httpx.AsyncClient(timeout=httpx.Timeout(120.0, connect=10.0), follow_redirects=True)


def fault_for_code(code: int) -> Fault:
    """Whose problem a MiniMax status code is; unknown codes are retried (and end in a timeout)."""
    if code in USER_CODES:
        return Fault.USER
    if code in OPERATOR_CODES:
        return Fault.OPERATOR
    return Fault.RETRY


def fault_for_http(status: int) -> Fault:
    """Whose problem an HTTP error status is."""
    if status in (401, 402, 403):
        return Fault.OPERATOR
    if status in (400, 413, 422):
        return Fault.USER
    if status in (408, 409, 425, 429) or status >= 500:
        return Fault.RETRY
    return Fault.OPERATOR


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header, if it gives a number."""
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def decode_json(response: httpx.Response, what: str) -> dict:
    """The body as a JSON object, or a RETRY error for HTML pages and truncated bodies."""
    try:
        data = response.json()
    except ValueError:
        raise ProviderError(Fault.RETRY, f"{what}: the answer was not JSON (HTTP {response.status_code})",
                            code=response.status_code) from None
    if not isinstance(data, dict):
        raise ProviderError(Fault.RETRY, f"{what}: unexpected JSON", code=response.status_code)
    return data


def transport_error(exc: httpx.HTTPError, what: str) -> ProviderError:
    """A timeout or connection failure, as a RETRY error (never quoting the request headers)."""
    return ProviderError(Fault.RETRY, f"{what}: {type(exc).__name__}", code=type(exc).__name__)


async def stream_capped(
    client: httpx.AsyncClient, url: str, *, limit: int = MAX_VIDEO_BYTES, expired: tuple[int, ...] = ()
) -> AsyncIterator[bytes]:
    """Stream `url` in chunks, refusing more than `limit` bytes; statuses in `expired` raise ExpiredURL."""
    if not url.startswith(("https://", "http://")):
        raise ProviderError(Fault.OPERATOR, "the provider gave a video address that is not http(s)")
    try:
        async with client.stream("GET", url) as response:
            if response.status_code in expired:
                raise ExpiredURL(response.status_code)
            if response.status_code != 200:
                raise ProviderError(fault_for_http(response.status_code),
                                    f"video download: HTTP {response.status_code}", code=response.status_code)
            declared = int(response.headers.get("content-length") or 0)
            if declared > limit:
                raise ProviderError(Fault.OPERATOR, "the video is larger than the bot accepts")
            total = 0
            async for chunk in response.aiter_bytes(CHUNK):
                total += len(chunk)
                if total > limit:
                    raise ProviderError(Fault.OPERATOR, "the video is larger than the bot accepts")
                yield chunk
            if declared and total != declared:
                raise ProviderError(Fault.RETRY, "video download: cut short")
    except httpx.HTTPError as exc:
        raise transport_error(exc, "video download") from exc


class ExpiredURL(Exception):
    """The video's download address no longer works (403/404): ask the provider for a fresh one."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
