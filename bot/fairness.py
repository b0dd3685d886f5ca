"""Fair order for jobs waiting for a provider slot: round-robin across users, then arrival."""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

from bot.jobs import Job

T = TypeVar("T")

def fair_order(queued: list[T]) -> list[T]:
    """Interleave waiting jobs so each user's next job takes its turn (jobs or light queue entries)."""
    by_user: OrderedDict[tuple[str, str], list[T]] = OrderedDict()
    for job in sorted(queued, key=lambda j: (j.created_at, j.id)):
        by_user.setdefault((job.platform, job.user_id), []).append(job)
    order: list[T] = []
    rounds = max((len(jobs) for jobs in by_user.values()), default=0)
    for turn in range(rounds):
        order.extend(jobs[turn] for jobs in by_user.values() if turn < len(jobs))
    return order


def positions(queued: list[Job]) -> dict[str, int]:
    """Each waiting job's place in line, starting at 1."""
    return {job.id: n for n, job in enumerate(fair_order(queued), start=1)}


def position_of(job: Job, ahead_of_own: int, waiting: list[tuple[str, int, float]]) -> int:
    """A waiting job's place in the fair order, from per-user counts (no need to load the queue).

    The job is its user's turn `ahead_of_own`; every user with more waiting jobs than that has one
    in the same round, served in order of their first arrival.
    """
    own_key = f"{job.platform}:{job.user_id}"
    own_first = next((first for key, _, first in waiting if key == own_key), job.created_at)
    position = 1
    for key, count, first in waiting:
        position += min(count, ahead_of_own)  # their jobs in the earlier rounds
        if key != own_key and count > ahead_of_own and (first, key) < (own_first, own_key):
            position += 1  # their job in this round comes first
    return position
