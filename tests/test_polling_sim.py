"""The polling benchmark's timeline: the bot's schedule against a plain 5-second poller on the same tasks."""

from __future__ import annotations

import math
import random
import statistics

from benchmarks.polling import tasks
from benchmarks.polling_sim import simulate


def test_the_schedule_sees_every_task_done_with_far_fewer_requests_than_a_poll_every_5_seconds() -> None:
    plan = tasks(random.Random(4), 2000, 400.0)
    requests, delays = simulate(plan)
    plain = [2 + max(1, math.ceil(took / 5.0)) for _, _, _, took in plan]
    assert len(requests) == len(delays) == len(plan)
    assert min(delays) >= 0.0 and max(delays) <= 70.0  # seen done, never long after
    later = slice(1000, None)  # once jobs of each kind have finished
    assert statistics.mean(plain[later]) / statistics.mean(requests[later]) > 4.0
    assert statistics.median(delays[later]) <= 6.0
