"""Operator commands: quota show/set, usage report, db backup, prune."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.days import utc_day
from bot.jobs import JobStatus
from storage import SQLiteStore, open_store
from tests.test_store import make_job


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("HAILUO_PROVIDER", "DISCORD_TOKEN", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    monkeypatch.setenv("MEDIA_DIR", str(tmp_path / "videos"))
    return tmp_path


async def seed(path: Path, day: str, url: str = "") -> None:
    store = await open_store(url) if url else await SQLiteStore.open(str(path / "bot.db"))
    for n, (user, status) in enumerate([("u1", JobStatus.DELIVERED), ("u1", JobStatus.FAILED), ("u2", None)]):
        job = make_job(n, user=user, cost=n + 1)
        job = job.replace(price_usd=0.28, video_path=str(path / f"v{n}.mp4"))
        Path(job.video_path).write_bytes(b"x" * 1000)
        await store.create_job(job, day=day, user_limit=10, workspace_limit=10)
        if status is JobStatus.DELIVERED:
            for s in (JobStatus.SUBMITTING, JobStatus.SUBMITTED, JobStatus.SUCCEEDED, JobStatus.DELIVERING, status):
                job = await store.transition(job, s)
        elif status is JobStatus.FAILED:
            await store.transition(job, status)
    await store.close()


def test_quota_set_then_show(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quota", "set", "--platform", "discord", "--workspace", "G1", "--user", "U9", "3"]) == 0
    assert "set to 3" in capsys.readouterr().out
    assert main(["quota", "show", "--platform", "discord", "--workspace", "G1", "--user", "U9"]) == 0
    out = capsys.readouterr().out
    assert "user U9: 0 used, 0 held, 3 left of 3 today" in out
    with sqlite3.connect(env / "bot.db") as db:
        row = db.execute("SELECT actor, action, detail FROM admin_log").fetchone()
    assert row[0].startswith("shell:") and row[1:] == ("set_limit", "user U9 = 3")


def test_usage_report_totals_equal_the_ledger(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio
    import time

    day = utc_day(time.time())
    asyncio.run(seed(env, day))
    assert main(["usage", "--csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("day,platform,workspace_id,user_id,jobs,delivered,failed")
    rows = [line.split(",") for line in lines[1:]]
    # the last column: the video service that ran the jobs, whose price is what the dollars add up
    assert [r[:11] for r in rows] == [[day, "fake", "w1", "u1", "2", "1", "1", "1", "0", "2", "0.28"],
                                      [day, "fake", "w1", "u2", "1", "0", "0", "0", "3", "0", "0.0"]]
    assert lines[0].endswith(",usd,provider") and all(r[11] for r in rows)
    with sqlite3.connect(env / "bot.db") as db:
        captured = db.execute("SELECT SUM(credits) FROM quota_ledger WHERE kind = 'capture'").fetchone()[0]
    assert sum(int(r[7]) for r in rows) == captured
    assert main(["usage"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].split()[:2] == ["total", "3"]


def test_backup_and_prune(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio
    import time

    asyncio.run(seed(env, utc_day(time.time())))
    assert main(["db", "backup", str(env / "copy.db")]) == 0
    with sqlite3.connect(env / "copy.db") as db:
        assert db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 3
    assert main(["db", "backup", str(env / "copy.db")]) == 2  # never overwrites
    chains = env / "videos" / "chains"
    chains.mkdir(parents=True)
    (chains / "old-chain.mp4").write_bytes(b"joined")  # a joined chain: a cache, made again on each press
    (chains / "new-chain.mp4").write_bytes(b"joined")
    os.utime(chains / "new-chain.mp4", (time.time() + 3600, time.time() + 3600))
    assert main(["prune", "--older-than", "0"]) == 0
    assert "Deleted 3 file(s)" in capsys.readouterr().out
    assert not (chains / "old-chain.mp4").exists() and (chains / "new-chain.mp4").exists()
    assert not (env / "v0.mp4").exists() and not (env / "v1.mp4").exists()
    assert (env / "v2.mp4").exists()  # the unfinished job keeps its file
    with sqlite3.connect(env / "bot.db") as db:
        assert db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 3


def test_shell_admin_refused_without_write_access_to_the_database(env: Path, capfd: pytest.CaptureFixture) -> None:
    assert main(["quota", "set", "--platform", "slack", "--workspace", "T1", "5"]) == 0
    # The database and its folder become read-only; root ignores that, so as root the child also becomes
    # an ordinary user (nobody). Either way the child cannot write, and the same command must say so.
    env.chmod(0o555)
    (env / "bot.db").chmod(0o444)
    try:
        pid = os.fork()
        if pid == 0:
            code = 99
            try:
                if os.geteuid() == 0:
                    os.setgid(65534)
                    os.setuid(65534)
                code = main(["quota", "set", "--platform", "slack", "--workspace", "T1", "500"])
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
    finally:
        env.chmod(0o755)
        (env / "bot.db").chmod(0o644)
    assert os.waitstatus_to_exitcode(status) == 1
    assert "Operator commands need write access" in capfd.readouterr().err
    with sqlite3.connect(env / "bot.db") as db:
        assert db.execute("SELECT daily_credits FROM quota_limits").fetchall() == [(5,)]


def test_operator_commands_on_postgresql(env: Path, postgres_server, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """quota show/set, usage and prune answer from PostgreSQL as they do from SQLite; db backup points at pg_dump."""
    import asyncio
    import time

    from tests.postgres import PASSWORD, PASSWORD_USER

    day = utc_day(time.time())
    asyncio.run(seed(env, day))  # the same jobs in SQLite, for the answers to compare with
    url = postgres_server.new_database(owner=PASSWORD_USER).replace(
        "postgresql://postgres@", f"postgresql://{PASSWORD_USER}:{PASSWORD}@")
    asyncio.run(seed(env, day, url))
    answers = {}
    for name, database in (("sqlite", f"sqlite:///{env / 'bot.db'}"), ("postgres", url)):
        monkeypatch.setenv("DATABASE_URL", database)
        assert main(["quota", "set", "--platform", "fake", "--workspace", "w1", "--user", "u2", "8"]) == 0
        assert main(["quota", "show", "--platform", "fake", "--workspace", "w1", "--user", "u2"]) == 0
        assert main(["usage", "--csv"]) == 0
        assert main(["usage"]) == 0
        answers[name] = capsys.readouterr().out
    assert answers["postgres"] == answers["sqlite"]
    assert "user u2: 0 used, 3 held, 5 left of 8 today" in answers["postgres"]
    assert f"{day},fake,w1,u1,2,1,1,1,0,2,0.28" in answers["postgres"]

    # DATABASE_URL is still the PostgreSQL one.
    assert main(["prune", "--older-than", "0", "--dry-run"]) == 0
    assert "Would delete 2 file(s)" in capsys.readouterr().out
    assert main(["db", "backup", str(env / "copy.db")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "pg_dump" in err and PASSWORD not in err
    assert not (env / "copy.db").exists()
    monkeypatch.setenv("DATABASE_URL", url.replace(f":{PASSWORD}@", ":wrong@"))
    assert main(["quota", "show", "--platform", "fake", "--workspace", "w1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "DATABASE_URL" in err and "wrong" not in err
