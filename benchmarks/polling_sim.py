"""The bot's poll schedule (bot/pacing.py, learning as bot/job_history.py does) on a timeline, without I/O.

For job counts a real run cannot reach on this machine within minutes: each task is submitted at its
arrival and polled when PollPlan says; a poll at or after its end sees it done, and its duration is
recorded as the bot records it (the time seen, less half the last gap, that capped at the longest gap),
into the latest WHOLE of its kind, which later polls plan from as the bot does (job_history.spread: the
latest SAMPLES, or, while the history is young, all of them and how long the running ones had run when
last polled, read every REFRESH_SECONDS).
"""

from __future__ import annotations

import heapq
import random
from collections import deque

from bot.job_history import REFRESH_SECONDS, WHOLE, spread
from bot.pacing import PollPlan

Task = tuple[int, str, float, float]  # duration, resolution, arrival, time to Success (platform seconds)


def simulate(tasks: list[Task], first: float = 5.0, cap: float = 30.0,
             seed: int = 5) -> tuple[list[int], list[float]]:
    """Requests (submit + polls + retrieve) and success-to-seen delays per task, in task order."""
    now = [0.0]
    rng = random.Random(seed)
    plan = PollPlan(first, cap, jitter=lambda: rng.uniform(0.9, 1.1), clock=lambda: now[0])
    recent: dict[str, deque[float]] = {}
    planned: dict[str, tuple[list[float], list[float] | None]] = {}
    running: dict[str, list[float]] = {}
    in_flight: dict[int, str] = {}
    read_at = -REFRESH_SECONDS
    polls, delays = [0] * len(tasks), [0.0] * len(tasks)
    last = [0.0] * len(tasks)
    events = [(arrival, n) for n, (_, _, arrival, _) in enumerate(tasks)]  # each task's next look, from its submission
    heapq.heapify(events)
    while events:
        at, n = heapq.heappop(events)
        now[0] = at
        duration, resolution, arrival, took = tasks[n]
        kind = f"{resolution}:{duration}"
        if at - read_at >= REFRESH_SECONDS:  # as JobHistory.fresh: the running jobs, as last polled
            read_at, running, planned = at, {}, {}
            for m, of in in_flight.items():
                running.setdefault(of, []).append(last[m] - tasks[m][2])
            running = {of: sorted(times) for of, times in running.items()}
        if polls[n] and at - arrival >= took:  # this poll sees it done
            delays[n] = at - arrival - took
            recent.setdefault(kind, deque(maxlen=WHOLE)).append(at - arrival - min(at - last[n], cap) / 2)
            planned.pop(kind, None)
            in_flight.pop(n, None)
            continue
        in_flight[n] = kind
        if kind not in planned:
            planned[kind] = spread(recent.get(kind, ()), running.get(kind, []))
        durations, still = planned[kind]
        gap = plan.gap(kind, durations, at - arrival, polls[n], still)
        last[n] = at
        polls[n] += 1
        heapq.heappush(events, (at + gap, n))
    return [2 + p for p in polls], delays  # polls[n]: the submission's look plus the polls that missed = all polls
