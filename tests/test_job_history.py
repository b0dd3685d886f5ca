"""The shared history of job durations: kept in the database, read cheaply, and used by every process's pacing."""

from __future__ import annotations

from pathlib import Path

from bot.contract import VideoRequest
from bot.days import utc_day
from bot.job_history import MIN_SAMPLES, WHOLE, JobHistory, kind_of, spread, time_left
from bot.jobs import Job, JobStatus
from bot.poller import Poller
from bot.providers.base import TaskState, TaskStatus
from bot.tasks import TaskSupervisor
from storage.job_times import KEEP
from tests.conftest import make_settings
from tests.helpers import FakeChatPort, FakeClock, ScriptedProvider

T = TaskStatus


class TimedProvider(ScriptedProvider):
    """Each task is Processing until `seconds` after its submission, then Success; counts each task's polls."""

    def __init__(self, clock: FakeClock, seconds: float) -> None:
        super().__init__()
        self.clock, self.seconds = clock, seconds
        self.started: dict[str, float] = {}
        self.polled: dict[str, int] = {}

    async def submit(self, request: VideoRequest) -> str:
        task_id = await super().submit(request)
        self.started[task_id] = self.clock()
        return task_id

    async def status(self, task_id: str) -> TaskState:
        self.polled[task_id] = self.polled.get(task_id, 0) + 1
        done = self.clock() - self.started[task_id] >= self.seconds
        return TaskState(task_id, T.SUCCESS if done else T.PROCESSING,
                         video_url=f"https://video.example/{task_id}.mp4" if done else None)


def job(n: int, *, duration: int = 6, resolution: str = "768P", **fields: object) -> Job:
    return Job(id=f"j{n}", platform="fake", workspace_id="w", channel_id="c", user_id="u",
               request=VideoRequest.build(f"prompt {n}", duration=duration, resolution=resolution), cost=1,
               provider="scripted", status_message_id=f"s{n}", thread_id=f"th{n}", **fields)  # type: ignore[arg-type]


async def test_job_times_are_kept_once_per_job_the_latest_per_kind_and_pruned(open_test_store) -> None:
    store = await open_test_store()
    for n in range(KEEP + 30):
        await store.record_job_time(f"a{n}", "p:m:768P:6", float(n), finished_at=1000.0 + n)
    await store.record_job_time(f"a{KEEP + 29}", "p:m:768P:6", 999.0, finished_at=5000.0)  # the same job: ignored
    await store.record_job_time("b0", "p:m:1080P:6", 42.0, finished_at=10.0)
    recent = await store.recent_job_times(5)
    assert recent == {"p:m:768P:6": [KEEP + 29.0, KEEP + 28.0, KEEP + 27.0, KEEP + 26.0, KEEP + 25.0],
                      "p:m:1080P:6": [42.0]}
    kept = (await store.recent_job_times(10 * KEEP))["p:m:768P:6"]
    assert len(kept) == KEEP and min(kept) == 30.0  # the oldest 30 were pruned as new ones came
    other = await open_test_store()  # another process on the same database sees the same history
    assert await other.recent_job_times(1) == {"p:m:768P:6": [KEEP + 29.0], "p:m:1080P:6": [42.0]}


async def test_the_copy_is_read_once_per_refresh_never_per_poll_and_own_results_count_at_once(open_test_store) -> None:
    store, clock = await open_test_store(), FakeClock()
    for n in range(MIN_SAMPLES):
        await store.record_job_time(f"old{n}", kind_of(job(0), "M"), 100.0 + n, finished_at=0.0)
    history = JobHistory(store, model_of=lambda provider: "M", clock=clock, refresh_seconds=30)
    for _ in range(50):
        await history.fresh()
    assert history.reads == 1 and history.took(job(1)) == [100.0, 101.0, 102.0, 103.0, 104.0]
    assert history.took(job(1, duration=10)) == []  # another kind: nothing learnt
    await history.record(job(2), 90.0)  # learnt here: used at once, and written for everyone
    assert history.took(job(1))[0] == 90.0 and history.reads == 1
    await store.record_job_time("elsewhere", kind_of(job(0), "M"), 50.0, finished_at=1.0)  # another process's
    clock.advance(29)
    await history.fresh()
    assert 50.0 not in history.took(job(1))
    clock.advance(2)
    await history.fresh()
    assert history.reads == 2 and history.took(job(1))[0] == 50.0
    assert len(history.took(job(1))) == MIN_SAMPLES + 2


def test_time_left_is_the_median_of_the_longer_ones_and_none_without_enough_history() -> None:
    took = [100.0, 110.0, 120.0, 130.0, 140.0]
    assert time_left(took, None) == 120.0  # not sent yet: the whole median
    assert time_left(took, 20.0) == 100.0
    assert time_left(took, 115.0) == 130.0 - 115.0  # of the three that ran longer, the middle one
    assert time_left(took, 150.0) is None  # longer than any: no guess
    assert time_left(took[:-1], 0.0) is None


async def test_a_new_process_polls_by_what_earlier_ones_learnt_and_records_for_the_next(tmp_path: Path) -> None:
    """Jobs finished by one process teach the next (a restart, or another process): fewer polls at once."""
    clock = FakeClock()
    settings = make_settings(tmp_path, poll_first_seconds=5, poll_max_seconds=30)
    provider = TimedProvider(clock, seconds=120)  # every task takes 120 s at the provider

    async def run_process(first: int, count: int) -> list[int]:
        from storage import SQLiteStore

        store = await SQLiteStore.open(settings.database_path, clock=clock)
        supervisor = TaskSupervisor()
        poller = Poller(settings, store, provider, {"fake": FakeChatPort()}, supervisor, clock=clock)
        made = [job(n, created_at=clock(), updated_at=clock(), next_poll_at=clock())
                for n in range(first, first + count)]
        for one in made:
            assert (await store.create_job(one, day=utc_day(clock()), user_limit=100, workspace_limit=100)).ok
        for _ in range(400):
            await poller.tick()
            await poller.drain()
            if {(await store.get_job(j.id)).status for j in made} == {JobStatus.DELIVERED}:
                break
            clock.advance(1)
        tasks = [(await store.get_job(j.id)).task_id for j in made]
        submitted = [(await store.get_job(j.id)).submitted_at for j in made]
        assert all(s is not None for s in submitted)
        await supervisor.aclose()
        await store.close()
        return [provider.polled[t] for t in tasks]

    cold = await run_process(0, MIN_SAMPLES)  # a new database: the growing interval, many polls
    warm = await run_process(100, 3)  # a new process on it: straight to when jobs of the kind finish
    assert max(warm) <= 4 < 7 <= min(cold), (cold, warm)


async def test_while_a_kinds_history_is_young_its_running_jobs_count_too(open_test_store) -> None:
    clock = FakeClock()
    store = await open_test_store(clock=clock)
    kind = kind_of(job(0), "M")
    for n in range(MIN_SAMPLES):  # the quick few of a burst have finished...
        await store.record_job_time(f"quick{n}", kind, 100.0 + n, finished_at=clock())
    for n in range(20):  # ...while 20 taken by the provider 150 s ago were still running at their last poll
        running = job(10 + n, next_poll_at=clock())
        await store.create_job(running, day=utc_day(clock()), user_limit=100, workspace_limit=100)
        running = await store.transition(running, JobStatus.SUBMITTING)
        await store.transition(running, JobStatus.SUBMITTED, task_id=f"t{n}", submitted_at=clock() - 150.0)
    await store.create_job(job(99, duration=10), day=utc_day(clock()), user_limit=100, workspace_limit=100)
    history = JobHistory(store, model_of=lambda provider: "M", clock=clock, refresh_seconds=30)
    await history.fresh()
    took, running = history.spread(job(1))
    assert took == [100.0, 101.0, 102.0, 103.0, 104.0] and running == [150.0] * 20  # one query each, per refresh
    assert history.reads == 1 and history.spread(job(1, duration=10)) == ([], None)  # nothing of that kind
    assert spread([100.0] * 5, [50.0] * 20) == ([100.0] * 5, None)  # none running longer than most took
    assert spread([100.0] * WHOLE, [150.0] * 20)[1] is None  # an old history: the latest SAMPLES alone
    assert KEEP >= WHOLE  # storage keeps as many as pacing reads whole
