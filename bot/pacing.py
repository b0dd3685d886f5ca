"""When to poll a job next: from how long recent jobs of the same kind took, else a growing interval.

A poll is worth making when the job is likely to be done. Once a few jobs of a kind (provider, model,
duration and resolution) have finished, a new one is polled once as it reaches the earliest time those
took, then within the span they took at gaps that shrink where jobs are most likely to finish, then
less and less often if it runs later than any of them. The durations come from the shared history
(bot/job_history.py), so every process, and one just restarted, polls by the same experience.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable

from bot.job_history import MIN_SAMPLES, quantile

LOW_Q, HIGH_Q = 0.05, 0.95  # the span most jobs of a kind finish in
PACE = 0.65  # polls against delay: about 5 s median delay with POLL_FIRST_SECONDS=5 on Hailuo-like spreads


class PollPlan:
    """The poll schedule that recent durations of a job's kind suggest."""

    def __init__(self, first: float, cap: float, jitter: Callable[[], float]) -> None:
        self.first = first  # the shortest gap between polls (POLL_FIRST_SECONDS)
        self.cap = cap  # the longest (POLL_MAX_SECONDS)
        self.jitter = jitter  # a factor near 1, so that jobs sent together are not polled together

    def growing(self, polls: int) -> float:
        """The interval with nothing learnt: POLL_FIRST_SECONDS growing by half each poll, capped."""
        return min(self.cap, self.first * 1.5**polls) * self.jitter()

    def gap(self, took: list[float], elapsed: float | None, polls: int) -> float:
        """Seconds until the next poll of a job `elapsed` seconds at the provider (None: not known).

        `took` is how long recent jobs of its kind took, sorted.
        """
        if elapsed is None or len(took) < MIN_SAMPLES:
            return self.growing(polls)
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
