"""Polls come when a job is likely done: planned from how long recent jobs of the same kind took."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from bot.job_history import MIN_SAMPLES
from bot.pacing import COVER, PollPlan, smooth_cdf, survivors


def test_without_enough_history_the_interval_grows_as_before() -> None:
    plan = PollPlan(5.0, 30.0, jitter=lambda: 1.0)
    few = [100.0] * (MIN_SAMPLES - 1)
    assert [plan.gap("k", few, 0.0, polls) for polls in range(6)] == pytest.approx([5, 7.5, 11.25, 16.875, 25.3125, 30])
    assert plan.gap("k2", sorted([140.0] * 20), None, 0) == 5.0  # the job's time at the provider is not known


def test_with_little_history_a_job_is_not_polled_where_an_older_one_of_its_kind_was_still_running() -> None:
    plan = PollPlan(5.0, 30.0, jitter=lambda: 1.0)
    assert plan.gap("k", [], 0.0, 0) == 5.0  # the first job of a kind: the growing interval
    plan.gap("k", [], 40.0, 4)  # ...polled 40 s after it was sent, still running
    assert plan.gap("k", [], 0.0, 0) == pytest.approx(40.5)  # a newer one waits until then, not 5 s
    assert plan.gap("k", [], 38.0, 1) == pytest.approx(7.5)  # one nearly there: the growing interval
    assert plan.gap("other", [], 0.0, 0) == 5.0  # only jobs of the same kind tell
    plan.gap("k", [], 900.0, 20)  # a stuck old job does not hold the others back longer than two longest gaps
    assert plan.gap("k", [], 10.0, 1) == 60.0
    took = sorted(150.0 + n for n in range(MIN_SAMPLES))
    assert plan.gap("k", took, 10.0, 1) < 150.0  # enough have finished: their durations plan the polls


def test_the_plan_waits_for_the_quickest_polls_closely_where_half_are_seen_in_time_and_backs_off_after() -> None:
    plan = PollPlan(5.0, 30.0, jitter=lambda: 1.0)
    took = sorted([120 + n for n in range(0, 41, 2)] + [140] * 10)  # a third of the jobs of this kind take 140 s
    assert plan.gap("k", took, 0.0, 0) == pytest.approx(126.0, abs=1.0)  # one poll as the quickest 10% finish
    times = plan.times("k", took)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) <= 30.0 and min(gaps) >= 1.0
    def done(t: float) -> float:
        return smooth_cdf(took, [t])[0]
    seen = sum(done(t) - done(max(a, t - 5.0)) for a, t in itertools.pairwise([0.0, *times]))
    assert seen >= COVER - 0.01  # half the (smoothed) spread seen within POLL_FIRST_SECONDS of finishing...
    assert len(times) < (times[-1] - times[0]) / 5.0  # ...by fewer polls than one each POLL_FIRST_SECONDS
    later, late = plan.gap("k", took, times[-1] + 20, 20), plan.gap("k", took, times[-1] + 5, 19)
    assert later > late > 5.0  # later than any: backing off
    assert plan.gap("k", took, 4000.0, 40) == 30.0
    assert plan.times("k", list(took)) is times  # planned now and then, not once per poll


def test_on_a_realistic_spread_most_jobs_are_seen_within_the_shortest_gap_with_far_fewer_polls() -> None:
    rng = random.Random(3)
    plan = PollPlan(5.0, 30.0, jitter=lambda: rng.uniform(0.9, 1.1))
    took = sorted(150 * math.exp(rng.gauss(0, 0.2)) for _ in range(100))  # Hailuo-like: median 150 s, sigma 0.2
    polls, seen = [], []
    for _ in range(2000):
        finish, at, n = 150 * math.exp(rng.gauss(0, 0.2)), 0.0, 0
        while at < finish:
            at, n = at + plan.gap("k", took, at, n), n + 1
        polls.append(n)
        seen.append(at - finish <= 5.0)
    assert sum(seen) / len(seen) >= COVER - 0.05  # most seen done within 5 s of finishing...
    assert sum(polls) / len(polls) < 150 / 5 / 4  # ...with under a quarter of the polls of one every 5 s


def test_smoothing_keeps_the_spread_of_the_durations_it_smooths() -> None:
    rng = random.Random(8)
    took = sorted(150 * math.exp(rng.gauss(0, 0.2)) for _ in range(100))
    logs = [math.log(t) for t in took]
    mean = sum(logs) / len(logs)
    spread = math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))
    grid = [100 + 0.25 * n for n in range(800)]
    done = smooth_cdf(took, grid)

    def at(share: float) -> float:
        return next(t for t, d in zip(grid, done, strict=True) if d >= share)
    # One standard deviation either side of the middle: as wide as the durations', not a kernel's width wider
    # (a wider spread puts jobs in the late tail that are not there, and the plan polls for them).
    assert math.log(at(0.8413) / at(0.1587)) / 2 == pytest.approx(spread, rel=0.04)


def test_jobs_still_running_are_counted_so_a_young_history_of_quick_ones_is_not_taken_for_the_kind() -> None:
    quick, running = [100.0 + n for n in range(10)], [150.0] * 90  # a burst: the first ten done, ninety going on
    standing, known = survivors(quick, running)
    assert known == pytest.approx(0.1) and standing == quick  # a tenth is known to finish by 110 s, not all
    assert survivors([100.0, 200.0], [150.0]) == ([100.0, 200.0], pytest.approx(1.0))  # all finished in the end
    plan = PollPlan(5.0, 30.0, jitter=lambda: 1.0)
    plan.gap("k", quick, 150.0, 6, running)  # too little known: nothing planned, as with nothing learnt...
    assert plan.gap("k", quick, 0.0, 0, running) == 60.0  # ...and a new job waits for the older running ones
    later = sorted(quick + [140.0 + n for n in range(60)])  # 60 more finished, 30 still running
    assert survivors(later, [200.0] * 30)[1] == pytest.approx(0.7)  # enough known: planned from it
    counted = PollPlan(5.0, 30.0, jitter=lambda: 1.0).times("k", later, [200.0] * 30)
    assert counted and counted != PollPlan(5.0, 30.0, jitter=lambda: 1.0).times("k", later)
