"""1, 2 and 4 `hailuo-bot` processes sharing one PostgreSQL database, many jobs, a local fake MiniMax.

Measures jobs/s end to end, provider HTTP requests per job, duplicates (submissions or posts per job > 1)
and the takeover time after one of two processes is killed with SIGKILL mid-way.

`python -m benchmarks scale [--jobs N]`. Each bot process is a real subprocess
(`python -m benchmarks.scale --worker`) running `open_runtime` with a "bench" chat platform that
records each post in a file of its own; its `find_video` reads every process's file, as a real
platform shows every post to whoever looks.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.common import Figure, NullPort
from bot.ports import MessageRef, ThreadRef, VideoPost

JOBS = 10_000
PROCESS_COUNTS = (1, 2, 4)
LEASE_SECONDS = 5.0
DEADLINE = 900.0  # seconds per run before the benchmark gives up on it


# -- the worker: one bot process ---------------------------------------------------------------------


class BenchPort(NullPort):
    """A platform that takes every post at once: one line per post in this process's file."""

    def __init__(self, posts_dir: Path) -> None:
        super().__init__("bench")
        self.posts_dir = posts_dir
        self._fd = os.open(posts_dir / f"{os.getpid()}.posts", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    async def post_video(self, to: ThreadRef, video: VideoPost) -> MessageRef:
        os.write(self._fd, f"{video.job_id}\n".encode())  # one write: in the file even if SIGKILL follows
        return MessageRef(to.channel_id, f"{os.getpid()}-{video.job_id}")

    async def find_video(self, to: ThreadRef, job_id: str) -> MessageRef | None:
        for path in self.posts_dir.glob("*.posts"):
            if job_id in path.read_text().split():
                return MessageRef(to.channel_id, f"{path.stem}-{job_id}")
        return None


async def _worker(posts_dir: Path) -> None:
    from bot.cli.runtime import open_runtime
    from bot.config import Settings

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with open_runtime(settings, {"bench": BenchPort(posts_dir)}):
        await stop.wait()


# -- the driver ------------------------------------------------------------------------------------------


def _sample_mp4(folder: Path) -> bytes:
    from bot.providers.render import render_video

    path = folder / "sample.mp4"
    render_video(path, prompt="sample", duration=6, resolution="768P", fps=1)
    return path.read_bytes()


async def _create_jobs(url: str, count: int) -> None:
    from bot.contract import VideoRequest
    from bot.jobs import Job
    from storage import open_store

    store = await open_store(url)
    try:
        now = time.time()

        async def make(n: int) -> None:
            job = Job(id=f"s{n:05d}", platform="bench", workspace_id="w", channel_id="c", user_id=f"u{n % 500}",
                      request=VideoRequest.build(f"scale benchmark job s{n:05d}"), cost=1, provider="minimax",
                      created_at=now, updated_at=now, next_poll_at=now)
            reservation = await store.create_job(job, day="2030-01-01", user_limit=10**6, workspace_limit=10**9)
            assert reservation.ok, reservation

        for start in range(0, count, 200):
            await asyncio.gather(*(make(n) for n in range(start, min(count, start + 200))))
    finally:
        await store.close()


def _spawn(env: dict[str, str], posts_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as err:
        return subprocess.Popen([sys.executable, "-m", "benchmarks.scale", "--worker", str(posts_dir)],
                                env=env, stdout=subprocess.DEVNULL, stderr=err)


async def _one_run(server: object, fake_video: bytes, jobs: int, processes: int, tmp: Path, *,
                   kill_at: float | None = None) -> dict[str, float]:
    """Create `jobs` jobs, run `processes` bot processes until all are terminal; with `kill_at` (a fraction
    of jobs delivered), SIGKILL the first process then and time the takeover of its leased jobs."""
    import asyncpg

    from tests.fakes.minimax import FakeMiniMax

    url = server.new_database()  # type: ignore[attr-defined]
    await _create_jobs(url, jobs)  # migrates the database too
    fake = await FakeMiniMax(video=fake_video, steps=["Success"]).start()
    run_dir = Path(tempfile.mkdtemp(dir=tmp))
    posts_dir = run_dir / "posts"
    posts_dir.mkdir()
    env = {**os.environ, "DATABASE_URL": url, "HAILUO_PROVIDER": "minimax", "MINIMAX_API_KEY": fake.api_key,
           "MINIMAX_BASE_URL": fake.base_url, "LEASE_SECONDS": str(LEASE_SECONDS), "POLL_FIRST_SECONDS": "0.2",
           "POLL_MAX_SECONDS": "1", "PROVIDER_SUBMITS_PER_MINUTE": "100000", "PROVIDER_MAX_IN_FLIGHT": "500",
           "JOB_TIMEOUT_MINUTES": "120", "SHUTDOWN_GRACE_SECONDS": "5", "LOG_LEVEL": "WARNING"}
    db = await asyncpg.connect(url)
    procs: list[subprocess.Popen[bytes]] = []
    out: dict[str, float] = {}
    try:
        start = time.time()
        for n in range(processes):
            procs.append(_spawn({**env, "MEDIA_DIR": str(run_dir / f"media{n}")}, posts_dir, run_dir / f"w{n}.log"))
        killed: dict[str, int] | None = None
        kill_time = 0.0
        while time.time() - start < DEADLINE:
            await asyncio.sleep(0.2)
            done = await db.fetchval("SELECT COUNT(*) FROM jobs WHERE status IN ('delivered', 'failed', 'expired')")
            if kill_at is not None and killed is None and done >= kill_at * jobs:
                victim = procs[0]
                victim.send_signal(signal.SIGKILL)
                kill_time = time.time()
                victim.wait()
                # The dead process cannot change its rows any more: what it held is what it held at the kill.
                rows = await db.fetch("SELECT id, (SELECT COALESCE(MAX(e.id), 0) FROM job_events e "
                                      "WHERE e.job_id = jobs.id) AS last FROM jobs WHERE lease_owner LIKE $1 "
                                      # A job it had just finished has no later step to take over.
                                      "AND status NOT IN ('delivered', 'failed', 'expired')",
                                      f"%:{victim.pid}:%")
                killed = {r["id"]: r["last"] for r in rows}
            if done >= jobs:
                break
            for p in procs:
                if p.poll() not in (None, -signal.SIGKILL):
                    raise RuntimeError(f"a bot process ended early ({p.returncode}); see {run_dir}")
        delivered_rows = await db.fetch("SELECT MAX(at) FROM job_events WHERE status = 'delivered'")
        statuses = dict(await db.fetch("SELECT status, COUNT(*) FROM jobs GROUP BY status"))
        last_delivery = delivered_rows[0][0] or time.time()
        out["delivered"] = statuses.get("delivered", 0)
        out["not_delivered"] = jobs - out["delivered"]
        out["wall_time"] = last_delivery - start
        out["jobs_per_second"] = out["delivered"] / out["wall_time"]
        if killed is not None:
            out["killed_leases"] = len(killed)
            moved = []
            for job_id, last in killed.items():
                at = await db.fetchval("SELECT MIN(at) FROM job_events WHERE job_id = $1 AND id > $2", job_id, last)
                moved.append(float("inf") if at is None else at - kill_time)
            out["takeover_max"] = max(moved, default=0.0)
            out["takeover_min"] = min(moved, default=0.0)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        await db.close()
        await fake.stop()
    submissions = Counter(body["prompt"].rsplit(" ", 1)[-1] for body in fake.submissions)
    posts = Counter(line for path in posts_dir.glob("*.posts") for line in path.read_text().split())
    requests = [kind for kind, _ in fake.requests]
    out["requests_per_job"] = len([k for k in requests if k != "download"]) / jobs
    out["downloads_per_job"] = requests.count("download") / jobs
    out["duplicate_submissions"] = sum(n - 1 for n in submissions.values() if n > 1)
    out["duplicate_posts"] = sum(n - 1 for n in posts.values() if n > 1)
    out["jobs_never_posted"] = jobs - len(posts)
    shutil.rmtree(run_dir, ignore_errors=True)
    return out


async def run(jobs: int = JOBS) -> list[Figure]:
    """Each process count in turn on a fresh database, then the SIGKILL takeover with two processes."""
    from tests.postgres import PostgresServer, find_bin

    bindir = find_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (initdb, pg_ctl): the scale benchmark needs it")
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        video = await asyncio.to_thread(_sample_mp4, tmp)
        server = PostgresServer(bindir).start()
        try:
            for processes in PROCESS_COUNTS:
                r = await _one_run(server, video, jobs, processes, tmp)
                _print(f"{processes} process(es)", r)
                p = f"p{processes}_"
                figures += [
                    Figure(p + "jobs_delivered", r["delivered"], "count", f"of {jobs}"),
                    Figure(p + "wall_time", r["wall_time"], "s"),
                    Figure(p + "jobs_per_second", r["jobs_per_second"], "jobs/s"),
                    Figure(p + "provider_requests_per_job", r["requests_per_job"], "requests", "submit+query+retrieve"),
                    Figure(p + "downloads_per_job", r["downloads_per_job"], "requests"),
                    Figure(p + "duplicate_submissions", r["duplicate_submissions"], "count", "0"),
                    Figure(p + "duplicate_posts", r["duplicate_posts"], "count", "0"),
                ]
            r = await _one_run(server, video, jobs, 2, tmp, kill_at=0.5)
            _print("2 processes, one SIGKILLed at half", r)
            figures += [
                Figure("kill_jobs_delivered", r["delivered"], "count", f"of {jobs}"),
                Figure("kill_leases_held_by_killed", r.get("killed_leases", 0), "jobs"),
                Figure("kill_takeover_max", r.get("takeover_max", 0.0), "s", f"LEASE_SECONDS={LEASE_SECONDS:g}"),
                Figure("kill_takeover_min", r.get("takeover_min", 0.0), "s"),
                Figure("kill_wall_time", r["wall_time"], "s"),
                Figure("kill_provider_requests_per_job", r["requests_per_job"], "requests"),
                Figure("kill_duplicate_submissions", r["duplicate_submissions"], "count", "0"),
                Figure("kill_duplicate_posts", r["duplicate_posts"], "count", "0"),
            ]
        finally:
            server.stop()
    return figures


def _print(title: str, r: dict[str, float]) -> None:
    print(f"{title}: " + ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()),
          file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """`python -m benchmarks.scale --worker POSTS_DIR` (one bot process), or `--jobs N` to run the benchmark."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale")
    parser.add_argument("--worker", metavar="POSTS_DIR")
    parser.add_argument("--jobs", type=int, default=JOBS)
    args = parser.parse_args(argv)
    if args.worker:
        import logging

        logging.basicConfig(level=logging.WARNING)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_worker(Path(args.worker)))
        return 0
    for figure in asyncio.run(run(args.jobs)):
        print(f"  {figure.name:<38} {figure.value:>12.3f} {figure.unit:<10} {figure.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
