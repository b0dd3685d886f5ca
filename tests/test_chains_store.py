"""The chain of a clip (Extend, migration 0014) on every backend: what a job records, and the clips of a chain."""

from __future__ import annotations

import dataclasses

from bot.contract import VideoRequest
from bot.jobs import Job, JobStatus

DAY = "2027-01-15"


def clip(n: int, *, parent: Job | None = None, root: str | None = None, at: float | None = None) -> Job:
    return Job(id=f"clip{n}", platform="fake", workspace_id="w1", channel_id="c1", user_id="u1",
               request=VideoRequest.build(f"clip {n}"), cost=1, provider="scripted", created_at=at or float(n),
               updated_at=at or float(n), chain_parent=parent.id if parent else None,
               chain_root=root or ((parent.chain_root or parent.id) if parent else None),
               chain_index=parent.chain_index + 1 if parent else 1)


async def test_a_job_keeps_its_place_in_a_chain_and_the_chain_lists_its_clips(open_test_store) -> None:
    store = await open_test_store()
    first = clip(1)
    second = clip(2, parent=first)
    third = clip(3, parent=second)
    branch = clip(4, parent=first, at=2.5)  # a second Extend of the first clip: a branch at place 2
    other = clip(5)
    for job in (third, first, other, branch, second):  # recorded in any order
        assert (await store.create_job(job, day=DAY, user_limit=10, workspace_limit=10)).ok
    got = await store.get_job("clip3")
    assert (got.chain_parent, got.chain_root, got.chain_index) == ("clip2", "clip1", 3)
    plain = await store.get_job("clip5")
    assert (plain.chain_parent, plain.chain_root, plain.chain_index) == (None, None, 1)
    # By place in the chain, then age: the first clip, both clips at place 2, then the third.
    assert [j.id for j in await store.chain_clips("clip1")] == ["clip1", "clip2", "clip4", "clip3"]
    assert [j.id for j in await store.chain_clips("clip5")] == ["clip5"]
    assert await store.chain_clips("nothing") == []
    # The chain survives the job's later changes (a transition rewrites other columns only).
    moved = await store.transition(got, JobStatus.SUBMITTING)
    assert dataclasses.replace(moved, status=got.status, updated_at=got.updated_at) == got
    assert (await store.get_job("clip3")).chain_root == "clip1"
