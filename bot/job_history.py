"""How long recent jobs of each kind took at the provider, shared by every process through the database.

Each process keeps a copy per kind, read in one query and refreshed every REFRESH_SECONDS (never one
query per poll); what it learns itself is written through and seen at once. Pacing (bot/pacing.py) and
the status message's time left (bot/messages/eta.py) read the copy.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Callable

from bot.jobs import Job, JobStatus
from bot.store import Store

log = logging.getLogger(__name__)

SAMPLES = 100  # the latest durations used per kind
MIN_SAMPLES = 5  # fewer than this finished: no prediction, no estimate
REFRESH_SECONDS = 30.0


def kind_of(job: Job, model: str) -> str:
    """Jobs that take about as long as each other: the same provider and model, resolution and duration."""
    return f"{job.provider}:{model}:{job.request.resolution}:{job.request.duration}"


def quantile(ordered: list[float], q: float) -> float:
    """The q-quantile (0..1) of sorted values, by nearest rank."""
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


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
            self._sorted[kind] = sorted(self._recent.get(kind, ()))
        return self._sorted[kind]

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
                rows = await self.store.recent_job_times(SAMPLES)
            except Exception as exc:
                log.warning("could not read recent job times (keeping the last copy): %s", type(exc).__name__)
                return
            self.reads += 1
            self._recent = {kind: deque(reversed(seconds), maxlen=SAMPLES) for kind, seconds in rows.items()}
            self._sorted = {}

    async def record(self, job: Job, seconds: float) -> None:
        """A job finished at the provider after `seconds` there: keep it for every process, and here at once."""
        kind = self.kind(job)
        self._recent.setdefault(kind, deque(maxlen=SAMPLES)).append(max(0.0, seconds))
        self._sorted.pop(kind, None)
        try:
            await self.store.record_job_time(job.id, kind, seconds, self.clock())
        except Exception as exc:
            log.warning("job %s: could not record how long it took: %s", job.id, type(exc).__name__)
