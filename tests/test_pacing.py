"""Polls come when a job is likely done: learnt from how long recent jobs of the same kind took."""

from __future__ import annotations

import pytest

from bot.job_history import MIN_SAMPLES
from bot.pacing import PollPlan


def test_without_enough_history_the_interval_grows_as_before() -> None:
    plan = PollPlan(5.0, 30.0, jitter=lambda: 1.0)
    few = [100.0] * (MIN_SAMPLES - 1)
    assert [plan.gap(few, 0.0, polls) for polls in range(6)] == pytest.approx([5, 7.5, 11.25, 16.875, 25.3125, 30])
    assert plan.gap(sorted([140.0] * 20), None, 0) == 5.0  # the job's time at the provider is not known


def test_a_job_is_polled_when_jobs_of_its_kind_finish_most_often_where_they_finish_then_less() -> None:
    plan = PollPlan(5.0, 30.0, jitter=lambda: 1.0)
    took = sorted([120 + n for n in range(0, 41, 2)] + [140] * 10)  # most jobs of this kind take 140 s
    assert plan.gap(took, 0.0, 0) == pytest.approx(122.0)  # one poll as the quickest 5% finish, none before
    early, busy = plan.gap(took, 123.0, 1), plan.gap(took, 140.0, 2)
    assert busy < early  # further apart where few jobs of the kind finish, closer where many do
    assert 2.0 <= busy < 5.0 < early
    assert plan.gap(took, 180.0, 5) > plan.gap(took, 165.0, 4) > 5.0  # later than any: backing off
    assert plan.gap(took, 4000.0, 9) == 30.0
