"""Rate limits the fake platforms enforce: token buckets and fixed windows on a scalable clock, and their 429s."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Limiter:
    """Per-key buckets; `scale` > 1 runs the platform's clock faster (a 60 s window lasts 60/scale s)."""

    scale: float = 1.0
    clock: Callable[[], float] = time.monotonic
    refused: Counter[str] = field(default_factory=Counter)  # 429s given, by kind
    allowed: Counter[str] = field(default_factory=Counter)  # requests let through, by kind

    def __post_init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window end, used)

    def bucket(self, kind: str, key: str, *, per: float, seconds: float, burst: float) -> float | None:
        """Take a token from a bucket refilled at `per` every `seconds`; None when allowed, else seconds to wait."""
        rate = per / (seconds / self.scale)
        now = self.clock()
        tokens, at = self._buckets.get(f"{kind}:{key}", (burst, now))
        tokens = min(burst, tokens + (now - at) * rate)
        if tokens >= 1:
            self._buckets[f"{kind}:{key}"] = (tokens - 1, now)
            self.allowed[kind] += 1
            return None
        self._buckets[f"{kind}:{key}"] = (tokens, now)
        self.refused[kind] += 1
        return (1 - tokens) / rate

    def window(self, kind: str, key: str, *, limit: int, seconds: float) -> tuple[float | None, int, float]:
        """A fixed window as Discord keeps it: (None or seconds to wait, requests left, seconds until it resets)."""
        now = self.clock()
        length = seconds / self.scale
        end, used = self._windows.get(f"{kind}:{key}", (0.0, 0))
        if now >= end:
            end, used = now + length, 0
        if used >= limit:
            self.refused[kind] += 1
            return end - now, 0, end - now
        self._windows[f"{kind}:{key}"] = (end, used + 1)
        self.allowed[kind] += 1
        return None, limit - used - 1, end - now

    @property
    def total_refused(self) -> int:
        """Every 429 given so far."""
        return sum(self.refused.values())


def header_seconds(seconds: float, scale: float) -> str:
    """A Retry-After value: whole seconds as the platforms send them, or fractions on a scaled clock."""
    return str(math.ceil(seconds)) if scale == 1.0 else f"{seconds:.3f}"
