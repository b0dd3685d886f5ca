"""A finished video's delivery is the first step a poller takes, however many polls are overdue (issue 20)."""

from __future__ import annotations

from bot.contract import VideoRequest
from bot.jobs import Job, JobStatus

S = JobStatus


def job(n: int, next_poll_at: float) -> Job:
    return Job(id=f"j{n}", platform="fake", workspace_id="w", channel_id="c", user_id=f"u{n}",
               request=VideoRequest.build(f"prompt {n}"), cost=1, provider="scripted", created_at=float(n),
               updated_at=float(n), next_poll_at=next_poll_at)


async def test_due_deliveries_come_before_overdue_polls_and_are_never_cut_off_by_the_limit(open_test_store) -> None:
    store = await open_test_store()
    for n in range(5):
        made = job(n, next_poll_at=0.0)
        assert (await store.create_job(made, day="2030-01-01", user_limit=9, workspace_limit=9)).ok
        made = await store.transition(made, S.SUBMITTING)
        made = await store.transition(made, S.SUBMITTED, task_id=f"t{n}", next_poll_at=10.0 + n)  # polls overdue
        if n >= 3:  # two of them finished at the provider just now: their delivery is due, the least overdue
            await store.transition(made, S.SUCCEEDED, next_poll_at=99.0)
    due = await store.due_jobs(100.0, ["fake"], expire_before=0.0, limit=3)
    assert [j.id for j in due] == ["j3", "j4", "j0"]  # the deliveries first, then the most overdue poll
