"""Replicate and fal as an operator configures them: `generate` end to end, webhooks on the callback port."""

from __future__ import annotations

import json
import time
from pathlib import Path

import av
import httpx
import pytest
from aiohttp import web

from bot.providers.callbacks import callback_app
from bot.providers.factory import callback_secret, callback_url, webhook_readers
from tests.conftest import make_settings
from tests.fakes.fal import FakeFal
from tests.fakes.replicate import FakeReplicate, sign
from tests.test_cli import hailuo
from tests.test_slack_e2e import free_port


@pytest.mark.parametrize("host", ["replicate", "fal"])
async def test_generate_makes_a_video_on_each_host(tmp_path: Path, host: str, sample_mp4: bytes) -> None:
    fake = await (FakeReplicate(video=sample_mp4) if host == "replicate" else FakeFal(video=sample_mp4)).start()
    try:
        env = ({"REPLICATE_API_TOKEN": fake.token + "\n", "REPLICATE_BASE_URL": fake.base_url}
               if host == "replicate" else {"FAL_KEY": fake.key, "FAL_QUEUE_URL": fake.queue_url})
        out = tmp_path / "clip.mp4"
        done = await _run(tmp_path, "generate", "a lighthouse in fog", "--out", str(out),
                          HAILUO_PROVIDER=host, POLL_FIRST_SECONDS="0.2", POLL_MAX_SECONDS="0.3", **env)
        assert done.returncode == 0, done.stderr
        with av.open(str(out)) as container:
            assert container.streams.video[0].codec_context.name == "h264"
        checked = await _run(tmp_path, "check-provider", HAILUO_PROVIDER=host, **env)
        assert checked.returncode == 0, checked.stderr
        assert fake.token not in checked.stdout + checked.stderr if host == "replicate" else True
    finally:
        await fake.stop()


async def _run(tmp_path: Path, *args: str, **env: str):
    import asyncio

    return await asyncio.to_thread(hailuo, tmp_path, *args, **env)


async def test_webhooks_are_verified_then_only_bring_a_poll_forward(tmp_path: Path) -> None:
    replicate = await FakeReplicate().start()
    port = free_port()
    settings = make_settings(tmp_path, hailuo_provider="replicate", hailuo_fallback_provider="fal",
                             replicate_api_token=replicate.token, replicate_base_url=replicate.base_url,
                             fal_key="fal-key", public_base_url=f"http://127.0.0.1:{port}")
    pushed: list[str] = []

    async def on_push(task_id: str, state) -> bool:
        pushed.append(task_id)
        return task_id != "unknown1"

    runner = web.AppRunner(callback_app(callback_secret(settings), on_push, webhook_readers(settings)))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        url = callback_url(settings, "replicate")
        assert url is not None and callback_url(settings, "fal") is not None
        assert callback_url(settings, "cloudflare") is None  # it cannot push
        body = json.dumps({"id": "pred123", "status": "succeeded"}).encode()
        stamp = int(time.time())
        good = {"webhook-id": "msg_1", "webhook-timestamp": str(stamp),
                "webhook-signature": sign(replicate.webhook_secret, "msg_1", stamp, body)}
        async with httpx.AsyncClient() as http:
            assert (await http.post(url, content=body, headers=good)).status_code == 200
            forged = {**good, "webhook-signature": "v1,AAAA"}
            assert (await http.post(url, content=body, headers=forged)).status_code == 400
            wrong_path = url.rsplit("/", 1)[0] + "/not-the-secret"
            assert (await http.post(wrong_path, content=body, headers=good)).status_code == 404
            fal_url = callback_url(settings, "fal")
            fal_push = json.dumps({"request_id": "req9", "status": "OK", "payload": {}}).encode()
            assert (await http.post(fal_url, content=fal_push)).status_code == 200
            assert (await http.post(fal_url, content=b"[" * 100_000)).status_code == 400
            unknown = json.dumps({"request_id": "unknown1", "status": "OK", "payload": {}}).encode()
            assert (await http.post(fal_url, content=unknown)).status_code == 404
        assert pushed == ["pred123", "req9", "unknown1"]  # the forged and the junk never reached the bot
    finally:
        await runner.cleanup()
        await replicate.stop()


async def test_fal_place_in_its_own_line_reaches_the_status_message(tmp_path: Path, sample_mp4: bytes) -> None:
    from bot.jobs import JobStatus
    from bot.providers.fal import FalProvider
    from bot.views import status_view
    from tests.provider_rig import ProviderRig

    fake = await FakeFal(video=sample_mp4, queued_polls=3).start()
    rig = await ProviderRig(tmp_path, FalProvider(fake.key, fake.queue_url), per_minute=100).open()
    try:
        job_id = await rig.ask("harbour lights")
        places = []
        for _ in range(12):
            await rig.step(10)
            job = await rig.store.get_job(job_id)
            if job.status is JobStatus.QUEUEING:
                places.append(status_view(job, rig.clock()).queue_position)
        assert places and places == sorted(places, reverse=True) and all(p is not None for p in places)
        assert await rig.until_done(job_id) == [JobStatus.DELIVERED]
        done = await rig.store.get_job(job_id)
        assert status_view(done, rig.clock()).queue_position is None  # no place once it has left the line
    finally:
        await rig.close()
        await fake.stop()
