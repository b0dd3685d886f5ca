"""Download what a platform handed us, only from its own hosts, with a size cap."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx

CHUNK = 1 << 16


async def fetch_capped(
    http: httpx.AsyncClient, url: str, *, hosts: set[str], max_bytes: int, what: str,
    headers: dict[str, str] | None = None, refuse_html: bool = False,
) -> AsyncIterator[bytes]:
    """Stream `url` if its host is one of `hosts`; stop after `max_bytes` (the caller judges the size)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or parts.hostname not in hosts:
        raise PermissionError(f"not a {what} address")
    async with http.stream("GET", url, headers=headers) as response:
        html = response.headers.get("content-type", "").startswith("text/html")
        if response.status_code != 200 or (refuse_html and html):
            raise PermissionError(f"the {what} download was refused (HTTP {response.status_code})")
        total = 0
        async for chunk in response.aiter_bytes(CHUNK):
            total += len(chunk)
            yield chunk
            if total >= max_bytes:
                return
