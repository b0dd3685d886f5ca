"""A 500 MB video from a fake provider to a fake platform: the relay's own throughput and memory."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.port import SlackPort
from benchmarks.common import Figure, peak_rss_mb
from bot.config import Settings
from bot.contract import VideoRequest
from bot.jobs import Job, JobStatus
from bot.poller import Poller
from bot.providers.minimax import MiniMaxProvider
from bot.tasks import TaskSupervisor
from storage import SQLiteStore
from tests.fakes.slack import FakeSlack

SIZE = 500 * 1024 * 1024


async def run() -> list[Figure]:
    """Stream the video down to MEDIA_DIR and up through Slack's upload, as a delivery does."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source.mp4"
        with source.open("wb") as out:
            block = os.urandom(1 << 20)
            for _ in range(SIZE >> 20):
                out.write(block)
        app = web.Application()
        app.router.add_get("/output.mp4", lambda request: web.FileResponse(source))
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/output.mp4"
        slack = await FakeSlack().start()
        settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp}/relay.db",
                            media_dir=Path(tmp) / "videos")  # type: ignore[call-arg]
        store = await SQLiteStore.open(settings.database_path)
        provider = MiniMaxProvider("unused", "http://127.0.0.1:9")
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
        port = SlackPort(client, slack.bot_token, slack.api_url)
        supervisor = TaskSupervisor()
        poller = Poller(settings, store, provider, {"slack": port}, supervisor)
        now = time.time()
        root = slack._post("C1", text="status")
        job = Job(id="relay0000001", platform="slack", workspace_id="T1", channel_id="C1", user_id="U1",
                  request=VideoRequest.build("big"), cost=1, provider="minimax", status=JobStatus.QUEUED,
                  thread_id=root["ts"], created_at=now, updated_at=now)
        await store.create_job(job, day="2030-01-01", user_limit=10, workspace_limit=10)
        for status in (JobStatus.SUBMITTING, JobStatus.SUBMITTED):
            job = await store.transition(job, status)
        job = await store.transition(job, JobStatus.SUCCEEDED, video_url=url)
        rss_before = peak_rss_mb()
        start = time.perf_counter()
        await poller.delivery.run(job)
        relay_seconds = time.perf_counter() - start
        growth = peak_rss_mb() - rss_before
        final = await store.get_job(job.id)
        uploaded = next(iter(slack.uploads.values()))
        assert final.status is JobStatus.DELIVERED and uploaded["size"] == SIZE, (final.status, final.error)
        await supervisor.aclose()
        await port.aclose()
        await provider.aclose()
        await store.close()
        await slack.stop()
        await runner.cleanup()
    mb = SIZE / 1_048_576
    return [
        Figure("video_size", mb, "MB"),
        Figure("peak_memory_growth", growth, "MB", "< 64 MB"),
        Figure("relay_throughput", mb / relay_seconds, "MB/s", "download + upload"),
        Figure("relay_seconds", relay_seconds, "s"),
        Figure("peak_memory", peak_rss_mb(), "MB", "whole process"),
    ]
