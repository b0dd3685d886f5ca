"""The primary provider and an optional fallback: new jobs go to the one that is up; a job stays where it is."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.contract import VideoRequest
from bot.providers.base import Fault, Provider, ProviderError
from bot.providers.http import RATE_LIMIT_CODES

log = logging.getLogger(__name__)

RETRY_PRIMARY_SECONDS = 600.0  # after failing over, new jobs try the primary again this much later


class ProviderSet:
    """Every provider a job may be with, by name, and the one new jobs go to.

    The primary takes new jobs until it refuses the operator (bad key, no balance: at once) or keeps
    failing (5xx, timeouts) for `out_after` seconds with no success in between; then new jobs go to
    the fallback, the operator is told once, and the primary is tried again after a while. A job
    already at a provider stays there: each job records the provider that has it, and is polled and
    downloaded there only. Rate limits are not outages: they slow submissions down instead.
    """

    def __init__(self, primary: Provider, fallback: Provider | None = None, *, out_after: float = 120.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if fallback is not None and fallback.name == primary.name:
            raise ValueError("HAILUO_FALLBACK_PROVIDER must name another provider than HAILUO_PROVIDER")
        self.primary = primary
        self.fallback = fallback
        self.out_after = out_after
        self.clock = clock
        self._by_name = {p.name: p for p in (primary, fallback) if p is not None}
        self._failing_since: float | None = None
        self._out_until: float | None = None

    @property
    def name(self) -> str:
        """The provider new jobs go to now."""
        return self.current.name

    @property
    def current(self) -> Provider:
        """The provider new jobs go to now: the primary, unless it is out and there is a fallback."""
        if self.fallback is None or self._out_until is None:
            return self.primary
        if self.clock() >= self._out_until:
            log.info("trying the %s provider again for new jobs", self.primary.name)
            self._out_until, self._failing_since = None, None
            return self.primary
        return self.fallback

    @property
    def names(self) -> list[str]:
        """Every provider name a job may be with."""
        return list(self._by_name)

    def get(self, name: str) -> Provider | None:
        """The provider called `name`, if the bot still uses it."""
        return self._by_name.get(name)

    def __getitem__(self, name: str) -> Provider:
        return self._by_name[name]

    async def submit_to(self, name: str, request: VideoRequest) -> str:
        """Submit to the provider a job was claimed for; an outage of the primary fails new jobs over."""
        provider = self._by_name[name]
        try:
            task_id = await provider.submit(request)
        except ProviderError as exc:
            if provider is self.primary and self.fallback is not None and self._outage(exc):
                if self._out_until is None:  # told once, not once for each job that was on its way
                    log.error("the %s provider is out (%s); new jobs go to %s until it is back", provider.name, exc,
                              self.fallback.name)
                self._out_until = self.clock() + RETRY_PRIMARY_SECONDS
                # Back in line, never sent anywhere: the next claim records the fallback for it.
                raise ProviderError(Fault.RETRY, f"{provider.name} is out; moving to {self.fallback.name}",
                                    code="failover", retry_after=0.5) from exc
            raise
        if provider is self.primary:
            self._failing_since = None
        return task_id

    def _outage(self, exc: ProviderError) -> bool:
        if exc.fault is Fault.OPERATOR:
            return True  # a bad key or an empty balance will not mend itself
        if exc.fault is not Fault.RETRY or exc.code in RATE_LIMIT_CODES or exc.code == 429:
            return False
        now = self.clock()
        if self._failing_since is None:
            self._failing_since = now
        return now - self._failing_since >= self.out_after

    async def aclose(self) -> None:
        """Close every provider."""
        for provider in self._by_name.values():
            await provider.aclose()
