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
