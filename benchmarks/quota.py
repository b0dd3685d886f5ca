"""Quota reservations under contention: 100 concurrent requesters on SQLite, two connections."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from benchmarks.common import Figure
from bot.contract import VideoRequest
from bot.jobs import Job
from storage import SQLiteStore

REQUESTERS = 100
PER_REQUESTER = 30
USER_LIMIT = 20
DAY = "2030-01-01"


async def run() -> list[Figure]:
    """Each requester asks PER_REQUESTER times against a limit of USER_LIMIT; count the wrong answers."""
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "quota.db")
        stores = [await SQLiteStore.open(path), await SQLiteStore.open(path)]
        request = VideoRequest.build("x")
        accepted: dict[str, int] = {}

        async def requester(n: int) -> None:
            user = f"u{n}"
            for i in range(PER_REQUESTER):
                job = Job(id=f"{user}-{i}", platform="bench", workspace_id="w", channel_id="c", user_id=user,
                          request=request, cost=1, provider="idle", created_at=time.time(), updated_at=time.time())
                result = await stores[(n + i) % 2].create_job(job, day=DAY, user_limit=USER_LIMIT,
                                                               workspace_limit=10**9)
                accepted[user] = accepted.get(user, 0) + result.ok

        start = time.perf_counter()
        await asyncio.gather(*(requester(n) for n in range(REQUESTERS)))
        elapsed = time.perf_counter() - start
        wrong = sum(abs(count - USER_LIMIT) for count in accepted.values())
        for n in range(REQUESTERS):
            usage = await stores[0].usage("bench", "w", f"u{n}", day=DAY, user_limit=USER_LIMIT, workspace_limit=10**9)
            wrong += usage.user_used != USER_LIMIT
        for store in stores:
            await store.close()
    attempts = REQUESTERS * PER_REQUESTER
    return [Figure("reservations_per_second", attempts / elapsed, "1/s"),
            Figure("attempts", attempts, "count"),
            Figure("wrong_answers", wrong, "count", "must be 0")]
