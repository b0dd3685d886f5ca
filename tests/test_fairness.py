"""The fair line, as the store defines it in SQL (on every backend): round-robin across users, arrival order within a
user."""

import random

from bot.contract import VideoRequest
from bot.jobs import Job, JobStatus
from bot.store import QueueEntry, Store

DAY = "2027-01-15"


def job(n: float, user: str, *, id: str | None = None, platform: str = "p") -> Job:
    return Job(id=id or f"{user}{n:g}", platform=platform, workspace_id="w", channel_id="c", user_id=user,
               request=VideoRequest.build("x"), cost=1, provider="x", created_at=float(n), updated_at=float(n))


async def line_of(open_test_store, jobs: list[Job]) -> tuple[Store, list[QueueEntry]]:
    """A store holding `jobs` (created in the order given), and its line; every place checked against it."""
    store = await open_test_store()
    for j in jobs:
        assert (await store.create_job(j, day=DAY, user_limit=1000, workspace_limit=1000)).ok
    line = await check_places(store)
    return store, line


async def check_places(store: Store) -> list[QueueEntry]:
    """`queue_position` of every waiting job is its index + 1 in `queued_line`."""
    line = await store.queued_line()
    for place, entry in enumerate(line, start=1):
        waiting = await store.get_job(entry.id)
        assert waiting is not None and waiting.status is JobStatus.QUEUED
        assert await store.queue_position(waiting) == place
    return line


def ids(line: list[QueueEntry]) -> list[str]:
    return [e.id for e in line]


async def test_three_users_bursts_interleave(open_test_store) -> None:
    queued = [job(1, "a"), job(2, "a"), job(3, "a"), job(4, "b"), job(5, "b"), job(6, "c"), job(7, "a")]
    store, line = await line_of(open_test_store, queued)
    assert ids(line) == ["a1", "b4", "c6", "a2", "b5", "a3", "a7"]
    by_id = {j.id: j for j in queued}
    assert await store.queue_position(by_id["c6"]) == 3 and await store.queue_position(by_id["a7"]) == 7
    await store.close()


async def test_empty(open_test_store) -> None:
    store, line = await line_of(open_test_store, [])
    assert line == [] and await store.active_jobs() == []
    await store.close()


async def test_line_entries_carry_what_the_poller_needs(open_test_store) -> None:
    store, line = await line_of(open_test_store, [job(1, "a"), job(2, "b")])
    assert line == [QueueEntry("a1", "p", "a", 1.0, None, 0.0), QueueEntry("b2", "p", "b", 2.0, None, 0.0)]
    await store.close()


async def test_arrival_order_within_a_user_not_insertion_order(open_test_store) -> None:
    # Inserted newest first; a user's jobs still go by created_at, then id.
    inserted = [job(3, "a"), job(2, "a", id="a2z"), job(2, "a", id="a2b"), job(1, "a")]
    store, line = await line_of(open_test_store, inserted)
    assert ids(line) == ["a1", "a2b", "a2z", "a3"]
    await store.close()


async def test_ties_go_by_each_users_first_job_created_at_then_id(open_test_store) -> None:
    # Users "a" and "b" arrive at the same instant: b's first job id sorts first, so b leads every round,
    # whatever the user names. Their second jobs also tie, and keep that order; "c" came later.
    store, line = await line_of(open_test_store, [
        job(1, "a", id="y1"), job(1, "b", id="x1"), job(0.5, "c", id="c0"),
        job(2, "a", id="a2"), job(2, "b", id="b2"), job(3, "c", id="c3"),
    ])
    assert ids(line) == ["c0", "x1", "y1", "c3", "b2", "a2"]
    await store.close()


async def test_the_same_user_id_on_two_platforms_is_two_users(open_test_store) -> None:
    store, line = await line_of(open_test_store, [
        job(1, "u", id="d1", platform="discord"), job(2, "u", id="d2", platform="discord"),
        job(3, "u", id="s3", platform="slack"), job(4, "v", id="s4", platform="slack"),
        job(5, "u", id="s5", platform="slack"),
    ])
    assert ids(line) == ["d1", "s3", "s4", "d2", "s5"]
    assert [(e.platform, e.user_id) for e in line[:3]] == [("discord", "u"), ("slack", "u"), ("slack", "v")]
    await store.close()


async def test_places_close_up_when_jobs_leave_the_line(open_test_store) -> None:
    queued = [job(1, "a"), job(2, "a"), job(3, "b"), job(4, "b"), job(5, "c")]
    store, line = await line_of(open_test_store, queued)
    assert ids(line) == ["a1", "b3", "c5", "a2", "b4"]
    await store.transition(queued[0], JobStatus.SUBMITTING)  # a1 got a slot
    await store.transition(queued[4], JobStatus.FAILED)  # c5 gave up
    assert ids(await check_places(store)) == ["a2", "b3", "b4"]
    await store.close()


async def test_a_job_not_waiting_is_told_the_back_of_the_line(open_test_store) -> None:
    store, _ = await line_of(open_test_store, [job(1, "a"), job(2, "b")])
    assert await store.queue_position(job(0, "z")) == 3  # not in the database
    sent = await store.transition(job(1, "a"), JobStatus.SUBMITTING)
    assert await store.queue_position(sent) == 2  # no longer waiting
    await store.close()


def fair_by_definition(line: list[QueueEntry]) -> list[str]:
    """The rule stated plainly: sort by (turn, the user's first arrival), turn = rank among the user's jobs."""
    mine: dict[tuple[str, str], list[QueueEntry]] = {}
    for e in sorted(line, key=lambda e: (e.created_at, e.id)):
        mine.setdefault((e.platform, e.user_id), []).append(e)
    first = {user: (jobs[0].created_at, jobs[0].id) for user, jobs in mine.items()}
    turns = [(turn, first[user], e.id) for user, jobs in mine.items() for turn, e in enumerate(jobs)]
    return [i for *_, i in sorted(turns)]


async def test_random_line_in_fair_order_and_every_place_matches(open_test_store) -> None:
    rng = random.Random(7)
    # Coarse arrival times: many ties, across users and within one; two platforms.
    jobs = [job(rng.randrange(20), f"u{rng.randrange(6)}", id=f"job{n}", platform=rng.choice(["p", "q"]))
            for n in range(60)]
    store, line = await line_of(open_test_store, jobs)
    assert len(line) == 60 and ids(line) == fair_by_definition(line)
    # Some leave the line (submitted or failed): the places of those still waiting close up.
    for j in rng.sample(jobs, 15):
        await store.transition(j, rng.choice([JobStatus.SUBMITTING, JobStatus.FAILED]))
    line = await check_places(store)
    assert len(line) == 45 and ids(line) == fair_by_definition(line)
    waiting = [j.id for j in await store.active_jobs() if j.status is JobStatus.QUEUED]
    assert sorted(ids(line)) == sorted(waiting)
    await store.close()
