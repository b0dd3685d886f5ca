"""`run --workers N` and three `run` processes with one killed: every job ends delivered once, charged once."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from tests.fakes.minimax import FakeMiniMax
from tests.fakes.slack import FakeSlack
from tests.test_processes import Pair, all_delivered, events_of, jobs_of, ledger_of, wait_port
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


async def test_three_runs_and_one_killed_mid_way(tmp_path: Path, sample_mp4: bytes) -> None:
    slack = await FakeSlack().start()
    minimax = await FakeMiniMax(video=sample_mp4, steps=["Processing"] * 4 + ["Success"]).start()
    minimax.create_delay = 0.3
    slack.upload_delay = 0.3
    pair = Pair(tmp_path, slack, minimax, PROVIDER_SUBMITS_PER_MINUTE="1000", PROVIDER_MAX_IN_FLIGHT="20",
                QUOTA_USER_MAX_IN_FLIGHT="50", QUOTA_USER_DAILY_CREDITS="100", QUOTA_WORKSPACE_DAILY_CREDITS="1000")
    third_port = free_port()
    try:
        await pair.start()
        await pair._spawn("third", ["run"], {**pair.worker_env, "SLACK_PORT": str(third_port)}, third_port)
        ports = [pair.web_port, pair.worker_port, third_port]
        await asyncio.gather(*(pair.ask(f"U{n}", port=ports[n % 3]) for n in range(30)))
        await pair.until(lambda jobs: sum(j["status"] != "queued" for j in jobs) >= 10, 30)
        pair.procs["worker"].kill()  # SIGKILL: its leases stay until they run out (LEASE_SECONDS=2 here)
        await pair.procs["worker"].wait()
        assert await pair.until(all_delivered(30), 90), jobs_of(pair.db)
        resent = 0
        for job in jobs_of(pair.db):
            assert pair.shares(job["id"]) == 1, job
            assert ledger_of(pair.db, job["id"]) == ["capture", "reserve"], job
            # A submission on the wire when its process was killed is sent once more (the provider has no
            # idempotency key); the job's history says so. Every other job was sent exactly once.
            cut_off = "submitting" in events_of(pair.db, job["id"])[2:]
            assert pair.submissions(job["prompt"]) == (2 if cut_off else 1), (job, events_of(pair.db, job["id"]))
            resent += cut_off
        assert resent < 30  # only the killed process's submissions under way, never the others
    finally:
        await pair.stop()
        await slack.stop()
        await minimax.stop()
