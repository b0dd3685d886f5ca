"""`run --workers N`, and three `run` processes (one of them killed, or not) on SQLite and on PostgreSQL:
every job ends delivered once and charged once, and is submitted once unless its submission was cut off."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from tests.fakes.minimax import FakeMiniMax
from tests.fakes.slack import FakeSlack
from tests.test_processes import Pair, all_delivered, jobs_of, ledger_of, wait_port
from tests.test_slack_e2e import free_port


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


async def test_workers_share_the_port_and_stop_together(tmp_path: Path, sample_mp4: bytes) -> None:
    slack = await FakeSlack().start()
    minimax = await FakeMiniMax(video=sample_mp4, steps=["Processing", "Success"]).start()
    pair = Pair(tmp_path, slack, minimax, PROVIDER_SUBMITS_PER_MINUTE="100", PROVIDER_MAX_IN_FLIGHT="10",
                QUOTA_USER_MAX_IN_FLIGHT="10")
    try:
        log = (tmp_path / "workers.log").open("wb")
        parent = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--workers", "2", "--slack-http", "--port", str(pair.web_port),
            cwd=tmp_path, env=pair.web_env, stdout=asyncio.subprocess.DEVNULL, stderr=log)
        log.close()
        await wait_port(pair.web_port, parent, tmp_path / "workers.log")
        await asyncio.sleep(1.0)  # both workers listening
        assert len(children(parent.pid)) == 2
        await asyncio.gather(*(pair.ask(f"U{n}") for n in range(8)))
        assert await pair.until(all_delivered(8), 60), jobs_of(pair.db)
        for job in jobs_of(pair.db):
            assert pair.shares(job["id"]) == 1 and pair.submissions(job["prompt"]) == 1
            assert ledger_of(pair.db, job["id"]) == ["capture", "reserve"]
        parent.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(parent.wait(), 30) == 0
    finally:
        if parent.returncode is None:
            parent.kill()
        await slack.stop()
        await minimax.stop()


async def all_jobs(store) -> list:
    return [*await store.active_jobs(), *await store.finished_before(float("inf"))]


async def until_all_delivered(store, count: int, seconds: float) -> list:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        jobs = await all_jobs(store)
        if (len(jobs) == count and all(j.status.value == "delivered" for j in jobs)) or \
                asyncio.get_running_loop().time() > deadline:
            return jobs
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("kill", [True, False], ids=["one-killed", "all-alive"])
async def test_three_runs_each_job_once(tmp_path: Path, sample_mp4: bytes, store_url: str, open_test_store,
                                        kill: bool) -> None:
    slack = await FakeSlack().start()
    minimax = await FakeMiniMax(video=sample_mp4, steps=["Processing"] * 4 + ["Success"]).start()
    minimax.create_delay = 0.3
    slack.upload_delay = 0.3
    pair = Pair(tmp_path, slack, minimax, PROVIDER_SUBMITS_PER_MINUTE="1000", PROVIDER_MAX_IN_FLIGHT="20",
                QUOTA_USER_MAX_IN_FLIGHT="50", QUOTA_USER_DAILY_CREDITS="100", QUOTA_WORKSPACE_DAILY_CREDITS="1000",
                DATABASE_URL=store_url)
    third_port = free_port()
    store = await open_test_store()
    try:
        await pair.start()
        await pair._spawn("third", ["run"], {**pair.worker_env, "SLACK_PORT": str(third_port)}, third_port)
        ports = [pair.web_port, pair.worker_port, third_port]
        await asyncio.gather(*(pair.ask(f"U{n}", port=ports[n % 3]) for n in range(30)))
        # Every command recorded first (a command acknowledged but not yet recorded dies with its process:
        # that is the durable inbox's business, not the leases'), then the kill with work under way.
        for _ in range(300):
            recorded = await all_jobs(store)
            if len(recorded) == 30 and sum(j.status.value != "queued" for j in recorded) >= 10:
                break
            await asyncio.sleep(0.1)
        if kill:
            pair.procs["worker"].kill()  # SIGKILL: its leases stay until they run out (LEASE_SECONDS=2 here)
            await pair.procs["worker"].wait()
        jobs = await until_all_delivered(store, 30, 90)
        assert len(jobs) == 30 and {j.status.value for j in jobs} == {"delivered"}, [j.status for j in jobs]
        resent = 0
        for job in jobs:
            assert pair.shares(job.id) == 1, job
            assert sorted(k for k, _, _ in await store.ledger(job.id)) == ["capture", "reserve"], job
            # A submission cut off by the kill is sent once more (the provider has no idempotency key), so
            # the provider saw it once or twice; the job's history says so. Every other job: exactly once.
            events = [s for s, _, _ in await store.events(job.id)]
            cut_off = "submitting" in events[2:]
            assert pair.submissions(job.request.prompt) in ((1, 2) if cut_off else (1,)), (job.id, events)
            resent += cut_off
        # Only the killed process's submissions under way are sent again; with every process alive, none.
        assert resent < 30 if kill else resent == 0
    finally:
        await pair.stop()
        await slack.stop()
        await minimax.stop()
