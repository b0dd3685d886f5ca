"""Keep submissions under the provider's rate limit (MiniMax: 5 video submissions a minute)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SubmitThrottle:
    """A rolling one-minute window of submissions that slows down when the provider says so."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._slow_until = 0.0

    @property
    def rate(self) -> int:
        """Submissions allowed in the current minute: halved for five minutes after a rate-limit answer."""
        return max(1, self.per_minute // 2) if self.clock() < self._slow_until else self.per_minute

    def try_acquire(self) -> bool:
        """Take a submission slot if the window has one; never waits."""
        now = self.clock()
        while self._sent and now - self._sent[0] >= 60:
            self._sent.popleft()
        if now < self._paused_until or len(self._sent) >= self.rate:
            return False
        self._sent.append(now)
        return True

    def penalize(self, retry_after: float | None = None) -> None:
        """The provider said `rate limit`: pause (for Retry-After, else 20 s) and halve the rate a while."""
        now = self.clock()
        self._paused_until = max(self._paused_until, now + (retry_after if retry_after else 20.0))
        self._slow_until = now + 300.0
