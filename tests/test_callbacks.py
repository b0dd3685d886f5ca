"""MiniMax status pushes: the challenge echo, pushes as hints verified at the provider, refusals of bad input."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
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
URL = f"/callbacks/minimax/{SECRET}"


@contextlib.asynccontextmanager
async def served(tmp_path: Path, video: bytes, steps: list[str]) -> AsyncIterator[tuple]:
    """A rig polling the fake MiniMax, with the real callback server in front of its poller."""
    fake = await FakeMiniMax(video=video, steps=steps).start()
    provider = MiniMaxProvider(fake.api_key, fake.base_url, callback_url=f"https://bot.example{URL}")
    rig = await ProviderRig(tmp_path, provider).open()
    rig.poller.pushes = True
    runner = await serve_app(callback_app(SECRET, rig.poller.on_push), 0, "127.0.0.1")
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{runner.addresses[0][1]}")
    try:
        yield rig, fake, http
    finally:
        await http.aclose()
        await runner.cleanup()
        await rig.close()
        await provider.aclose()
        await fake.stop()


@pytest.fixture
async def setup(tmp_path: Path, sample_mp4: bytes):
    async with served(tmp_path, sample_mp4, ["Preparing"] * 50 + ["Success"]) as parts:
        yield parts


async def submitted(rig: ProviderRig) -> tuple[str, str]:
    """Ask for a video and let the poller submit it; its job id and task id."""
    job = await rig.ask("tide pools")
    await rig.step(0)
    return job, (await rig.store.get_job(job)).task_id


def queries(fake: FakeMiniMax) -> int:
    return sum(1 for what, _ in fake.requests if what == "query")


async def test_challenge_push_and_refusals(setup) -> None:
    rig, fake, http = setup
    assert (await http.post(URL, json={"challenge": "abc123"})).json() == {"challenge": "abc123"}
    job, task_id = await submitted(rig)
    assert fake.submissions[0]["callback_url"].endswith(SECRET)

    wrong = await http.post("/callbacks/minimax/not-the-secret", json={"task_id": task_id, "status": "success"})
    unknown = await http.post(URL, json={"task_id": "999", "status": "success", "file_id": "1"})
    assert (wrong.status_code, unknown.status_code) == (404, 404)
    assert (await rig.store.get_job(job)).status is JobStatus.SUBMITTED

    pushed = await http.post(URL, json={"task_id": task_id, "status": "processing",
                                        "base_resp": {"status_code": 0, "status_msg": "success"}})
    assert pushed.json() == {"status": "success"}
    assert (await rig.store.get_job(job)).next_poll_at <= rig.clock()  # polled at once, not in minutes
    await rig.step(0)
    assert (await rig.store.get_job(job)).status is JobStatus.PREPARING  # what the provider said, not the push

    fake.tasks[task_id].queries = 50  # the service has finished; the next query says Success
    done = await http.post(URL, json={"task_id": task_id, "status": "success", "file_id": "205258526306433"})
    assert done.status_code == 200
    assert (await rig.store.get_job(job)).next_poll_at <= rig.clock()
    await rig.step(0)
    await rig.step(0)
    assert (await rig.store.get_job(job)).status is JobStatus.DELIVERED


async def test_a_forged_failure_only_brings_the_next_poll_forward(tmp_path: Path, sample_mp4: bytes) -> None:
    async with served(tmp_path, sample_mp4, ["Processing"]) as (rig, fake, http):
        job, task_id = await submitted(rig)
        before = queries(fake)
        for status in ("failed", "fail", "success"):
            was = (await rig.store.get_job(job)).status
            forged = await http.post(URL, json={"task_id": task_id, "status": status, "file_id": "1",
                                                "base_resp": {"status_code": 1026, "status_msg": "sensitive"}})
            assert forged.status_code == 200
            stored = await rig.store.get_job(job)
            assert stored.status is was and stored.next_poll_at <= rig.clock()  # only the poll moved
            await rig.step(0)
        stored = await rig.store.get_job(job)
        assert stored.status is JobStatus.PROCESSING  # the provider's word
        assert queries(fake) == before + 3  # each push was checked at the provider
        assert await rig.ledger(job) == ["reserve"]  # nothing refunded, nothing captured


async def test_a_real_failure_pushed_ends_the_job_once_the_provider_confirms(tmp_path: Path,
                                                                              sample_mp4: bytes) -> None:
    async with served(tmp_path, sample_mp4, ["Processing", "Fail"]) as (rig, fake, http):
        job, task_id = await submitted(rig)
        await rig.step(0)  # nothing due yet
        before = queries(fake)
        fake.tasks[task_id].queries = 1  # the service has given up; the next query says Fail
        pushed = await http.post(URL, json={"task_id": task_id, "status": "failed"})
        assert pushed.status_code == 200
        await rig.step(0)
        assert (await rig.store.get_job(job)).status is JobStatus.FAILED
        assert queries(fake) == before + 1  # ended by the provider's answer to a query, not by the push
        assert await rig.ledger(job) == ["reserve", "release"]


async def test_deeply_nested_json_is_refused_and_the_server_goes_on(setup, caplog) -> None:
    _, _, http = setup
    with caplog.at_level(logging.WARNING):
        nested = await http.post(URL, content=b"[" * 100000, headers={"Content-Type": "application/json"})
        nested_obj = await http.post(URL, content=b'{"a":' * 50000, headers={"Content-Type": "application/json"})
    assert (nested.status_code, nested_obj.status_code) == (400, 400)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) <= 2  # one short line per request
    assert all(len(r.getMessage()) < 200 for r in caplog.records)
    assert (await http.post(URL, json={"challenge": "still-here"})).json() == {"challenge": "still-here"}


@pytest.mark.parametrize("body", [
    b"\xff\xfe not utf-8",
    b"not json",
    b"",
    b"[1, 2]",
    b'"a string"',
    b'{"task_id": ' + b"9" * 5000 + b', "status": "failed"}',  # an integer too long to convert
    b'{"task_id": [[["1"]]], "status": "failed"}',
    b'{"task_id": "1", "status": ' + b"[" * 900 + b"]" * 900 + b"}",
    b'{"task_id": "' + b"[" * 990 + b'", "status": "failed"}',
    b'{"task_id": "12\\u0000", "status": "failed"}',
    b'{"task_id": "\\ud800", "status": "failed"}',
    b'{"task_id": {"x": 1}, "status": "failed"}',
    b'{"task_id": "12", "status": {"s": 1}}',
    b'{"task_id": "12", "status": "exploded"}',
    b'{"task_id": true, "status": "failed"}',
    b'{"challenge": ' + b"[" * 900 + b"]" * 900 + b"}",
    b'{"challenge": {"nested": [1, 2]}}',
])
async def test_malformed_bodies_get_400_never_500(setup, body: bytes) -> None:
    _, _, http = setup
    answer = await http.post(URL, content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text


async def test_polling_falls_back_slowly_when_pushes_are_on(setup) -> None:
    rig, _, _ = setup
    job = await rig.ask()
    await rig.step(0)
    for _ in range(12):
        await rig.step(60)
    stored = await rig.store.get_job(job)
    assert stored.status.at_provider and stored.polls < 12  # fewer polls than minutes passed
    assert stored.next_poll_at - rig.clock() <= 4 * rig.settings.poll_max_seconds * 1.2
