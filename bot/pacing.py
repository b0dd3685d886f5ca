"""When to poll a job next: from how long recent jobs of the same kind took, else a growing interval.

A poll is worth making when the job is likely to be done. Once a few jobs of a kind (duration and
resolution) have finished, a new one is polled once as it reaches the earliest time those took, then
within the span they took at gaps that shrink where jobs are most likely to finish, then less and
less often if it runs later than any of them.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict, deque
from collections.abc import Callable

SAMPLES = 50  # recent durations kept per kind
MIN_SAMPLES = 5  # fewer than this: no prediction, the growing interval
TRACKED = 100_000  # jobs remembered as sent at most (one that ends unseen is forgotten eventually)
LOW_Q, HIGH_Q = 0.05, 0.95  # the span most jobs of a kind finish in
PACE = 0.65  # polls against delay: about 5 s median delay with POLL_FIRST_SECONDS=5 on Hailuo-like spreads


def quantile(ordered: list[float], q: float) -> float:
    """The q-quantile (0..1) of sorted values, by nearest rank."""
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


class PollPlan:
    """Recent job durations per kind, and the poll schedule they suggest."""

    def __init__(self, first: float, cap: float, jitter: Callable[[], float]) -> None:
        self.first = first  # the shortest gap between polls (POLL_FIRST_SECONDS)
        self.cap = cap  # the longest (POLL_MAX_SECONDS)
        self.jitter = jitter  # a factor near 1, so that jobs sent together are not polled together
        self._took: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=SAMPLES))
        self._sent: dict[str, tuple[str, float]] = {}  # job id -> (kind, when it was sent)

    def sent(self, job_id: str, kind: str, at: float) -> None:
        """A job of `kind` reached the provider at `at`."""
        self._sent[job_id] = (kind, at)
        if len(self._sent) > TRACKED:
            del self._sent[next(iter(self._sent))]

    def done(self, job_id: str, at: float, last_gap: float) -> None:
        """The provider said the job is done at `at`; it finished on average half the last gap earlier."""
        if (sent := self._sent.pop(job_id, None)) is not None:
            kind, since = sent
            self._took[kind].append(max(0.0, at - since - last_gap / 2))

    def forget(self, job_id: str) -> None:
        """The job ended otherwise (failed, expired, sent again)."""
        self._sent.pop(job_id, None)

    def span(self, kind: str) -> tuple[float, float] | None:
        """The span most recent jobs of `kind` took, or None while too few have finished."""
        took = self._took.get(kind)
        if took is None or len(took) < MIN_SAMPLES:
            return None
        ordered = sorted(took)
        return quantile(ordered, LOW_Q), quantile(ordered, HIGH_Q)

    def gap(self, job_id: str, polls: int, now: float) -> float:
        """Seconds until the job's next poll."""
        sent = self._sent.get(job_id)
        took = sorted(self._took.get(sent[0], ())) if sent is not None else []
        if sent is None or len(took) < MIN_SAMPLES:
            return min(self.cap, self.first * 1.5**polls) * self.jitter()
        elapsed = now - sent[1]
        low, high = quantile(took, LOW_Q), quantile(took, HIGH_Q)
        if elapsed < low - self.first:
            return low - elapsed  # nothing to see before the earliest likely finish: one poll then
        if elapsed > took[-1]:  # later than any recent job of its kind: back off as usual
            late = (elapsed - took[-1]) / self.first
            return min(self.cap, self.first * 1.5 ** min(late, 20.0)) * self.jitter()
        # Within the span: polls closer together where jobs still running are likely to finish now
        # (a small survival-to-density ratio), further apart where they are not (the gap that
        # minimises delay for a given number of polls goes as its square root).
        n, width = len(took), max(self.first / 2, (high - low) / 6)
        survive = (n - bisect_right(took, elapsed) + 0.5) / (n + 1)
        density = (bisect_right(took, elapsed + width) - bisect_left(took, elapsed - width) + 0.5) / (n * 2 * width)
        gap = PACE * math.sqrt(self.first * survive / density)
        return min(self.cap, max(0.4 * self.first, gap)) * self.jitter()
