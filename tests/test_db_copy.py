"""`hailuo-bot db copy SOURCE_URL TARGET_URL`: a SQLite install moved into PostgreSQL, row for row.

Needs a real PostgreSQL server (tests/postgres.py); skipped the way the store tests are when none is installed.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from bot.__main__ import main
from bot.contract import FirstFrame, VideoRequest
from bot.jobs import Job, JobStatus
from bot.presets import Preset
from bot.store import InboxItem
from storage import open_store
from storage.copy import TABLES
from tests.postgres import PASSWORD, PASSWORD_USER

DAY = "2027-03-04"
ORDER = {"jobs": "id", "workspace_locales": "platform, workspace_id", "quota_limits": "platform, workspace_id, user_id",
         "blocked_users": "platform, workspace_id, user_id", "allowed_channels": "platform, workspace_id, channel_id",
         "frames": "name", "inbox": "key", "workspace_budgets": "platform, workspace_id",
         "presets": "platform, workspace_id, owner, name", "preset_defaults": "platform, workspace_id, user_id",
         "job_times": "job_id"}
LEASED = ("lease_owner", "lease_until")  # cleared by a copy: nobody holds anything in the new database
PAIRS = [("discord", "G1", "u1"), ("discord", "G1", "u2"), ("slack", "T1", "U7")]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("HAILUO_PROVIDER", "DISCORD_TOKEN", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'unused.db'}")
    monkeypatch.setenv("MEDIA_DIR", str(tmp_path / "videos"))
    return tmp_path


@pytest.fixture
def pg_url(postgres_server) -> str:
    """An empty database owned by a user with a password, reached with that password (it must never be printed)."""
    url = postgres_server.new_database(owner=PASSWORD_USER)
    return url.replace("postgresql://postgres@", f"postgresql://{PASSWORD_USER}:{PASSWORD}@")


def _job(n: int, platform: str, ws: str, user: str, **fields: object) -> Job:
    req = VideoRequest.build(f"a cat, take {n}", duration=10 if n % 2 else 6)
    return Job(id=f"job-{n}", platform=platform, workspace_id=ws, channel_id=f"c{n}", user_id=user,
               user_name=f"name {user}", request=req, cost=n + 1, provider="minimax",
               created_at=1_800_000_000.123456 + n, updated_at=1_800_000_000.123456 + n, day=DAY,
               price_usd=0.19 * (n + 1), **fields)  # type: ignore[arg-type]


async def seed(url: str) -> None:
    """Jobs in several states, their events and ledger, limits, blocks, channels, the admin log and a frame."""
    ticks = itertools.count()
    store = await open_store(url, clock=lambda: 1_800_000_100.000001 + next(ticks) * 0.25)
    try:
        for n, (platform, ws, user) in enumerate(PAIRS * 2):
            job = _job(n, platform, ws, user, thread_id=f"th{n}" if n % 2 else None, status_message_id=f"m{n}")
            if n == 4:
                frame = FirstFrame(path=f"/media/frames/f{n}.png", mime="image/png", width=640, height=360)
                job = job.replace(request=job.request.with_first_frame(frame))
                await store.put_frame(f"f{n}.png", bytes(range(256)) * 3)
            assert (await store.create_job(job, day=DAY, user_limit=100, workspace_limit=100)).ok
            if n == 0:  # delivered: submitted, succeeded, delivered (credits captured)
                for status, changes in [(JobStatus.SUBMITTING, {}), (JobStatus.SUBMITTED, {"task_id": "T-0"}),
                                        (JobStatus.SUCCEEDED, {"video_url": "https://cdn/v0.mp4"}),
                                        (JobStatus.DELIVERING, {"video_path": "/media/v0.mp4", "video_bytes": 12345}),
                                        (JobStatus.DELIVERED, {"delivered_ref": "msg-0"})]:
                    job = await store.transition(job, status, **changes)
            elif n == 1:  # failed before submission (credits released)
                await store.transition(job, JobStatus.FAILED, detail="provider said no", error="bad prompt")
            elif n == 2:  # at the provider, a step leased by a process of the old install
                job = await store.transition(job, JobStatus.SUBMITTING)
                job = await store.transition(job, JobStatus.SUBMITTED, task_id="T-2")
                await store.take_lease(job, "old-host:123", 1_800_009_999.5, 1_800_000_200.0)
            elif n == 3:
                await store.update(job, next_poll_at=1_800_000_300.75, attempts=2, polls=5)
            elif n == 5:  # cancelled while waiting (credits released); the request and the refund carried over
                assert await store.request_cancel(job.id, "U7", 1_800_000_150.5)
                job = await store.get_job(job.id)
                await store.transition(job, JobStatus.CANCELLED, error="Cancelled.", cancel_refunded=True)
            # n == 4: still queued
        # the inbox: one command done (its key still refuses a resend), one a process left unfinished
        await store.inbox_add([InboxItem("slack:trigger:t1", "slack", "command", '{"text": "a"}', 1_800_000_000.5),
                               InboxItem("discord:99", "discord", "interaction", '{"x": 1}', 1_800_000_001.25)],
                              "old-host:123", 1_800_009_999.0)
        await store.inbox_done("slack:trigger:t1")
        await store.set_limit("discord", "G1", "u1", 40, set_by="discord:admin1")
        await store.set_limit("discord", "G1", "", 90, set_by="shell:root")
        await store.set_blocked("discord", "G1", "bad", True, set_by="discord:admin1")
        await store.set_blocked("slack", "T1", "gone", True, set_by="slack:A")
        await store.set_blocked("slack", "T1", "gone", False, set_by="slack:A")
        await store.set_channel_allowed("slack", "T1", "C-video", True, set_by="slack:A")
        await store.set_channel_allowed("discord", "G1", "c-x", True, set_by="discord:admin1")
        await store.set_workspace_budget("discord", "G1", 12.5, set_by="discord:admin1")
        await store.save_preset(Preset("discord", "G1", "u1", "noir", "{prompt}, film noir", duration=10,
                                       prompt_optimizer=False, created_by="discord:u1", created_at=1_800_000_000.5),
                                max_per_scope=25)
        await store.set_default_preset("discord", "G1", "u1", "noir")
        await store.record_job_time("j-done", "minimax:MiniMax-Hailuo-2.3:768P:6", 151.25, finished_at=1_800_000_321.5)
    finally:
        await store.close()


async def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every copied table, in a fixed order; a table's lease columns (if any) come last."""
    out: dict[str, list[tuple]] = {}
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            for t in TABLES:
                cur = db.execute(f"SELECT * FROM {t} ORDER BY {ORDER.get(t, 'id')}")
                names = [d[0] for d in cur.description]
                out[t] = [_leases_last(names, tuple(r)) for r in cur]
        return out
    db = await asyncpg.connect(url)
    try:
        for t in TABLES:
            out[t] = [_leases_last(list(r.keys()), tuple(bytes(v) if isinstance(v, memoryview) else v for v in r))
                      for r in await db.fetch(f"SELECT * FROM {t} ORDER BY {ORDER.get(t, 'id')}")]
    finally:
        await db.close()
    return out


def _leases_last(names: list[str], row: tuple) -> tuple:
    last = [names.index(n) for n in LEASED if n in names]
    return tuple(v for i, v in enumerate(row) if i not in last) + tuple(row[i] for i in last)


async def compare_stores(sqlite_url: str, pg_url: str) -> None:
    """The same answers through the store API on both databases."""
    a, b = await open_store(sqlite_url), await open_store(pg_url)
    try:
        for n in range(len(PAIRS) * 2):
            job = await a.get_job(f"job-{n}")
            assert job is not None and await b.get_job(job.id) == job  # every field
            assert await b.events(job.id) == await a.events(job.id)
            assert await b.ledger(job.id) == await a.ledger(job.id)
        for platform, ws, user in [*PAIRS, ("discord", "G1", "bad"), ("slack", "T1", "gone")]:
            assert await b.limits(platform, ws) == await a.limits(platform, ws)
            assert await b.is_blocked(platform, ws, user) == await a.is_blocked(platform, ws, user)
            assert await b.allowed_channels(platform, ws) == await a.allowed_channels(platform, ws)
            assert await b.admin_log(platform, ws) == await a.admin_log(platform, ws)
            assert await b.workspace_budget(platform, ws, day=DAY) == await a.workspace_budget(platform, ws, day=DAY)
            assert await b.presets(platform, ws, user) == await a.presets(platform, ws, user)
            assert await b.default_preset(platform, ws, user) == await a.default_preset(platform, ws, user)
            for limits in [(100, 100), (3, 5)]:
                assert (await b.usage(platform, ws, user, day=DAY, user_limit=limits[0], workspace_limit=limits[1])
                        == await a.usage(platform, ws, user, day=DAY, user_limit=limits[0], workspace_limit=limits[1]))
        assert await b.usage_report() == await a.usage_report()
        assert await b.get_frame("f4.png") == await a.get_frame("f4.png") == bytes(range(256)) * 3
    finally:
        await a.close()
        await b.close()


def test_copy_sqlite_into_postgres(env: Path, pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    sqlite_url = f"sqlite:///{env / 'old.db'}"
    asyncio.run(seed(sqlite_url))
    before = asyncio.run(snapshot(sqlite_url))

    assert main(["db", "copy", sqlite_url, pg_url]) == 0
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err and err == ""
    assert out.count("\n") == 1 and f"{PASSWORD_USER}:***@" in out
    assert ", ".join(f"{len(before[t])} {t}" for t in TABLES) + "." in out
    assert len(before["jobs"]) == 6 and len(before["admin_log"]) == 8 and len(before["frames"]) == 1
    assert len(before["workspace_budgets"]) == 1
    assert len(before["presets"]) == len(before["preset_defaults"]) == 1

    copied = asyncio.run(snapshot(pg_url))
    assert asyncio.run(snapshot(sqlite_url)) == before  # the source is only read
    leased = [r for r in before["jobs"] if r[-2] is not None]
    assert len(leased) == 1 and leased[0][-2:] == ("old-host:123", 1_800_009_999.5)
    assert [r[:-2] for r in copied["jobs"]] == [r[:-2] for r in before["jobs"]]  # ids, statuses, times exact
    assert {r[-2:] for r in copied["jobs"]} == {(None, 0.0)}  # leases cleared
    assert [r[:-2] for r in copied["inbox"]] == [r[:-2] for r in before["inbox"]]  # a resend is still refused
    assert {r[-2:] for r in copied["inbox"]} == {(None, 0.0)}  # the unfinished one: replayed by the next start
    for table in TABLES[1:-1]:
        assert copied[table] == before[table], table
    asyncio.run(compare_stores(sqlite_url, pg_url))

    # A second copy into the now non-empty target is refused and changes nothing.
    assert main(["db", "copy", sqlite_url, pg_url]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "not empty" in err and "6 jobs" in err and PASSWORD not in err
    assert asyncio.run(snapshot(pg_url)) == copied

    asyncio.run(_new_rows_after_copy(pg_url, copied))


async def _new_rows_after_copy(pg_url: str, copied: dict[str, list[tuple]]) -> None:
    """The identity sequences continue past the copied ids: new jobs, events, ledger rows and admin entries fit."""
    store = await open_store(pg_url)
    try:
        job = _job(9, "discord", "G1", "u2")
        assert (await store.create_job(job, day=DAY, user_limit=100, workspace_limit=100)).ok
        job = await store.transition(job, JobStatus.SUBMITTING)
        await store.transition(job, JobStatus.FAILED, error="x")
        await store.set_limit("discord", "G1", "u2", 7, set_by="shell:test")
        usage = await store.usage("discord", "G1", "u2", day=DAY, user_limit=100, workspace_limit=100)
        assert usage.user_used == 5  # job 4 still holds its 5 credits; jobs 1 and 9 were released
    finally:
        await store.close()
    after = await snapshot(pg_url)
    for table in ("job_events", "quota_ledger", "admin_log"):
        old_max = max(r[0] for r in copied[table])
        new = [r[0] for r in after[table] if r[0] > old_max]
        assert new == list(range(old_max + 1, old_max + 1 + len(new))) and new, table


def test_a_failed_copy_leaves_the_target_empty(env: Path, pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    sqlite_url = f"sqlite:///{env / 'old.db'}"
    asyncio.run(seed(sqlite_url))
    with sqlite3.connect(env / "old.db") as db:  # PostgreSQL text cannot hold NUL: the admin log row fails late
        db.execute("INSERT INTO admin_log (at, platform, workspace_id, actor, action, detail) "
                   "VALUES (1.0, 'slack', 'T1', 'x', 'note', ?)", ("a\x00b",))
    assert main(["db", "copy", sqlite_url, pg_url]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "at admin_log" in err and "left as it was" in err
    assert PASSWORD not in err
    assert all(rows == [] for rows in asyncio.run(snapshot(pg_url)).values())
    with sqlite3.connect(env / "old.db") as db:
        db.execute("DELETE FROM admin_log WHERE action = 'note'")
    assert main(["db", "copy", sqlite_url, pg_url]) == 0  # nothing half-done stands in the way


def test_copy_refuses_unusable_urls_plainly(env: Path, pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    missing = env / "missing.db"
    assert main(["db", "copy", f"sqlite:///{missing}", pg_url]) == 2
    assert "no SQLite database" in capsys.readouterr().err and not missing.exists()  # never created
    assert main(["db", "copy", "mysql://x/y", pg_url]) == 2
    assert "SOURCE_URL" in capsys.readouterr().err
    wrong = pg_url.replace(f":{PASSWORD}@", ":not-the-password@")
    asyncio.run(seed(f"sqlite:///{env / 'old.db'}"))
    assert main(["db", "copy", f"sqlite:///{env / 'old.db'}", wrong]) == 2
    err = capsys.readouterr().err
    assert err.startswith("db copy: TARGET_URL") and err.count("\n") == 1 and "not-the-password" not in err


def test_copy_postgres_back_into_sqlite(env: Path, pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    first = f"sqlite:///{env / 'old.db'}"
    asyncio.run(seed(first))
    assert main(["db", "copy", first, pg_url]) == 0
    again = f"sqlite:///{env / 'again.db'}"
    assert main(["db", "copy", pg_url, again]) == 0
    capsys.readouterr()
    original, back = asyncio.run(snapshot(first)), asyncio.run(snapshot(again))
    assert [r[:-2] for r in back["jobs"]] == [r[:-2] for r in original["jobs"]]
    assert [r[:-2] for r in back["inbox"]] == [r[:-2] for r in original["inbox"]]
    for table in TABLES[1:-1]:
        assert back[table] == original[table], table
