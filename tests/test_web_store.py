"""The web page's store queries, on SQLite and PostgreSQL: gallery, workspace queue, members, one-time logins."""

from __future__ import annotations

from pathlib import Path

from bot.jobs import JobStatus
from bot.store import WebLogin
from tests.fakes.oauth_site import StepClock, add_job, deliver


async def test_gallery_is_one_workspaces_delivered_videos_newest_first(open_test_store, tmp_path: Path) -> None:
    store = await open_test_store(clock=StepClock())
    video = tmp_path / "v.mp4"
    video.write_bytes(b"mp4")
    a1 = await deliver(store, await add_job(store, 1, platform="slack", workspace="TA", user="U1", name="Ada",
                                            prompt="A paper boat at 50% speed"), video)
    a2 = await deliver(store, await add_job(store, 2, platform="slack", workspace="TA", user="U2",
                                            prompt="a red fox"), video)
    await add_job(store, 3, platform="slack", workspace="TA", user="U1", prompt="still waiting")
    await deliver(store, await add_job(store, 4, platform="slack", workspace="TB", user="U1", prompt="boat"), video)
    assert [j.id for j in await store.gallery("slack", "TA")] == [a2.id, a1.id]
    assert [j.id for j in await store.gallery("slack", "TA", user_id="U1")] == [a1.id]
    assert [j.id for j in await store.gallery("slack", "TA", text="BOAT")] == [a1.id]
    assert [j.id for j in await store.gallery("slack", "TA", text="50%")] == [a1.id]
    assert await store.gallery("slack", "TA", text="768P") == []  # settings are not prompt text
    assert await store.gallery("slack", "TA", text="_") == []  # LIKE wildcards are taken literally
    assert [j.id for j in await store.gallery("slack", "TA", limit=1, offset=1)] == [a1.id]
    assert await store.gallery("discord", "TA") == []
    assert await store.workspace_members("slack", "TA") == [("U1", "Ada"), ("U2", "")]


async def test_workspace_queue_lists_unfinished_jobs_oldest_first(open_test_store) -> None:
    store = await open_test_store(clock=StepClock())
    j1 = await add_job(store, 1, platform="slack", workspace="TA", user="U1", at=100.0)
    j2 = await add_job(store, 2, platform="slack", workspace="TA", user="U2", at=200.0)
    await add_job(store, 3, platform="slack", workspace="TB", user="U1", at=50.0)
    j1 = await store.transition(j1, JobStatus.SUBMITTING)
    assert [(j.id, j.status) for j in await store.workspace_queue("slack", "TA")] == [
        (j1.id, JobStatus.SUBMITTING), (j2.id, JobStatus.QUEUED)]
    await store.transition(j2, JobStatus.FAILED, error="x")
    assert [j.id for j in await store.workspace_queue("slack", "TA")] == [j1.id]


async def test_a_login_link_works_once_and_not_after_it_expires(open_test_store) -> None:
    store = await open_test_store()
    login = WebLogin("slack", "T1", "U1", is_admin=True)
    await store.put_web_login("h1", login, expires_at=1000.0)
    await store.put_web_login("h2", login, expires_at=1000.0)
    assert await store.take_web_login("nope", 10.0) is None
    assert await store.take_web_login("h1", 10.0) == login
    assert await store.take_web_login("h1", 11.0) is None  # single use
    assert await store.take_web_login("h2", 1000.0) is None  # expired
