"""Polls come when a job is likely done: learnt from how long recent jobs of the same kind took."""

from __future__ import annotations

import pytest

from bot.pacing import MIN_SAMPLES, PollPlan


def test_without_enough_history_the_interval_grows_as_before() -> None:
    plan = PollPlan(5.0, 30.0, jitter=lambda: 1.0)
    plan.sent("j", "minimax:768P:6", 0.0)
    assert [plan.gap("j", polls, 0.0) for polls in range(6)] == pytest.approx([5, 7.5, 11.25, 16.875, 25.3125, 30])


def test_a_job_is_polled_when_jobs_of_its_kind_finish_most_often_where_they_finish_then_less() -> None:
    plan = PollPlan(5.0, 30.0, jitter=lambda: 1.0)
    took = [120 + n for n in range(0, 41, 2)] + [140] * 10  # most jobs of this kind take 140 s
    for n, seconds in enumerate(took):
        plan.sent(f"old{n}", "k", 0.0)
        plan.done(f"old{n}", seconds + 2.0, last_gap=4.0)  # seen 2 s late on average: half the last gap
    plan.sent("other-kind", "k2", 0.0)
    assert plan.gap("other-kind", 0, 0.0) == 5.0  # nothing learnt for that kind yet
    plan.sent("j", "k", 1000.0)
    assert plan.gap("j", 0, 1000.0) == pytest.approx(122.0)  # one poll as the quickest 5% finish, none before
    early, busy = plan.gap("j", 1, 1123.0), plan.gap("j", 2, 1140.0)
    assert busy < early  # further apart where few jobs of the kind finish, closer where many do
    assert 2.0 <= busy < 5.0 < early
    assert plan.gap("j", 5, 1180.0) > plan.gap("j", 4, 1165.0) > 5.0  # later than any: backing off
    assert plan.gap("j", 9, 5000.0) == 30.0


def test_a_job_that_fails_or_is_never_seen_done_teaches_nothing() -> None:
    plan = PollPlan(5.0, 30.0, jitter=lambda: 1.0)
    for n in range(MIN_SAMPLES):
        plan.sent(f"f{n}", "k", 0.0)
        plan.forget(f"f{n}")
        plan.done(f"f{n}", 50.0, last_gap=0.0)
    assert plan.span("k") is None
