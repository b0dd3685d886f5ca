"""The web page on a real store for the web tests: workspaces seeded with delivered and waiting jobs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from bot.config import Settings
from bot.contract import VideoRequest
from bot.days import utc_day
from bot.jobs import Job, JobStatus
from bot.store import Store, WebLogin
from web.app import web_app
from web.login import issue_link


class StepClock:
    """The store's clock: starts an hour ago and moves a minute per seeded event, so order is clear."""

    def __init__(self) -> None:
        self.now = time.time() - 3600

    def __call__(self) -> float:
        self.now += 60
        return self.now


async def add_job(store: Store, n: int, *, platform: str, workspace: str, user: str, name: str = "", prompt: str = "",
                  provider: str = "local", price: float = 0.28, at: float | None = None) -> Job:
    """Record a waiting job (charged under generous limits)."""
    at = at or time.time()
    job = Job(id=f"{workspace}-job{n}", platform=platform, workspace_id=workspace, channel_id="C1", user_id=user,
              user_name=name, request=VideoRequest.build(prompt or f"prompt {n}"), cost=1, provider=provider,
              created_at=at, updated_at=at, day=utc_day(at), price_usd=price)
    reservation = await store.create_job(job, day=job.day, user_limit=1000, workspace_limit=10000)
    assert reservation.ok, reservation
    return job


async def deliver(store: Store, job: Job, video: Path) -> Job:
    """Walk a waiting job to delivered, with its MP4 at `video`."""
    for status in (JobStatus.SUBMITTING, JobStatus.SUBMITTED, JobStatus.PROCESSING, JobStatus.SUCCEEDED,
                   JobStatus.DELIVERING):
        job = await store.transition(job, status)
    return await store.transition(job, JobStatus.DELIVERED, video_path=str(video), video_bytes=video.stat().st_size,
                                  delivered_ref="C1/1700000000.000100")


@dataclass
class Site:
    """A running web page: its base URL, store and settings."""

    settings: Settings
    store: Store
    runner: web.AppRunner
    base: str = ""
    jobs: dict[str, Job] = field(default_factory=dict)

    async def link(self, platform: str, workspace: str, user: str, *, admin: bool) -> str:
        """A one-time login link, as `hailuo-bot web-login` makes it, pointed at this site."""
        url = await issue_link(self.store, self.settings, WebLogin(platform, workspace, user, admin), time.time())
        return self.base + url[url.index("/auth/link/"):]

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_site(settings: Settings, store: Store, *, queue_interval: float = 0.2) -> Site:
    """Serve the page (with no health or callback routes) on a free port."""
    runner = web.AppRunner(web_app(settings, store, queue_interval=queue_interval), shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    site = Site(settings, store, runner)
    site.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    return site
