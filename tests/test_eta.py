"""The status message's time left (issue 15): from how long recent jobs of the same kind took, on every platform."""

from __future__ import annotations

import json
from pathlib import Path

from adapters.console.translate import render_status
from bot.contract import VideoRequest
from bot.job_history import MIN_SAMPLES, JobHistory, kind_of
from bot.jobs import Job, JobStatus
from bot.views import status_view
from tests.fakes.discord import CHANNEL_ID, FakeDiscord
from tests.fakes.slack import FakeSlack
from tests.helpers import FakeClock
from tests.test_discord_e2e import Bot as DiscordBot
from tests.test_slack_e2e import Bot as SlackBot

SLOW = {"local_delay_seconds": 60.0}  # the video stays at the (local) provider while the test looks


def slow_slack(tmp_path: Path, fake: FakeSlack) -> SlackBot:
    bot = SlackBot(tmp_path, fake)
    bot.settings = bot.settings.model_copy(update=SLOW)
    return bot


async def seed(rt, seconds: float, count: int = MIN_SAMPLES) -> None:
    """`count` earlier jobs of the default kind (6 s, 768P, this provider and model) that took `seconds`."""
    sample = Job(id="x", platform="x", workspace_id="w", channel_id="c", user_id="u",
                 request=VideoRequest.build("x"), cost=1, provider=rt.provider.name)
    kind = rt.poller.history.kind(sample)
    for n in range(count):
        await rt.store.record_job_time(f"earlier{n}", kind, seconds, finished_at=float(n))


async def test_slack_status_message_shows_the_time_left_from_recent_jobs_of_its_kind(tmp_path: Path,
                                                                                       slack_fake: FakeSlack) -> None:
    async with slow_slack(tmp_path, slack_fake) as bot:
        await seed(bot.rt, 300.0)  # five earlier 6 s 768P videos took 5 minutes each
        await bot.slash("a paper boat")

        def state() -> str:
            roots = [m for m in slack_fake.messages.get("C1", []) if not m.get("thread_ts")]
            return json.dumps(roots[0].get("blocks")) if roots else ""

        # At the provider: what is left of the five minutes (rounded up to the minute).
        await slack_fake.wait_for(lambda: "min left" in state(), timeout=30)
        assert "About 5 min left" in state()
        job = (await bot.jobs())[0]
        assert job.status.at_provider and job.submitted_at is not None


async def test_slack_shows_no_estimate_while_too_few_jobs_of_the_kind_have_finished(tmp_path: Path,
                                                                                    slack_fake: FakeSlack) -> None:
    async with slow_slack(tmp_path, slack_fake) as bot:
        await seed(bot.rt, 300.0, count=MIN_SAMPLES - 1)
        await bot.slash("a paper boat")

        def state() -> str:
            roots = [m for m in slack_fake.messages.get("C1", []) if not m.get("thread_ts")]
            return json.dumps(roots[0].get("blocks")) if roots else ""

        await slack_fake.wait_for(lambda: "Preparing" in state() or "Queueing" in state(), timeout=30)
        assert (await bot.jobs())[0].status.at_provider
        line = next(t for b in json.loads(state()) if (t := b.get("text", {}).get("text", "")).startswith("*"))
        assert line.startswith(("*Preparing* · ", "*Queueing* · ")) and line.count("·") == 1, line  # no estimate


async def test_discord_status_embed_shows_the_time_left(tmp_path: Path, discord_fake: FakeDiscord) -> None:
    async with DiscordBot(tmp_path, discord_fake, **SLOW) as bot:
        await seed(bot.rt, 600.0)
        await bot.video(prompt="a paper boat")

        def fields() -> dict:
            status = [m for m in discord_fake.messages_in(CHANNEL_ID) if m["embeds"]]
            return {f["name"]: f["value"] for f in status[0]["embeds"][0].get("fields", [])} if status else {}

        await discord_fake.wait_for(lambda: "left" in fields().get("Estimate", ""), timeout=30)
        assert fields()["Estimate"] == "About 10 min left"


async def test_the_console_line_and_the_estimate_in_each_state(open_test_store) -> None:
    store, clock = await open_test_store(), FakeClock()
    history = JobHistory(store, model_of=lambda provider: "M", clock=clock)
    queued = Job(id="j1", platform="console", workspace_id="local", channel_id="terminal", user_id="me",
                 request=VideoRequest.build("a boat"), cost=1, provider="local", created_at=clock(),
                 updated_at=clock(), locale="zh_CN")
    for n, seconds in enumerate([200.0, 220.0, 240.0, 260.0, 280.0]):
        await store.record_job_time(f"e{n}", kind_of(queued, "M"), seconds, finished_at=float(n))
    await history.fresh()
    assert history.time_left(queued, clock()) == 240.0  # still in line: the whole median, once it starts
    line = render_status(status_view(queued, clock(), time_left=history.time_left(queued, clock())))
    assert "约 4 分钟" in line and "开始后" in line, line  # in the requester's language
    running = queued.advance(JobStatus.SUBMITTING).advance(JobStatus.SUBMITTED).advance(
        JobStatus.PROCESSING, submitted_at=clock() - 230.0, locale=None)
    assert history.time_left(running, clock()) == 260.0 - 230.0
    line = render_status(status_view(running, clock(), time_left=history.time_left(running, clock())))
    assert line.endswith("Less than a minute left"), line
    late = running.replace(submitted_at=clock() - 400.0)
    assert history.time_left(late, clock()) is None  # longer than any of its kind: no guess
    done = running.advance(JobStatus.SUCCEEDED)
    assert history.time_left(done, clock()) is None
    ended = status_view(done.advance(JobStatus.DELIVERING).advance(JobStatus.DELIVERED), clock(), time_left=30.0)
    assert ended.time_left is None  # a finished job shows none


def test_generate_progress_line_shows_the_estimate() -> None:
    import io

    from bot.cli.local import _Progress

    clock = FakeClock()
    out = io.StringIO()
    running = Job(id="j1", platform="console", workspace_id="local", channel_id="terminal", user_id="me",
                  request=VideoRequest.build("a boat"), cost=1, provider="local", created_at=clock(),
                  updated_at=clock()).advance(JobStatus.SUBMITTING).advance(JobStatus.SUBMITTED,
                                                                           submitted_at=clock())
    _Progress(out, clock, lambda job, now: 150.0 if job is running else None).update([running])
    assert out.getvalue().strip().endswith("About 3 min left"), out.getvalue()
