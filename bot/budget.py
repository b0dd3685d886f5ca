"""The platforms' rate limits as one budget per scope, kept in the database so every process shares it.

A port that is rate limited describes its scopes (`rates(action, to)`): which buckets a post, an edit,
a video or a notice draws from, how fast they refill and how much burst they allow. The core knows
nothing more of Slack or Discord than that. Urgent sends (a video, a failure notice, the first status
message, a job's final status) may use the whole bucket; routine status edits leave a reserve for
them. A 429 blocks the scope for its Retry-After in the database, for every process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from bot.metrics import Metrics
from bot.ports import ThreadRef
from bot.store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")
RESERVE = 0.5  # routine edits leave this share of a bucket's burst to urgent sends
MAX_NAP = 5.0  # a wait for the budget is re-checked at least this often
ACTIONS = ("open", "edit", "video", "notify")


@dataclass(frozen=True)
class Rate:
    """One limited scope of a platform: a shared token bucket refilled at `per_second`, holding `burst`."""

    scope: str
    per_second: float
    burst: float


class RateLimited(Exception):
    """The platform answered 429: wait `retry_after` seconds; never a failed delivery."""

    def __init__(self, retry_after: float, what: str = "") -> None:
        super().__init__(f"rate limited{f' ({what})' if what else ''}; retry after {retry_after:g} s")
        self.retry_after = max(0.0, retry_after)


@runtime_checkable
class RateLimitedPort(Protocol):
    """A ChatPort that names the scopes each kind of send draws from (Slack and Discord do)."""

    def rates(self, action: str, to: ThreadRef) -> Sequence[Rate]:
        """The buckets one `action` ("open", "edit", "video", "notify") toward `to` takes a token from."""


class PlatformBudget:
    """Takes tokens from the shared buckets before a send, and records a 429 as a figure, not an error."""

    def __init__(self, store: Store, *, clock: Callable[[], float], metrics: Metrics,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.sleep = sleep
        self.refusals = 0  # 429s this process received

    @staticmethod
    def rates(port: object, action: str, to: ThreadRef) -> Sequence[Rate]:
        """The scopes `action` draws from on this port; none for a port with no limits (console, tests)."""
        return port.rates(action, to) if isinstance(port, RateLimitedPort) else ()

    async def try_take(self, rates: Sequence[Rate], *, urgent: bool) -> float:
        """Take a token from each scope now if all allow it; else how long to wait (nothing more is taken)."""
        for n, rate in enumerate(rates):
            keep = 0.0 if urgent else rate.burst * RESERVE
            wait = await self.store.take_platform_budget(rate.scope, per_second=rate.per_second, burst=rate.burst,
                                                         now=self.clock(), keep=keep)
            if wait > 0:
                if n:
                    log.debug("budget: %s waits %.2f s after %d scope(s) were taken", rate.scope, wait, n)
                return wait
        return 0.0

    async def take(self, port: object, action: str, to: ThreadRef, *, urgent: bool) -> None:
        """Wait until every scope of `action` has a token for us, and take them."""
        rates = self.rates(port, action, to)
        while rates and (wait := await self.try_take(rates, urgent=urgent)) > 0:
            await self.sleep(min(wait, MAX_NAP))

    async def refused(self, port: object, action: str, to: ThreadRef, exc: RateLimited) -> None:
        """A 429: block the action's scopes for Retry-After (every process sees it) and count it."""
        now = self.clock()
        for rate in self.rates(port, action, to):
            await self.store.block_platform_scope(rate.scope, now + exc.retry_after, now)
        self.refusals += 1
        platform = getattr(port, "platform", "?")
        self.metrics.platform_rate_limited.labels(platform, action).inc()
        log.info("%s rate limit: a %s waits %.2f s (429 number %d in this process)", platform, action,
                 exc.retry_after, self.refusals)

    async def send(self, port: object, action: str, to: ThreadRef, call: Callable[[], Awaitable[T]], *,
                   urgent: bool = True, tries: int = 4) -> T:
        """Run one send under the budget; after a 429 it waits out Retry-After and tries again (`tries` in all)."""
        for attempt in range(1, tries + 1):
            await self.take(port, action, to, urgent=urgent)
            try:
                return await call()
            except RateLimited as exc:
                await self.refused(port, action, to, exc)
                if attempt == tries:
                    raise
        raise AssertionError("unreachable")
