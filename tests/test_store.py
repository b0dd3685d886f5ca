"""The store on every backend (SQLite and PostgreSQL): migrations, guarded transitions, the atomic quota reservation.

Every store comes from the `open_test_store` fixture, which closes it however the test ends.
"""

import asyncio
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from bot.contract import VideoRequest
from bot.jobs import IllegalTransition, Job, JobStatus

DAY = "2027-01-15"


def make_job(n: int, *, user: str = "u1", workspace: str = "w1", cost: int = 1) -> Job:
    req = VideoRequest.build(f"prompt {n}")
    return Job(id=f"job{n}", platform="fake", workspace_id=workspace, channel_id="c1", user_id=user,
               request=req, cost=cost, provider="scripted", created_at=float(n), updated_at=float(n))


async def test_migrations_from_empty_and_rerun(backend: str, store_url: str, open_test_store) -> None:
    folder = "migrations" if backend == "sqlite" else "migrations_pg"
    # The highest number, not the count: the migrations are numbered up front, per feature.
    files = (Path(__file__).parent.parent / "storage" / folder).glob("*.sql")
    latest = max(int(f.name.split("_", 1)[0]) for f in files)
    store = await open_test_store()
    assert await store.schema_version() == latest >= 2
    await store.close()
    store = await open_test_store()  # applying again is a no-op
    assert await store.migrate() == latest
    await store.close()
    expected = {"jobs", "job_events", "quota_ledger", "quota_limits", "blocked_users", "admin_log"}
    if backend == "sqlite":
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            assert expected <= tables
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    else:
        db = await asyncpg.connect(store_url)
        try:
            rows = await db.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            assert expected <= {r[0] for r in rows}
            assert await db.fetchval("SELECT version FROM schema_version") == latest
        finally:
            await db.close()


async def test_transition_guarded_against_table_and_stale_state(open_test_store) -> None:
    store = await open_test_store()
    job = make_job(1)
    assert (await store.create_job(job, day=DAY, user_limit=5, workspace_limit=5)).ok
    with pytest.raises(IllegalTransition):
        await store.transition(job, JobStatus.DELIVERED)  # not in the table
    moved = await store.transition(job, JobStatus.SUBMITTING)
    with pytest.raises(IllegalTransition):
        await store.transition(job, JobStatus.FAILED)  # row is no longer 'queued'
    assert (await store.get_job(job.id)).status is JobStatus.SUBMITTING
    await store.transition(moved, JobStatus.SUBMITTED, task_id="T1")
    assert [e[0] for e in await store.events(job.id)] == ["queued", "submitting", "submitted"]


async def test_a_status_never_changes_outside_a_transition(open_test_store) -> None:
    store = await open_test_store()
    job = make_job(1)
    assert (await store.create_job(job, day=DAY, user_limit=5, workspace_limit=5)).ok
    with pytest.raises(ValueError):
        await store.update(job, status=JobStatus.DELIVERED, polls=9)
    with pytest.raises(TypeError):
        await store.update(job, no_such_column=1)
    stored = await store.get_job(job.id)
    assert (stored.status, stored.polls) == (JobStatus.QUEUED, 0)  # nothing written
    assert (await store.update(job, polls=2)).polls == 2 and (await store.get_job(job.id)).polls == 2


async def test_fifty_concurrent_requests_against_five_accept_five(open_test_store) -> None:
    store = await open_test_store()
    results = await asyncio.gather(
        *(store.create_job(make_job(n), day=DAY, user_limit=5, workspace_limit=100) for n in range(50))
    )
    assert sum(r.ok for r in results) == 5
    assert {r.refused_by for r in results if not r.ok} == {"user"}
    assert len(await store.active_jobs()) == 5


async def test_race_across_two_connections_and_the_workspace_limit(open_test_store) -> None:
    a, b = await open_test_store(), await open_test_store()
    jobs = [make_job(n, user=f"user{n % 10}") for n in range(50)]
    results = await asyncio.gather(
        *((a if n % 2 else b).create_job(j, day=DAY, user_limit=3, workspace_limit=5) for n, j in enumerate(jobs))
    )
    assert sum(r.ok for r in results) == 5
    usage = await a.usage("fake", "w1", "user0", day=DAY, user_limit=3, workspace_limit=5)
    assert usage.workspace_used == 5 and usage.workspace_left == 0


async def test_the_same_job_id_twice_is_recorded_and_charged_once(open_test_store) -> None:
    # A replayed command derives the same job id (bot.core.job_id_for): two processes racing to
    # admit it must leave one job and one reservation, never an error or a second charge.
    a, b = await open_test_store(), await open_test_store()
    job = make_job(7, cost=2)
    results = await asyncio.gather(*(s.create_job(job, day=DAY, user_limit=10, workspace_limit=10)
                                     for s in (a, b, a, b)))
    assert sum(r.ok for r in results) == 1
    assert {r.refused_by for r in results if not r.ok} == {"duplicate"}
    assert await a.ledger(job.id) == [("reserve", 2, DAY)]


async def test_release_once_and_capture_once(open_test_store) -> None:
    store = await open_test_store()
    failed, done = make_job(1, cost=2), make_job(2, cost=1)
    for job in (failed, done):
        await store.create_job(job, day=DAY, user_limit=10, workspace_limit=10)
    usage = await store.usage("fake", "w1", "u1", day=DAY, user_limit=10, workspace_limit=10)
    assert (usage.user_used, usage.user_held) == (3, 3)
    await store.transition(failed, JobStatus.FAILED)
    j = await store.transition(done, JobStatus.SUBMITTING)
    j = await store.transition(j, JobStatus.SUBMITTED, task_id="T")
    j = await store.transition(j, JobStatus.SUCCEEDED)
    j = await store.transition(j, JobStatus.DELIVERING)
    await store.transition(j, JobStatus.DELIVERED, delivered_ref="c/m")
    assert await store.ledger(failed.id) == [("reserve", 2, DAY), ("release", 2, DAY)]
    assert await store.ledger(done.id) == [("reserve", 1, DAY), ("capture", 1, DAY)]
    usage = await store.usage("fake", "w1", "u1", day=DAY, user_limit=10, workspace_limit=10)
    assert (usage.user_used, usage.user_held, usage.user_left) == (1, 0, 9)


async def test_limit_override_and_new_day(open_test_store) -> None:
    store = await open_test_store()
    await store.set_limit("fake", "w1", "u1", 1, set_by="admin")
    assert (await store.create_job(make_job(1), day=DAY, user_limit=10, workspace_limit=10)).ok
    refused = await store.create_job(make_job(2), day=DAY, user_limit=10, workspace_limit=10)
    assert (refused.ok, refused.refused_by, refused.limit) == (False, "user", 1)
    assert (await store.create_job(make_job(3), day="2027-01-16", user_limit=10, workspace_limit=10)).ok

