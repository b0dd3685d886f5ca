"""How long recent jobs of each kind took at the provider, shared by every process through the database.

Each process keeps a copy per kind, read in one query and refreshed every REFRESH_SECONDS (never one
query per poll); what it learns itself is written through and seen at once. Pacing (bot/pacing.py) and
the status message's time left (bot/messages/eta.py) read the copy.

A kind's first jobs to finish are its quick ones: while many of its jobs still running have run longer
than most finished ones took, and its whole history is at hand (fewer than WHOLE finished), pacing is
given every finished duration and how long each running job had run when last polled (read from the
jobs table with the rest), so it can count the running ones too (Kaplan-Meier, bot/pacing.py).
"""

from __future__ import annotations

import asyncio
import logging
import math
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Sequence

from bot.jobs import Job, JobStatus
from bot.store import Store

log = logging.getLogger(__name__)

SAMPLES = 100  # the latest durations used per kind
WHOLE = 1000  # a kind's history read whole up to this many (storage keeps as many: storage.job_times.KEEP)
RUNNING_SHARE = 0.1  # running longer than the median finished, this many per finished: count the running too
MIN_SAMPLES = 5  # fewer than this finished: no prediction, no estimate
REFRESH_SECONDS = 30.0


def kind_of(job: Job, model: str) -> str:
    """Jobs that take about as long as each other: the same provider and model, resolution and duration."""
    return f"{job.provider}:{model}:{job.request.resolution}:{job.request.duration}"


def quantile(ordered: list[float], q: float) -> float:
    """The q-quantile (0..1) of sorted values, by nearest rank."""
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def newest(recent: Sequence[float]) -> list[float]:
    """The latest SAMPLES of a kind's durations (held oldest first), sorted."""
    return sorted(list(recent)[-SAMPLES:])


def spread(recent: Sequence[float], running: list[float]) -> tuple[list[float], list[float] | None]:
    """What to plan a kind's polls from: the latest SAMPLES durations, or all and the running (sorted both).

    `recent` holds the kind's durations, oldest first (up to WHOLE); `running` how long its running jobs
    had run when last seen, sorted. The running are given (not None) only while the history is young:
    all of it at hand, and many running jobs already past the median of those finished.
    """
    latest = newest(recent)
    if not latest or len(recent) >= WHOLE or not running:
        return latest, None
    median = latest[(len(latest) - 1) // 2]
    if len(running) - bisect_right(running, median) < RUNNING_SHARE * len(latest):
        return latest, None
    return sorted(recent), running


def time_left(took: list[float], elapsed: float | None) -> float | None:
    """Seconds a job is likely still to take (the median of those of its kind that ran longer), or None.

    `took` is sorted; `elapsed` the job's time at the provider so far, None when not yet sent (then the
    whole median). None too while too few have finished, or when it has run longer than any of them.
    """
    if len(took) < MIN_SAMPLES:
        return None
    longer = [t for t in took if t > (elapsed or 0.0)]
    if not longer:
        return None
    return longer[(len(longer) - 1) // 2] - (elapsed or 0.0)


class JobHistory:
    """The shared history of job durations, cached per kind."""

    def __init__(self, store: Store, *, model_of: Callable[[Job], str], clock: Callable[[], float],
                 refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.store = store
        self.model_of = model_of  # the model a job runs (its request's: standard or fast, bot/models.py)
        self.clock = clock
        self.refresh_seconds = refresh_seconds
        self._recent: dict[str, deque[float]] = {}  # kind -> durations, oldest first
        self._sorted: dict[str, list[float]] = {}
        self._running: dict[str, list[float]] = {}  # kind -> how long its running jobs had run when last seen
        self._spread: dict[str, tuple[list[float], list[float] | None]] = {}
        self._read_at: float | None = None
        self._lock = asyncio.Lock()
        self.reads = 0  # queries made (for tests and benchmarks: one per refresh, never one per poll)

    def kind(self, job: Job) -> str:
        """The kind `job` counts as."""
        return kind_of(job, self.model_of(job))

    def took(self, job: Job) -> list[float]:
        """How long recent jobs of `job`'s kind took, sorted (from the copy: no query)."""
        kind = self.kind(job)
        if kind not in self._sorted:
            self._sorted[kind] = newest(self._recent.get(kind, ()))
        return self._sorted[kind]

    def spread(self, job: Job) -> tuple[list[float], list[float] | None]:
        """What to plan `job`'s polls from (see spread()): durations, and the running while the history is young."""
        kind = self.kind(job)
        if kind not in self._spread:
            self._spread[kind] = spread(self._recent.get(kind, ()), self._running.get(kind, []))
        return self._spread[kind]

    def time_left(self, job: Job, now: float) -> float | None:
        """Seconds `job` is likely still to take at the provider, or None (too few of its kind, or not there)."""
        if job.status is JobStatus.QUEUED or job.status is JobStatus.SUBMITTING:
            return time_left(self.took(job), None)
        if not job.status.at_provider or job.submitted_at is None:
            return None
        return time_left(self.took(job), max(0.0, now - job.submitted_at))

    async def fresh(self) -> None:
        """Read every kind's latest durations again when the copy is older than REFRESH_SECONDS."""
        if self._read_at is not None and self.clock() - self._read_at < self.refresh_seconds:
            return
        async with self._lock:
            if self._read_at is not None and self.clock() - self._read_at < self.refresh_seconds:
                return  # another caller read it while this one waited
            self._read_at = self.clock()
            try:
                rows = await self.store.recent_job_times(WHOLE)
                running = await self.store.running_jobs()
            except Exception as exc:
                log.warning("could not read recent job times (keeping the last copy): %s", type(exc).__name__)
                return
            self.reads += 1
            self._recent = {kind: deque(reversed(seconds), maxlen=WHOLE) for kind, seconds in rows.items()}
            self._sorted = {}
            self._running = await asyncio.to_thread(self._running_by_kind, running)  # thousands: off the loop
            self._spread = {}

    def _running_by_kind(self, running: list[Job]) -> dict[str, list[float]]:
        seen: dict[str, list[float]] = {}
        for job in running:  # updated at each poll: the last time it was seen running
            seen.setdefault(self.kind(job), []).append(max(0.0, job.updated_at - (job.submitted_at or 0.0)))
        return {kind: sorted(times) for kind, times in seen.items()}

    async def record(self, job: Job, seconds: float) -> None:
        """A job finished at the provider after `seconds` there: keep it for every process, and here at once."""
        kind = self.kind(job)
        self._recent.setdefault(kind, deque(maxlen=WHOLE)).append(max(0.0, seconds))
        self._sorted.pop(kind, None)
        self._spread.pop(kind, None)
        try:
            await self.store.record_job_time(job.id, kind, seconds, self.clock())
        except Exception as exc:
            log.warning("job %s: could not record how long it took: %s", job.id, type(exc).__name__)
