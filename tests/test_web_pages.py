"""The web page's handlers over plain HTTP: range requests, pagination, the event stream and its shutdown,
and the guards on every change (CSRF, admins only)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.jobs import JobStatus
from storage import open_store
from tests.conftest import make_settings
from tests.fakes.oauth_site import Site, StepClock, add_job, deliver, start_site
from web.app import web_app


@pytest.fixture
async def site(tmp_path: Path):
    settings = make_settings(tmp_path, web_secret="pages-secret")
    settings.media_dir.mkdir(parents=True)
    store = await open_store(settings.database_url, clock=StepClock())
    running = await start_site(settings, store, queue_interval=0.05)
    video = settings.media_dir / "v.mp4"
    video.write_bytes(bytes(range(256)) * 40)
    for n in range(1, 15):
        running.jobs[f"v{n}"] = await deliver(store, await add_job(store, n, platform="slack", workspace="TA",
                                                                   user="U1", prompt=f"video number {n}"), video)
    yield running
    await running.stop()
    await store.close()


async def signed_in(site, *, admin: bool) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.post(await site.link("slack", "TA", "U1", admin=admin)) as r:
        assert r.status == 200
    return http


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html)[1]


async def test_videos_answer_range_requests(site) -> None:
    async with await signed_in(site, admin=False) as http:
        url = f"{site.base}/w/slack/TA/videos/{site.jobs['v1'].id}.mp4"
        async with http.get(url, headers={"Range": "bytes=100-199"}) as r:
            assert r.status == 206 and r.headers["Content-Range"] == "bytes 100-199/10240"
            assert await r.read() == (bytes(range(256)) * 40)[100:200]
            assert r.headers["Content-Type"] == "video/mp4"
        async with http.get(f"{site.base}/w/slack/TA/videos/nonexistent.mp4") as r:
            assert r.status == 404
    async with aiohttp.ClientSession() as anonymous, anonymous.get(url, allow_redirects=False) as r:
        assert r.status == 302 and r.headers["Location"] == "/login"


async def test_the_gallery_is_paginated_newest_first(site) -> None:
    async with await signed_in(site, admin=False) as http:
        first = await (await http.get(f"{site.base}/w/slack/TA/gallery")).text()
        assert first.count('class="card"') == 12 and "video number 14" in first and "video number 2<" not in first
        assert 'id="older"' in first
        second = await (await http.get(f"{site.base}/w/slack/TA/gallery?page=2")).text()
        assert second.count('class="card"') == 2 and "video number 1<" in second and 'id="older"' not in second


async def test_the_queue_streams_its_rows_and_does_not_hold_up_shutdown(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, web_secret="s")
    store = await open_store(settings.database_url)
    job = await add_job(store, 1, platform="slack", workspace="TA", user="U1", prompt="waiting")
    runner = web.AppRunner(web_app(settings, store, queue_interval=0.05), shutdown_timeout=60)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    running = Site(settings, store, runner, base=f"http://127.0.0.1:{runner.addresses[0][1]}")
    http = await signed_in(running, admin=False)
    stream = await http.get(f"{running.base}/w/slack/TA/queue/events")
    assert stream.headers["Content-Type"] == "text/event-stream"
    assert await stream.content.readline() == b"event: queue\n"
    data = json.loads((await stream.content.readline()).decode().removeprefix("data: "))
    assert f'data-job="{job.id}" data-status="queued"' in data["html"]
    await store.transition(job, JobStatus.SUBMITTING)
    while b"submitting" not in await asyncio.wait_for(stream.content.readline(), 5):
        pass  # the stream sends the rows again once the job has moved
    started = time.monotonic()
    await runner.cleanup()  # the open stream ends at once, not after the 60 s shutdown timeout
    assert time.monotonic() - started < 5
    stream.close()
    await http.close()
    await store.close()


async def test_changes_need_the_csrf_token_and_admin_rights(site) -> None:
    admin_url = f"{site.base}/w/slack/TA/admin"
    async with await signed_in(site, admin=False) as member:
        token = csrf_of(await (await member.get(f"{site.base}/w/slack/TA/gallery")).text())
        async with member.post(admin_url, data={"csrf": token, "action": "block", "user": "U1"}) as r:
            assert r.status == 403  # a member, even with the right token
    async with await signed_in(site, admin=True) as admin:
        page = await (await admin.get(admin_url)).text()
        async with admin.post(admin_url, data={"csrf": "wrong", "action": "block", "user": "U2"}) as r:
            assert r.status == 403
        assert await site.store.admin_log("slack", "TA") == []
        for form in ({"action": "block", "user": "U2"}, {"action": "allow", "channel": "C9"},
                     {"action": "quota", "credits": "50"}):
            async with admin.post(admin_url, data={"csrf": csrf_of(page), **form}) as r:
                assert r.status == 200, await r.text()
        assert [(actor, action, detail) for _, actor, action, detail in await site.store.admin_log("slack", "TA")] == [
            ("slack:U1", "set_limit", "workspace = 50"), ("slack:U1", "allow_channel", "C9"),
            ("slack:U1", "block", "U2")]
        assert await site.store.is_blocked("slack", "TA", "U2")
        async with admin.post(admin_url, data={"csrf": csrf_of(page), "action": "quota", "credits": "-1"}) as r:
            assert r.status == 400  # the core refuses it; nothing recorded
        assert len(await site.store.admin_log("slack", "TA")) == 3
        async with admin.post(f"{site.base}/logout", data={}, allow_redirects=False) as r:
            assert r.status == 403  # sign-out is a change too
        async with admin.post(f"{site.base}/logout", data={"csrf": csrf_of(page)}, allow_redirects=False) as r:
            assert r.status == 302
        async with admin.get(admin_url, allow_redirects=False) as r:
            assert r.status == 302 and r.headers["Location"] == "/login"
