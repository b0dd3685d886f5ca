"""The bot's polling against a plain 5-second poller, on the same tasks finishing at realistic times.

The fake MiniMax finishes each task at a time drawn from a spread of Hailuo job times (minutes, by
kind), on a clock running SCALE times faster. The same tasks (same kinds, arrival times and
durations) go through the bot's poller, against the fake, and through a loop that asks every 5
seconds, as MiniMax's own CLI does. At 10,000 jobs a real plain poller (about 40 requests a job)
saturates two cores, so by default it is computed on the same timeline instead: it submits at each
task's arrival, asks 5, 10, 15 ... s later and sees Success at the first ask at or after the task's
end, with no time lost to I/O (its best case). BENCH_POLLING_PLAIN=real runs it against a fake of
its own as well (a few hundred jobs, BENCH_POLLING_JOBS=300), which checks the computation.

By default 10,000 jobs arrive 5 a second (platform time) over 2,000 s: about 8 minutes on a 2-core
machine, the bot using most of one core. The bot's schedule alone (benchmarks/polling_sim.py, no I/O)
is also run on 10,000 other tasks, as a cross-check that takes seconds.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import Figure, NullPort, percentile
from benchmarks.polling_sim import Task, simulate
from bot.config import Settings
from bot.contract import VideoRequest
from bot.jobs import Job
from bot.poller import Poller
from bot.providers.base import TaskStatus
from bot.providers.minimax import MiniMaxProvider
from bot.tasks import TaskSupervisor
from storage import SQLiteStore
from tests.fakes.minimax import FakeMiniMax

JOBS = int(os.environ.get("BENCH_POLLING_JOBS", "10000"))  # through the real bot: 25 a second on its clock
SIM_JOBS = int(os.environ.get("BENCH_POLLING_SIM_JOBS", "10000"))  # the schedule alone, on a timeline
SCALE = float(os.environ.get("BENCH_POLLING_SCALE", "5"))  # the platform's seconds per real second
PLAIN = os.environ.get("BENCH_POLLING_PLAIN", "computed")  # or "real": the plain poller against a fake too
RATE = float(os.environ.get("BENCH_POLLING_RATE", "5"))  # jobs arriving per platform second, at most
ARRIVALS = max(300.0, JOBS / RATE)  # jobs arrive evenly over this many (platform) seconds
FIXED = 5.0  # the plain poller's interval (platform seconds)
# Assumed Hailuo 2.3 job times (submission to Success), median by kind, and their spread (lognormal sigma):
# reports put a 768P 6 s video at two to three minutes, longer ones at four to five.
KINDS = [((6, "768P"), 150.0, 0.6), ((10, "768P"), 260.0, 0.25), ((6, "1080P"), 230.0, 0.15)]  # kind, median, share
SIGMA = float(os.environ.get("BENCH_POLLING_SIGMA", "0.2"))


def tasks(rng: random.Random, jobs: int | None = None, arrivals: float = ARRIVALS) -> list[Task]:
    """(duration, resolution, arrival, time to Success) per job, in platform seconds."""
    out, jobs = [], JOBS if jobs is None else jobs
    for n in range(jobs):
        (duration, resolution), median, _ = rng.choices(KINDS, weights=[k[2] for k in KINDS])[0]
        out.append((duration, resolution, arrivals * n / jobs, median * math.exp(rng.gauss(0, SIGMA))))
    return out


def timeline(plan: list[tuple[int, str, float, float]]):
    """The fake's timeline for a submitted body: Preparing, Queueing, Processing, Success, scaled."""
    def of(body: dict) -> list[tuple[float, str]]:
        took = plan[int(body["prompt"].split()[-1])][3] / SCALE
        return [(0.0, "Preparing"), (0.04 * took, "Queueing"), (0.25 * took, "Processing"), (took, "Success")]
    return of


async def run() -> list[Figure]:
    """Both pollers on the same tasks: requests per job, and success-to-posted p50/p99 (platform seconds)."""
    plan = tasks(random.Random(11))
    bot_requests, bot_delays, bot_wall, bot_warm, bot_seen = await _bot(plan)
    fixed_requests, fixed_delays, fixed_wall, fixed_warm = await _fixed(plan) if PLAIN == "real" else _computed(plan)
    figures = [
        Figure("jobs", JOBS, "count", f"clock x{SCALE:g}, sigma {SIGMA:g}, arrivals over {ARRIVALS:g} s"),
        Figure("plain_poller_real", float(PLAIN == "real"), "flag", "0: computed on the same timeline"),
        Figure("bot_requests_per_job", bot_requests, "requests", "submit + polls + retrieve"),
        Figure("fixed_5s_requests_per_job", fixed_requests, "requests", "submit + polls + retrieve"),
        Figure("fewer_requests_than_5s_poller", fixed_requests / bot_requests, "x", ">= 5x"),
        Figure("bot_success_to_posted_p50", percentile(bot_delays, 50), "s", "<= 5 s"),
        Figure("bot_success_to_posted_p99", percentile(bot_delays, 99), "s"),
        # The poll that saw Success, and what the bot's own work after it (retrieve, record, download, post) adds.
        Figure("bot_success_to_seen_p50", percentile(bot_seen[0], 50), "s"),
        Figure("bot_seen_to_posted_p50", percentile(bot_seen[1], 50), "s", "the bot's own time, on its clock"),
        Figure("fixed_5s_success_to_posted_p50", percentile(fixed_delays, 50), "s"),
        Figure("fixed_5s_success_to_posted_p99", percentile(fixed_delays, 99), "s"),
        # The second half of the arrivals: the bot has seen jobs of each kind finish by then (a running bot).
        Figure("warm_bot_requests_per_job", bot_warm[0], "requests", "second half of arrivals"),
        Figure("warm_fixed_5s_requests_per_job", fixed_warm[0], "requests", "second half of arrivals"),
        Figure("warm_fewer_requests_than_5s_poller", fixed_warm[0] / bot_warm[0], "x", ">= 5x"),
        Figure("warm_bot_success_to_posted_p50", percentile(bot_warm[1], 50), "s", "<= 5 s"),
        Figure("warm_bot_success_to_posted_p99", percentile(bot_warm[1], 99), "s"),
        Figure("warm_bot_success_to_seen_p50", percentile(bot_seen[2], 50), "s"),
        Figure("warm_fixed_5s_success_to_posted_p50", percentile(fixed_warm[1], 50), "s"),
        Figure("warm_fixed_5s_success_to_posted_p99", percentile(fixed_warm[1], 99), "s"),
        Figure("bot_wall_time", bot_wall, "s", "real"),
        Figure("fixed_5s_wall_time", fixed_wall, "s", "real"),
    ]
    return figures + _simulated()


def _simulated() -> list[Figure]:
    """SIM_JOBS tasks through the bot's schedule (no I/O) and the computed plain poller, the same tasks."""
    plan = tasks(random.Random(12), SIM_JOBS, SIM_JOBS / 10)
    requests, delays = simulate(plan)
    plain = [2 + max(1, math.ceil(took / FIXED)) for _, _, _, took in plan]
    plain_delays = [(p - 2) * FIXED - took for p, (_, _, _, took) in zip(plain, plan, strict=True)]
    half = SIM_JOBS // 2
    out = [Figure("sim_jobs", SIM_JOBS, "count", "the schedule alone, no I/O, arrivals 10 a second")]
    for name, part in (("", slice(None)), ("warm_", slice(half, None))):
        bot, fixed = statistics.mean(requests[part]), statistics.mean(plain[part])
        out += [Figure(f"sim_{name}bot_requests_per_job", bot, "requests"),
                Figure(f"sim_{name}fixed_5s_requests_per_job", fixed, "requests"),
                Figure(f"sim_{name}fewer_requests_than_5s_poller", fixed / bot, "x", ">= 5x"),
                Figure(f"sim_{name}bot_success_to_seen_p50", percentile(delays[part], 50), "s", "<= 5 s"),
                Figure(f"sim_{name}bot_success_to_seen_p99", percentile(delays[part], 99), "s"),
                Figure(f"sim_{name}fixed_5s_success_to_seen_p50", percentile(plain_delays[part], 50), "s"),
                Figure(f"sim_{name}fixed_5s_success_to_seen_p99", percentile(plain_delays[part], 99), "s")]
    return out


def _computed(plan: list[tuple[int, str, float, float]]) -> tuple[float, list[float], float, tuple]:
    """The plain 5 s poller on the same timeline: submit, one ask every FIXED s until Success, one retrieve."""
    asks = [max(1, math.ceil(took / FIXED)) for _, _, _, took in plan]
    delays = [n * FIXED - took for n, (_, _, _, took) in zip(asks, plan, strict=True)]
    later = range(JOBS // 2, JOBS)
    warm = (2 + sum(asks[n] for n in later) / len(later), [delays[n] for n in later])
    return 2 + sum(asks) / JOBS, delays, 0.0, warm


def _count(fake: FakeMiniMax) -> float:
    return len([r for r in fake.requests if r[0] != "download"]) / JOBS


def _warm(fake: FakeMiniMax, delays: dict[int, float]) -> tuple[float, list[float]]:
    """Requests per job (submit, its queries, one retrieve) and delays of the second half of the arrivals."""
    ids = list(fake.tasks)  # in submission order; each body's prompt names its job
    later = {t for t in ids if int(fake.tasks[t].body["prompt"].split()[-1]) >= JOBS // 2}
    queries = sum(1 for kind, path in fake.requests if kind == "query" and path.rsplit("=", 1)[-1] in later)
    return 2 + queries / max(1, len(later)), [d for n, d in delays.items() if n >= JOBS // 2]


async def _bot(plan: list[tuple[int, str, float, float]]) -> tuple[float, list[float], float, tuple]:
    fake = await FakeMiniMax(video=b"\x00" * 2048, timeline_for=timeline(plan)).start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp}/bench.db", media_dir=Path(tmp) / "v",
                            poll_first_seconds=5 / SCALE, poll_max_seconds=30 / SCALE, provider_max_in_flight=JOBS,
                            job_timeout_minutes=600)  # type: ignore[call-arg]
        store = await SQLiteStore.open(settings.database_path)
        port, supervisor = NullPort(), TaskSupervisor()
        provider = MiniMaxProvider(fake.api_key, fake.base_url, timeout=60)
        poller = Poller(settings, store, provider, {"bench": port}, supervisor)
        start = time.time() + 1.0

        async def arrive() -> None:
            """Each job is asked for at its arrival time, as members ask (a line of 10,000 would be read each tick)."""
            for n, (duration, resolution, arrival, _) in enumerate(plan):
                at = start + arrival / SCALE
                await asyncio.sleep(max(0.0, at - time.time()))
                request = VideoRequest.build(f"bench {n}", duration=duration, resolution=resolution)
                now = time.time()
                job = Job(id=f"p{n:05d}", platform="bench", workspace_id="w", channel_id="c", user_id=f"u{n % 100}",
                          request=request, cost=1, provider="minimax", created_at=now, updated_at=now,
                          next_poll_at=now)
                await store.create_job(job, day="2030-01-01", user_limit=10**6, workspace_limit=10**9)
                poller.wake()

        began = time.perf_counter()
        poller.start()
        feeder = supervisor.start(arrive(), name="arrivals")
        while len(port.delivered) < JOBS and time.perf_counter() - began < 1800:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        feeder.cancel()
        wall = time.perf_counter() - began
        await poller.stop(5)
        await supervisor.aclose()
        delays: dict[int, float] = {}
        seen: dict[int, float] = {}
        after: list[float] = []
        for job_id, posted in port.delivered.items():
            job = await store.get_job(job_id)
            task_id, n = job.task_id or "", int(job_id[1:])  # type: ignore[union-attr]
            delays[n] = (posted - fake.done_at(task_id)) * SCALE
            seen[n] = (fake.seen_at[task_id] - fake.done_at(task_id)) * SCALE
            after.append((posted - fake.seen_at[task_id]) * SCALE)
        await store.close()
        await provider.aclose()
    await fake.stop()
    warm_seen = [d for n, d in seen.items() if n >= JOBS // 2]
    return _count(fake), list(delays.values()), wall, _warm(fake, delays), (list(seen.values()), after, warm_seen)


async def _fixed(plan: list[tuple[int, str, float, float]]) -> tuple[float, list[float], float, tuple]:
    fake = await FakeMiniMax(video=b"\x00" * 2048, timeline_for=timeline(plan)).start()
    provider = MiniMaxProvider(fake.api_key, fake.base_url, timeout=60)
    delays: dict[int, float] = {}
    start = time.time() + 1.0
    gate = asyncio.Semaphore(256)  # as many requests under way at once as an HTTP client pool allows

    async def one(n: int, duration: int, resolution: str, arrival: float) -> None:
        await asyncio.sleep(max(0.0, start + arrival / SCALE - time.time()))
        async with gate:
            task_id = await provider.submit(VideoRequest.build(f"bench {n}", duration=duration, resolution=resolution))
        while True:
            await asyncio.sleep(FIXED / SCALE)
            async with gate:
                state = await provider.status(task_id)
            if state.status is TaskStatus.SUCCESS:
                break
        async with gate:
            async for _ in provider.download(state):
                pass
        delays[n] = (time.time() - fake.done_at(task_id)) * SCALE

    began = time.perf_counter()
    await asyncio.gather(*(one(n, d, r, a) for n, (d, r, a, _) in enumerate(plan)))
    wall = time.perf_counter() - began
    await provider.aclose()
    await fake.stop()
    return _count(fake), list(delays.values()), wall, _warm(fake, delays)
