"""10,000 jobs in flight against a local fake MiniMax whose tasks finish at spread-out times."""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from pathlib import Path

from benchmarks.common import Figure, NullPort, StallMonitor, peak_rss_mb, percentile
from bot.config import Settings
from bot.contract import VideoRequest
from bot.jobs import Job, JobStatus
from bot.poller import Poller
from bot.providers.minimax import MiniMaxProvider
from bot.tasks import TaskSupervisor
from storage import SQLiteStore
from tests.fakes.minimax import FakeMiniMax

JOBS = 10_000
DEADLINE = 600.0


async def run() -> list[Figure]:
    """Submit, poll and deliver every job; count provider requests, stalls, memory and delays."""
    rng = random.Random(7)
    fake = await FakeMiniMax(video=b"\x00" * 2048,
                             steps_for=lambda: ["Queueing"] * rng.randint(1, 4) + ["Processing"] * rng.randint(1, 6)
                             + ["Success"]).start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp}/bench.db", media_dir=Path(tmp) / "v",
                            poll_first_seconds=2, poll_max_seconds=8, provider_max_in_flight=JOBS,
                            job_timeout_minutes=60)  # type: ignore[call-arg]
        store = await SQLiteStore.open(settings.database_path)
        request = VideoRequest.build("a benchmark scene")
        now = time.time()
        for n in range(JOBS):
            job = Job(id=f"b{n:05d}", platform="bench", workspace_id="w", channel_id="c", user_id=f"u{n % 500}",
                      request=request, cost=1, provider="minimax", created_at=now, updated_at=now, next_poll_at=now)
            await store.create_job(job, day="2030-01-01", user_limit=10**6, workspace_limit=10**9)
        port = NullPort()
        supervisor = TaskSupervisor()
        provider = MiniMaxProvider(fake.api_key, fake.base_url, timeout=60)
        poller = Poller(settings, store, provider, {"bench": port}, supervisor)
        rss_before = peak_rss_mb()
        start = time.perf_counter()
        with StallMonitor() as stalls:
            poller.start()
            while len(port.delivered) < JOBS and time.perf_counter() - start < DEADLINE:  # noqa: ASYNC110
                await asyncio.sleep(0.5)
        elapsed = time.perf_counter() - start
        await poller.stop(5)
        await supervisor.aclose()
        delays = []
        for job_id, delivered_at in port.delivered.items():
            succeeded = next(at for status, at, _ in await store.events(job_id) if status == JobStatus.SUCCEEDED)
            delays.append(delivered_at - succeeded)
        await store.close()
        await provider.aclose()
    await fake.stop()
    requests = len([r for r in fake.requests if r[0] != "download"])
    return [
        Figure("jobs_delivered", len(port.delivered), "count", f"of {JOBS}"),
        Figure("wall_time", elapsed, "s"),
        Figure("provider_requests_per_job", requests / JOBS, "requests", "< 10"),
        Figure("max_event_loop_stall", stalls.worst * 1000, "ms", "< 100 ms"),
        Figure("peak_memory", peak_rss_mb(), "MB", "< 500 MB"),
        Figure("memory_growth", peak_rss_mb() - rss_before, "MB"),
        Figure("success_to_delivery_p50", percentile(delays, 50), "s"),
        Figure("success_to_delivery_p99", percentile(delays, 99), "s"),
    ]
