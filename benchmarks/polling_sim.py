"""The bot's poll schedule (bot/pacing.py, learning as bot/job_history.py does) on a timeline, without I/O.

For job counts a real run cannot reach on this machine within minutes: each task is submitted at its
arrival and polled when PollPlan says; a poll at or after its end sees it done, and its duration is
recorded as the bot records it (the time seen, less half the last gap, that capped at the longest gap),
into the latest SAMPLES of its kind, which later polls plan from.
"""

from __future__ import annotations

import heapq
import random
from collections import deque

from bot.job_history import SAMPLES
from bot.pacing import PollPlan

Task = tuple[int, str, float, float]  # duration, resolution, arrival, time to Success (platform seconds)


def simulate(tasks: list[Task], first: float = 5.0, cap: float = 30.0,
             seed: int = 5) -> tuple[list[int], list[float]]:
    """Requests (submit + polls + retrieve) and success-to-seen delays per task, in task order."""
    now = [0.0]
    rng = random.Random(seed)
    plan = PollPlan(first, cap, jitter=lambda: rng.uniform(0.9, 1.1), clock=lambda: now[0])
    recent: dict[str, deque[float]] = {}
    ordered: dict[str, list[float]] = {}
    polls, delays = [0] * len(tasks), [0.0] * len(tasks)
    last = [0.0] * len(tasks)
    events = [(arrival, n) for n, (_, _, arrival, _) in enumerate(tasks)]  # each task's next look, from its submission
    heapq.heapify(events)
    while events:
        at, n = heapq.heappop(events)
        now[0] = at
        duration, resolution, arrival, took = tasks[n]
        kind = f"{resolution}:{duration}"
        if polls[n] and at - arrival >= took:  # this poll sees it done
            delays[n] = at - arrival - took
            recent.setdefault(kind, deque(maxlen=SAMPLES)).append(at - arrival - min(at - last[n], cap) / 2)
            ordered.pop(kind, None)
            continue
        if kind not in ordered:
            ordered[kind] = sorted(recent.get(kind, ()))
        gap = plan.gap(kind, ordered[kind], at - arrival, polls[n])
        last[n] = at
        polls[n] += 1
        heapq.heappush(events, (at + gap, n))
    return [2 + p for p in polls], delays  # polls[n]: the submission's look plus the polls that missed = all polls
