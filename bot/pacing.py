"""When to poll a job next: from how long recent jobs of the same kind took, else a growing interval.

A poll is worth making when the job is likely to be done. Once a few jobs of a kind (provider, model,
duration and resolution) have finished, the poll times of a new one are planned from their durations
(bot/job_history.py, shared by every process): the first as the quickest 10% of them finish, then the
fewest polls for which most jobs (COVER) are seen done within POLL_FIRST_SECONDS of finishing, no gap
longer than POLL_MAX_SECONDS; a job running later than the plan backs off as usual. The plan is the
exact optimum of that trade on a grid (a dynamic programme over poll times), computed once per kind
each time its history changes.

While a kind's history is young (a burst on a new database: its first jobs to finish are its quick
ones), the plan counts the jobs still running too (survivors(), Kaplan-Meier), and until half of the
kind is known to have finished, it is not planned at all.

Before that (a kind new to the database), nothing is known but which jobs are still running: a job
is not polled at a time at the provider at which an older job of its kind was still running, as seen
by this process's own polls and by the shared history's read of the running jobs, waiting at most
FRONTIER_WAIT_GAPS longest gaps for it (a stuck first job must not hold the others back).
"""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable

from bot.job_history import MIN_SAMPLES, quantile

LOW_Q = 0.1  # the first poll: as the quickest 10% of recent jobs of the kind finish, never later
COVER = 0.5  # the share of jobs to be seen done within POLL_FIRST_SECONDS of finishing: the median
STEPS = 5  # grid points per POLL_FIRST_SECONDS
REPLAN_SECONDS = 30.0  # a kind's plan is made again this often (and as its history first fills up)
FRONTIER_WAIT_GAPS = 2.0  # with too little history: the longest wait for an older running job, in longest gaps


def smooth_cdf(took: list[float], times: list[float]) -> list[float]:
    """The share of jobs done by each of `times`: a log-normal kernel around each recent duration.

    The durations are drawn towards their mean first, so that the smoothed spread is no wider than
    theirs (a kernel alone widens it, which puts more jobs in the late tail than there are, and polls
    planned for them see fewer done in time than planned).
    """
    logs = [math.log(max(t, 1e-6)) for t in took]
    mean = sum(logs) / len(logs)
    spread = math.sqrt(sum((x - mean) ** 2 for x in logs) / max(1, len(logs) - 1))
    width = max(1e-3, 1.06 * spread * len(logs) ** -0.2)  # Silverman's rule
    shrink = 1.0 / math.sqrt(1.0 + (width / spread) ** 2) if spread > 0 else 1.0
    logs = [mean + (x - mean) * shrink for x in logs]
    out = []
    for t in times:
        at = math.log(max(t, 1e-6))
        out.append(sum(0.5 * math.erfc((x - at) / (width * math.sqrt(2))) for x in logs) / len(logs))
    return out


def survivors(took: list[float], running: list[float], size: int = 100) -> tuple[list[float], float]:
    """Up to `size` durations standing for the finished part of a kind's spread, and the share that part is.

    Kaplan-Meier: `took` are the durations of finished jobs, `running` how long jobs still running had
    run when last seen (both sorted), so a history only old enough for the quick ones to have finished
    is not taken for a kind of quick jobs.
    """
    at_risk, alive, j, steps = len(took) + len(running), 1.0, 0, []
    for t in took:
        while j < len(running) and running[j] < t:  # seen running for less than t: out of the count from here
            j, at_risk = j + 1, at_risk - 1
        alive *= 1.0 - 1.0 / at_risk
        at_risk -= 1
        steps.append((t, 1.0 - alive))
    known = 1.0 - alive
    if not steps:
        return [], 0.0
    count = min(size, len(steps))
    out, k = [], 0
    for n in range(count):
        share = (n + 0.5) / count * known
        while steps[k][1] < share:
            k += 1
        out.append(steps[k][0])
    return out, known


def plan(took: list[float], first: float, cap: float, cover: float = COVER, known: float = 1.0) -> list[float]:
    """Poll times after submission for a job of the kind that took `took` (sorted).

    `known`: the share of the kind's jobs `took` stands for (less than 1 while many of them still run).
    """
    step = first / STEPS
    n = math.ceil(took[-1] * 1.25 / step) + 1
    done = [known * share for share in smooth_cdf(took, [i * step for i in range(n)])]
    start = max(1, min(n - 1, int(quantile(took, min(1.0, LOW_Q / known)) / step)))
    within, longest = STEPS, max(STEPS, int(cap / step))

    def solve(weight: float) -> tuple[list[int], float]:
        # best[i]: the least (polls - weight * share seen in time) from a poll at grid point i onwards. The
        # next poll j is within `within` of i (the share seen in time counts from i) or up to `longest`
        # away (it counts from j - within): two sliding-window minima, so one pass over the grid.
        best, after = [0.0] * n, [n - 1] * n
        near_key = [0.0] * n  # best[j] - weight * done[j]
        far_key = [0.0] * n  # best[j] - weight * (done[j] - done[j - within])
        near: deque[int] = deque()
        far: deque[int] = deque()

        def push(window: deque[int], key: list[float], j: int) -> None:
            while window and key[window[0]] >= key[j]:
                window.popleft()
            window.appendleft(j)

        for i in range(n - 2, -1, -1):
            j = i + 1
            near_key[j] = best[j] - weight * done[j]
            push(near, near_key, j)
            while near[-1] > i + within - 1:
                near.pop()
            if (k := i + within) < n:
                far_key[k] = best[k] - weight * (done[k] - done[k - within])
                push(far, far_key, k)
            while far and far[-1] > i + longest:
                far.pop()
            left = 1.0 - done[i]
            if i == 0:  # the first poll: no later than the quickest LOW_Q finish
                value, choice = min((left - weight * (done[j] - done[max(0, j - within)]) + best[j], j)
                                    for j in range(1, start + 1))
            else:
                value, choice = left + weight * done[i] + near_key[near[-1]], near[-1]
                if far and (v := left + far_key[far[-1]]) < value:
                    value, choice = v, far[-1]
            best[i], after[i] = value, choice
        path, i, seen = [], 0, 0.0
        while i < n - 1:
            j = after[i]
            seen += done[j] - done[max(i, j - within)]
            path.append(j)
            i = j
        return path, seen

    low, high = 0.0, 64.0
    path, _ = solve(high)
    for _ in range(9):  # the smallest weight that covers enough: the fewest polls
        middle = (low + high) / 2
        candidate, seen = solve(middle)
        if seen >= cover:
            high, path = middle, candidate
        else:
            low = middle
    return [j * step for j in path]


class PollPlan:
    """The poll schedule that recent durations of a job's kind suggest."""

    def __init__(self, first: float, cap: float, jitter: Callable[[], float], cover: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.first = first  # the shortest gap between polls (POLL_FIRST_SECONDS)
        self.cap = cap  # the longest (POLL_MAX_SECONDS)
        self.jitter = jitter  # a factor near 1, so that jobs sent together are not polled together
        self.cover = COVER if cover is None else cover
        self.clock = clock
        self._plans: dict[str, tuple[float, int, list[float]]] = {}  # kind -> (made at, from how many, times)
        self._running: dict[str, float] = {}  # kind -> the longest time at the provider a job was seen running

    def growing(self, polls: int) -> float:
        """The interval with nothing learnt: POLL_FIRST_SECONDS growing by half each poll, capped."""
        return min(self.cap, self.first * 1.5**polls) * self.jitter()

    def times(self, kind: str, took: list[float], running: list[float] | None = None) -> list[float]:
        """The planned poll times for `kind`, whose recent durations are `took` (sorted); made now and then.

        `running` (sorted): how long its running jobs had run when last seen, given while its history is
        young (bot.job_history.spread); then [] while too few are known to have finished to plan from.
        """
        made = self._plans.get(kind)
        now = self.clock()
        if made is None or now - made[0] >= REPLAN_SECONDS or len(took) >= 1.25 * made[1]:
            if running is None:
                times = plan(took, self.first, self.cap, self.cover)
            else:
                standing, known = survivors(took, running)
                times = plan(standing, self.first, self.cap, self.cover, known) if known >= self.cover else []
            made = self._plans[kind] = (now, len(took), times)
        return made[2]

    def gap(self, kind: str, took: list[float], elapsed: float | None, polls: int,
            running: list[float] | None = None) -> float:
        """Seconds until the next poll of a job `elapsed` seconds at the provider (None: not known).

        `took` is how long recent jobs of its kind took, sorted; `running` as for times().
        """
        if elapsed is not None:  # asked after a poll that found the job still running (or at its submission)
            self._running[kind] = max(self._running.get(kind, 0.0), elapsed, running[-1] if running else 0.0)
        if elapsed is not None and running is not None and len(took) >= MIN_SAMPLES \
                and not self.times(kind, took, running):
            took = []  # fewer than half of the kind are known to have finished: as with nothing learnt
        if elapsed is None or len(took) < MIN_SAMPLES:
            gap = self.growing(polls)
            behind = 0.0 if elapsed is None else self._running[kind] - elapsed
            if behind > gap:  # an older job of the kind ran longer and was not done: this one hardly is
                return min(behind + (self.jitter() - 0.9) * self.first, FRONTIER_WAIT_GAPS * self.cap)
            return gap
        times = self.times(kind, took, running)
        upcoming = bisect_right(times, elapsed + 0.2 * self.first)
        if upcoming < len(times):  # jittered by a fraction of the shortest gap, never of a long first wait
            return max(0.2 * self.first, times[upcoming] - elapsed + (self.jitter() - 1.0) * self.first)
        # Later than planned for (later than nearly every recent job of its kind): back off as usual.
        late = (elapsed - times[-1]) / self.first if times else 0.0
        return min(self.cap, self.first * 1.5 ** min(late, 20.0)) * self.jitter()
