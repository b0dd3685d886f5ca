"""MiniMax status pushes: the challenge echo, pushed statuses applied, wrong secrets and tasks refused."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from bot.cli.health import serve_app
from bot.jobs import JobStatus
from bot.providers.callbacks import callback_app
from bot.providers.minimax import MiniMaxProvider
from tests.fakes.minimax import FakeMiniMax
from tests.provider_rig import ProviderRig

SECRET = "s3cret-path-0123456789abcdef"


@pytest.fixture
async def setup(tmp_path: Path, sample_mp4: bytes):
    fake = await FakeMiniMax(video=sample_mp4, steps=["Preparing"] * 50 + ["Success"]).start()
    provider = MiniMaxProvider(fake.api_key, fake.base_url, callback_url=f"https://bot.example/callbacks/minimax/{SECRET}")
    rig = await ProviderRig(tmp_path, provider).open()
    rig.poller.pushes = True
    runner = await serve_app(callback_app(SECRET, rig.poller.on_push), 0, "127.0.0.1")
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{runner.addresses[0][1]}")
    yield rig, fake, http
    await http.aclose()
    await runner.cleanup()
    await rig.close()
    await provider.aclose()
    await fake.stop()


async def test_challenge_push_and_refusals(setup) -> None:
    rig, fake, http = setup
    url = f"/callbacks/minimax/{SECRET}"
    assert (await http.post(url, json={"challenge": "abc123"})).json() == {"challenge": "abc123"}
    job = await rig.ask("tide pools")
    await rig.step(0)
    task_id = (await rig.store.get_job(job)).task_id
    assert fake.submissions[0]["callback_url"].endswith(SECRET)

    wrong = await http.post("/callbacks/minimax/not-the-secret", json={"task_id": task_id, "status": "success"})
    unknown = await http.post(url, json={"task_id": "999", "status": "success", "file_id": "1"})
    assert (wrong.status_code, unknown.status_code) == (404, 404)
    assert (await rig.store.get_job(job)).status is JobStatus.SUBMITTED

    pushed = await http.post(url, json={"task_id": task_id, "status": "processing",
                                        "base_resp": {"status_code": 0, "status_msg": "success"}})
    assert pushed.json() == {"status": "success"}
    assert (await rig.store.get_job(job)).status is JobStatus.PROCESSING

    fake.tasks[task_id].queries = 50  # the service has finished; the next query says Success
    done = await http.post(url, json={"task_id": task_id, "status": "success", "file_id": "205258526306433"})
    assert done.status_code == 200
    assert (await rig.store.get_job(job)).next_poll_at <= rig.clock()  # polled at once, not in minutes
    await rig.step(0)
    await rig.step(0)
    assert (await rig.store.get_job(job)).status is JobStatus.DELIVERED


async def test_polling_falls_back_slowly_when_pushes_are_on(setup) -> None:
    rig, _, _ = setup
    job = await rig.ask()
    await rig.step(0)
    for _ in range(12):
        await rig.step(60)
    stored = await rig.store.get_job(job)
    assert stored.status.at_provider and stored.polls < 12  # fewer polls than minutes passed
    assert stored.next_poll_at - rig.clock() <= 4 * rig.settings.poll_max_seconds * 1.2
