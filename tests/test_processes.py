"""Several real `hailuo-bot` processes on one SQLite database: the Procfile's `web` and `worker` side by
side, and many `generate` runs at once. Each job is submitted once, posted once and charged once; the
provider's submission budget holds across processes; concurrent starts migrate the database safely."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import av
import httpx

from tests.fakes.minimax import FakeMiniMax
from tests.fakes.slack import FakeSlack, sign
from tests.test_cli import ROOT, env_for
from tests.test_slack_e2e import free_port

SECRET = "processes-signing-secret"
TERMINAL = {"delivered", "failed", "expired"}
AT_PROVIDER = {"submitted", "preparing", "queueing", "processing"}


# -- reading the database ---------------------------------------------------------------------------------


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    if not db.exists():
        return []
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []  # the process has created the file but not yet its tables: nothing to see yet
        raise
    finally:
        conn.close()


def jobs_of(db: Path) -> list[dict[str, Any]]:
    rows = query(db, "SELECT id, status, request, task_id, video_path FROM jobs ORDER BY created_at")
    return [{"id": i, "status": s, "prompt": json.loads(r)["prompt"], "task_id": t, "video_path": v}
            for i, s, r, t, v in rows]


def ledger_of(db: Path, job_id: str) -> list[str]:
    return sorted(k for (k,) in query(db, "SELECT kind FROM quota_ledger WHERE job_id = ?", (job_id,)))


def events_of(db: Path, job_id: str) -> list[str]:
    return [s for (s,) in query(db, "SELECT status FROM job_events WHERE job_id = ? ORDER BY id", (job_id,))]


def tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


# -- two `hailuo-bot run` processes, as the Procfile's web and worker -----------------------------------


class Pair:
    """`run --slack-http --port P1` (web) and a plain `run` serving HTTP on its own SLACK_PORT (worker)."""

    def __init__(self, tmp_path: Path, slack: FakeSlack, minimax: FakeMiniMax, **env: str) -> None:
        self.tmp_path, self.slack, self.minimax = tmp_path, slack, minimax
        self.db = tmp_path / "bot.db"
        self.web_port, self.worker_port = free_port(), free_port()
        common = dict(SLACK_BOT_TOKEN=slack.bot_token, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=slack.api_url,
                      HAILUO_PROVIDER="minimax", MINIMAX_API_KEY=minimax.api_key, MINIMAX_BASE_URL=minimax.base_url,
                      POLL_FIRST_SECONDS="0.2", POLL_MAX_SECONDS="0.4", SHUTDOWN_GRACE_SECONDS="3")
        common.update(env)
        self.web_env = env_for(tmp_path, **common)
        self.worker_env = env_for(tmp_path, **{**common, "SLACK_PORT": str(self.worker_port)})
        self.procs: dict[str, asyncio.subprocess.Process] = {}

    async def _spawn(self, name: str, args: list[str], env: dict[str, str], port: int) -> None:
        log = (self.tmp_path / f"{name}.log").open("wb")
        self.procs[name] = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, cwd=self.tmp_path, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=log)
        log.close()
        await wait_port(port, self.procs[name], self.tmp_path / f"{name}.log")

    async def start(self) -> None:
        # One after the other, so that this is not also a test of concurrent migrations (that is below).
        await self._spawn("web", ["run", "--slack-http", "--port", str(self.web_port)], self.web_env, self.web_port)
        await self._spawn("worker", ["run"], self.worker_env, self.worker_port)

    async def stop(self) -> None:
        for proc in self.procs.values():
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()

    def assert_alive(self) -> None:
        for name, proc in self.procs.items():
            assert proc.returncode is None, f"{name} exited with {proc.returncode}:\n{self.logs(name)}"

    def logs(self, name: str) -> str:
        return tail(self.tmp_path / f"{name}.log")

    async def ask(self, user: str, port: int | None = None) -> None:
        body = urllib.parse.urlencode({"team_id": "T1", "channel_id": "C1", "user_id": user, "command": "/video",
                                       "text": f"scene for {user}", "response_url": self.slack.response_url(),
                                       "trigger_id": uuid.uuid4().hex})
        async with httpx.AsyncClient() as http:
            answer = await http.post(f"http://127.0.0.1:{port or self.web_port}/slack/events", content=body,
                                     headers=sign(body, SECRET), timeout=10)
        assert answer.status_code == 200, answer.text

    async def until(self, predicate, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if predicate(jobs_of(self.db)):
                return True
            await asyncio.sleep(0.1)
        return False

    def shares(self, job_id: str) -> int:
        """Messages in Slack carrying this job's video file."""
        name = f"hailuo-{job_id}.mp4"
        return sum(1 for messages in self.slack.messages.values() for m in messages
                   for f in m.get("files") or () if f.get("name") == name or f.get("title") == name)

    def submissions(self, prompt: str) -> int:
        return sum(1 for body in self.minimax.submissions if body.get("prompt") == prompt)


async def wait_port(port: int, proc: asyncio.subprocess.Process, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.returncode is not None:
            raise AssertionError(f"exited with {proc.returncode} before serving:\n{tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError(f"port {port} never opened:\n{tail(log)}")


def all_delivered(count: int):
    return lambda jobs: len(jobs) == count and all(j["status"] == "delivered" for j in jobs)


def all_ended(count: int):
    return lambda jobs: len(jobs) == count and all(j["status"] in TERMINAL for j in jobs)


async def test_two_runs_submit_each_job_once_and_post_it_once(tmp_path: Path, sample_mp4: bytes) -> None:
    slack = await FakeSlack().start()
    minimax = await FakeMiniMax(video=sample_mp4, create_delay=1.5).start()
    pair = Pair(tmp_path, slack, minimax)
    users = [f"U{n}" for n in range(1, 6)]
    try:
        await pair.start()
        for user in users:  # one after another, so slow submissions are under way for several seconds
            await pair.ask(user)
            await asyncio.sleep(1.2)
        await pair.until(all_ended(len(users)), 45)
        await asyncio.sleep(1.5)  # a second submission or post under way lands by now
        pair.assert_alive()
        jobs = jobs_of(pair.db)
        report = {j["prompt"]: {"status": j["status"], "submissions": pair.submissions(j["prompt"]),
                                "posts": pair.shares(j["id"]), "ledger": ledger_of(pair.db, j["id"])} for j in jobs}
    finally:
        await pair.stop()
        await slack.stop()
        await minimax.stop()
    once = {"status": "delivered", "submissions": 1, "posts": 1, "ledger": ["capture", "reserve"]}
    expected = {f"scene for {u}": once for u in users}
    assert report == expected, f"web:\n{pair.logs('web')}\nworker:\n{pair.logs('worker')}"
    assert len(minimax.submissions) == len(users)


async def test_two_runs_with_slow_uploads_post_each_video_once(tmp_path: Path, sample_mp4: bytes) -> None:
    slack = await FakeSlack(upload_delay=7).start()
    minimax = await FakeMiniMax(video=sample_mp4).start()
    pair = Pair(tmp_path, slack, minimax)
    users = ["U1", "U2", "U3"]
    try:
        await pair.start()
        for user in users:
            await pair.ask(user)
        await pair.until(all_delivered(len(users)), 40)
        await asyncio.sleep(8)  # a second upload started by the other process would land by now
        pair.assert_alive()
        jobs = jobs_of(pair.db)
        report = {j["prompt"]: {"status": j["status"], "posts": pair.shares(j["id"])} for j in jobs}
        events = {j["prompt"]: events_of(pair.db, j["id"]) for j in jobs}
    finally:
        await pair.stop()
        await slack.stop()
        await minimax.stop()
    assert report == {f"scene for {u}": {"status": "delivered", "posts": 1} for u in users}, events
    # "post not found": another process took an upload still under way for a lost one
    backwards = {p: e for p, e in events.items()
                 if any(a == "delivering" and b == "succeeded" for a, b in itertools.pairwise(e))}
    assert backwards == {}


async def test_submission_budget_is_shared_by_two_runs(tmp_path: Path, sample_mp4: bytes) -> None:
    slack = await FakeSlack().start()
    minimax = await FakeMiniMax(video=sample_mp4).start()
    pair = Pair(tmp_path, slack, minimax, PROVIDER_SUBMITS_PER_MINUTE="1")
    window = 20.0
    try:
        await pair.start()
        await pair.ask("U1")
        await pair.ask("U2")
        await pair.ask("U3", port=pair.worker_port)
        await pair.until(lambda jobs: len(jobs) == 3, 15)
        for _ in range(300):  # up to 15 s for the first submission
            if minimax.submitted_at:
                break
            await asyncio.sleep(0.05)
        assert minimax.submitted_at, f"nothing was submitted:\n{pair.logs('web')}\n{pair.logs('worker')}"
        await asyncio.sleep(max(0.0, minimax.submitted_at[0] + window - time.monotonic()))
        pair.assert_alive()
        first = minimax.submitted_at[0]
        within = [round(t - first, 2) for t in minimax.submitted_at if t - first < window]
        sent = [j for j in jobs_of(pair.db) if j["task_id"]]
    finally:
        await pair.stop()
        await slack.stop()
        await minimax.stop()
    assert within == [0.0], f"submissions {within} s after the first, with 1 allowed per minute"
    assert len(sent) == 1, sent


# -- `generate` runs side by side ---------------------------------------------------------------------


# `python -m bot generate ...` that loads its modules, says it is ready, and waits for the go file, so that
# many processes reach the database within milliseconds of each other.
AT_THE_SIGNAL = (
    "import os, sys, time\n"
    "from bot.__main__ import main\n"
    "open(f'{sys.argv[1]}.ready.{os.getpid()}', 'w').close()\n"
    "while not os.path.exists(sys.argv[1]):\n"
    "    time.sleep(0.005)\n"
    "sys.exit(main(sys.argv[2:]))\n"
)


def spawn_generate(tmp_path: Path, name: str, *args: str, go: Path | None = None, **env: str) -> subprocess.Popen[str]:
    err = (tmp_path / f"{name}.err").open("w")
    out = (tmp_path / f"{name}.out").open("w")
    start = ["-m", "bot"] if go is None else ["-c", AT_THE_SIGNAL, str(go)]
    proc = subprocess.Popen([sys.executable, *start, "generate", *args], cwd=tmp_path,
                            env=env_for(tmp_path, **env), stdout=out, stderr=err, text=True)
    err.close()
    out.close()
    return proc


def wait_ready(tmp_path: Path, count: int) -> None:
    for _ in range(600):  # up to 30 s for every process to load
        if len(list(tmp_path.glob("go.ready.*"))) == count:
            return
        time.sleep(0.05)


def finish(procs: dict[str, subprocess.Popen[str]], seconds: float) -> dict[str, int | None]:
    """Each process's exit code, or None for one still running after `seconds` (then killed)."""
    deadline = time.monotonic() + seconds
    codes: dict[str, int | None] = {}
    for name, proc in procs.items():
        try:
            codes[name] = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            codes[name] = None
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return codes


def prepare_database(tmp_path: Path) -> None:
    """Create and migrate the database with one process, so a test of running side by side is only that."""
    result = subprocess.run([sys.executable, "-m", "bot", "usage"], cwd=tmp_path, env=env_for(tmp_path),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "bot.db").exists()


def assert_mp4(path: Path) -> None:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 1366, 768)
        assert container.duration and abs(float(container.duration / av.time_base) - 6) <= 0.5


def test_generates_at_once_each_get_their_own_video(tmp_path: Path) -> None:
    # Three rather than two: with two, today's race leaves both files right about one run in four.
    prepare_database(tmp_path)
    outs = {"A": tmp_path / "A.mp4", "B": tmp_path / "B.mp4", "C": tmp_path / "C.mp4"}
    prompts = {"A": "a red kite over green hills", "B": "a blue submarine under ice", "C": "a yellow tram at night"}
    go = tmp_path / "go"
    procs = {k: spawn_generate(tmp_path, k, prompts[k], "--out", str(outs[k]), go=go, LOCAL_DELAY_SECONDS="2",
                               LOCAL_FPS="8", QUOTA_USER_MAX_IN_FLIGHT="3") for k in outs}
    wait_ready(tmp_path, len(outs))
    go.touch()
    codes = finish(procs, 60)
    errs = {k: tail(tmp_path / f"{k}.err") for k in outs}
    assert codes == dict.fromkeys(outs, 0), errs
    jobs = {j["prompt"]: j for j in jobs_of(tmp_path / "bot.db")}
    for k, out in outs.items():
        assert (tmp_path / f"{k}.out").read_text().strip() == str(out.resolve()), errs[k]
        assert out.exists(), f"{out.name} missing; {errs[k]}"
        assert_mp4(out)
        job = jobs[prompts[k]]
        assert job["status"] == "delivered"
        own = Path(job["video_path"])
        own = own if own.is_absolute() else tmp_path / own
        assert out.read_bytes() == own.read_bytes(), f"{out.name} is not the video of {prompts[k]!r}"
    assert len({out.read_bytes() for out in outs.values()}) == len(outs)


def test_interrupted_generates_do_not_block_the_next(tmp_path: Path) -> None:
    slow = dict(LOCAL_DELAY_SECONDS="30", QUOTA_USER_MAX_IN_FLIGHT="2", LOCAL_FPS="8")
    db = tmp_path / "bot.db"
    for n in (1, 2):
        proc = spawn_generate(tmp_path, f"slow{n}", f"a slow scene number {n}", **slow)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and proc.poll() is None:
                mine = [j for j in jobs_of(db) if j["prompt"] == f"a slow scene number {n}"]
                if mine and mine[0]["status"] in AT_PROVIDER:
                    break
                time.sleep(0.1)
            assert proc.poll() is None, f"generate {n} ended early: {tail(tmp_path / f'slow{n}.err')}"
            assert next(j["status"] for j in jobs_of(db) if j["prompt"] == f"a slow scene number {n}") in AT_PROVIDER
            proc.send_signal(signal.SIGINT)
            assert finish({"slow": proc}, 15)["slow"] is not None, "generate did not stop on SIGINT"
        finally:
            if proc.poll() is None:
                proc.kill()
    # Shorter than the first two, but not so short that this run's poller finishes the interrupted jobs
    # (the local provider times a task by the delay of whoever polls it) before it asks for its own.
    third = spawn_generate(tmp_path, "third", "a quick scene", "--out", str(tmp_path / "quick.mp4"),
                           LOCAL_DELAY_SECONDS="15", QUOTA_USER_MAX_IN_FLIGHT="2", LOCAL_FPS="8")
    code = finish({"third": third}, 40)["third"]
    err = tail(tmp_path / "third.err")
    assert code == 0, err
    (job,) = [j for j in jobs_of(db) if j["prompt"] == "a quick scene"]
    assert job["status"] == "delivered"
    assert ledger_of(db, job["id"]) == ["capture", "reserve"]
    assert_mp4(tmp_path / "quick.mp4")
    assert (tmp_path / "quick.mp4").read_bytes() == Path(job["video_path"]).read_bytes()


def test_twelve_generates_start_at_once_on_a_new_database(tmp_path: Path) -> None:
    db = tmp_path / "bot.db"
    assert not db.exists()
    env = dict(LOCAL_DELAY_SECONDS="0.5", LOCAL_FPS="2", QUOTA_USER_MAX_IN_FLIGHT="12", QUOTA_USER_DAILY_CREDITS="100",
               QUOTA_WORKSPACE_DAILY_CREDITS="1000", PROVIDER_MAX_IN_FLIGHT="12", PROVIDER_SUBMITS_PER_MINUTE="100")
    names = [f"g{n:02d}" for n in range(12)]
    go = tmp_path / "go"
    procs = {name: spawn_generate(tmp_path, name, f"scene {name}", "--out", str(tmp_path / f"{name}.mp4"), go=go,
                                  **env) for name in names}
    wait_ready(tmp_path, len(names))
    go.touch()
    codes = finish(procs, 45)
    errs = {name: (tmp_path / f"{name}.err").read_text(errors="replace") for name in names}
    bad = {n: errs[n][-600:] for n in names if codes[n] != 0}
    assert codes == dict.fromkeys(names, 0), bad
    for name in names:
        for sign_of_trouble in ("database is locked", "already exists", "OperationalError"):
            assert sign_of_trouble not in errs[name], errs[name]
        assert (tmp_path / f"{name}.mp4").exists()
    assert sorted(j["status"] for j in jobs_of(db)) == ["delivered"] * 12
    migrations = [f for f in os.listdir(ROOT / "storage" / "migrations") if f.endswith(".sql")]
    assert query(db, "PRAGMA user_version")[0][0] == max(int(f.split("_", 1)[0]) for f in migrations)


def test_a_file_that_is_not_a_database_is_named_in_one_line(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    content = b"These are my notes, not a database.\n" * 200
    bogus.write_bytes(content)
    started = time.monotonic()
    try:
        result = subprocess.run([sys.executable, "-m", "bot", "generate", "x"], cwd=tmp_path, capture_output=True,
                                text=True, timeout=15, env=env_for(tmp_path, DATABASE_URL=f"sqlite:///{bogus}"))
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"still running after 15 s; stderr so far: {exc.stderr!r}") from None
    elapsed = time.monotonic() - started
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert len(lines) == 1 and "DATABASE_URL" in lines[0], result.stderr[-2000:]
    assert elapsed < 10
    assert bogus.read_bytes() == content  # left as it was
