"""The real fal provider against a strict local fake of fal's queue API."""

from __future__ import annotations

import io
from pathlib import Path

import av
import httpx
import pytest
from aiohttp import web
from PIL import Image

from bot import messages
from bot.contract import VideoRequest
from bot.jobs import JobStatus
from bot.ports import AttachmentRef
from bot.providers.base import Fault, ProviderError, TaskLost, TaskState, TaskStatus
from bot.providers.fal import FalProvider, webhook_task
from tests.fakes.fal import FakeFal
from tests.provider_rig import ProviderRig

D = JobStatus.DELIVERED
STD_T2V = "fal-ai/minimax/hailuo-2.3/standard/text-to-video"
PRO_T2V = "fal-ai/minimax/hailuo-2.3/pro/text-to-video"
STD_I2V = "fal-ai/minimax/hailuo-2.3/standard/image-to-video"
PRO_I2V = "fal-ai/minimax/hailuo-2.3/pro/image-to-video"
FAST_STD_I2V = "fal-ai/minimax/hailuo-2.3-fast/standard/image-to-video"


@pytest.fixture
async def fake(sample_mp4: bytes):
    server = await FakeFal(video=sample_mp4).start()
    yield server
    await server.stop()


async def open_rig(tmp_path: Path, fake: FakeFal, key: str | None = None, **kw) -> ProviderRig:
    rig = await ProviderRig(tmp_path, FalProvider(key or fake.key, fake.queue_url, **kw)).open()
    fake.clock = rig.clock  # the fake's result retention runs on the rig's clock
    return rig


@pytest.fixture
async def rig(tmp_path: Path, fake: FakeFal):
    rig = await open_rig(tmp_path, fake)
    yield rig
    await rig.close()
    await rig.provider.aclose()


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (1, 2, 3)).save(buf, "PNG")
    return buf.getvalue()


async def until(rig: ProviderRig, job: str, status: JobStatus, steps: int = 30) -> None:
    for _ in range(steps):
        if (await rig.store.get_job(job)).status is status:
            return
        await rig.step()
    raise AssertionError(f"job never reached {status}")


async def test_text_job_on_the_wire_to_a_decoded_mp4(rig: ProviderRig, fake: FakeFal, sample_mp4: bytes) -> None:
    job = await rig.ask("Fireworks over a city skyline", duration=10)
    assert await rig.until_done(job) == [D]
    assert fake.submissions == [(STD_T2V, {"prompt": "Fireworks over a city skyline", "prompt_optimizer": True,
                                           "duration": "10"})]
    stored = await rig.store.get_job(job)
    assert stored.task_id in fake.requests  # the task id is fal's request id, nothing more
    assert Path(stored.video_path).read_bytes() == sample_mp4
    with av.open(stored.video_path) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    assert [e[0] for e in await rig.store.events(job)][-5:] == [
        "queueing", "processing", "succeeded", "delivering", "delivered"]
    assert await rig.ledger(job) == ["reserve", "capture"]


async def test_pro_text_job_sends_no_duration_and_prompt_optimizer_off(rig: ProviderRig, fake: FakeFal) -> None:
    job = await rig.ask("A man picks up a book", resolution="1080P", prompt_optimizer=False)
    assert await rig.until_done(job) == [D]
    assert fake.submissions == [(PRO_T2V, {"prompt": "A man picks up a book", "prompt_optimizer": False})]


@pytest.mark.parametrize(("resolution", "prompt", "endpoint", "duration"),
                         [("768P", "", STD_I2V, "6"), ("1080P", "the boat sails off", PRO_I2V, None)])
async def test_image_jobs_send_a_data_url(rig: ProviderRig, fake: FakeFal, resolution: str, prompt: str,
                                          endpoint: str, duration: str | None) -> None:
    rig.port.files["att://1"] = png()
    job = await rig.ask(prompt, attachments=(AttachmentRef("att://1", "a.png"),), resolution=resolution,
                        fast_pretreatment=True)
    assert await rig.until_done(job) == [D]
    [(sent_to, body)] = fake.submissions
    assert sent_to == endpoint
    assert body.pop("image_url").startswith("data:image/png;base64,")
    # fal has no fast_pretreatment field; an image-only job still sends the required prompt, empty
    assert body == {"prompt": prompt, "prompt_optimizer": True, **({"duration": duration} if duration else {})}
    with av.open((await rig.store.get_job(job)).video_path) as container:
        assert container.streams.video[0].codec_context.name == "h264"


async def test_fal_fast_animates_images_and_leaves_text_to_the_standard_model(tmp_path: Path, fake: FakeFal) -> None:
    # FAL_FAST=true makes the Fast model the default of image jobs; a text-only one uses the standard model
    # (it used to be accepted and then fail at fal).
    rig = await ProviderRig(tmp_path, FalProvider(fake.key, fake.queue_url), fal_fast=True,
                            hailuo_provider="fal", fal_key=fake.key).open()
    fake.clock = rig.clock
    rig.port.files["att://1"] = png()
    image_job = await rig.ask("waves", attachments=(AttachmentRef("att://1", "a.png"),))
    text_job = await rig.ask("no picture here", user="u2")
    assert await rig.until_done(image_job, text_job) == [D, D]
    assert sorted(endpoint for endpoint, _ in fake.submissions) == [FAST_STD_I2V, STD_T2V]
    fast, standard = await rig.store.get_job(image_job), await rig.store.get_job(text_job)
    assert (fast.request.model, fast.price_usd) == ("fast", 0.19)
    assert (standard.request.model, standard.price_usd) == ("standard", 0.28)
    await rig.close()
    await rig.provider.aclose()


async def test_queue_position_while_in_queue(fake: FakeFal) -> None:
    fake.queued_polls = 3
    provider = FalProvider(fake.key, fake.queue_url)
    task = await provider.submit(VideoRequest.build("a cat"))
    states = [await provider.status(task) for _ in range(5)]
    assert [(s.status, s.queue_position) for s in states] == [
        (TaskStatus.QUEUEING, 2), (TaskStatus.QUEUEING, 1), (TaskStatus.QUEUEING, 0),
        (TaskStatus.PROCESSING, None), (TaskStatus.SUCCESS, None)]
    assert states[-1].video_url.endswith("/output.mp4")
    await provider.aclose()


@pytest.mark.parametrize(("kind", "message"), [("content", messages.PROVIDER_REJECTED_INPUT),
                                               ("validation", messages.PROVIDER_BAD_INPUT)])
async def test_model_refusals_are_the_users_and_refunded(rig: ProviderRig, fake: FakeFal, kind: str,
                                                         message: str) -> None:
    fake.fail_model_next(kind)
    job = await rig.ask()
    assert await rig.until_done(job) == [JobStatus.FAILED]
    assert (await rig.store.get_job(job)).error == message
    assert await rig.ledger(job) == ["reserve", "release"]
    assert rig.port.of_kind("notify") == [messages.JOB_FAILED_REFUNDED.format(reason=message, cost=1)]
    assert len(fake.submissions) == 1  # a refusal is never sent again


async def test_a_model_timeout_is_sent_again_and_delivered(rig: ProviderRig, fake: FakeFal) -> None:
    fake.fail_model_next("timeout")
    job = await rig.ask()
    assert await rig.until_done(job, steps=120) == [D]
    assert len(fake.submissions) == 2
    assert await rig.ledger(job) == ["reserve", "capture"]


@pytest.mark.parametrize(("setup", "message"), [
    ("wrong key", messages.PROVIDER_UNAVAILABLE),
    ("locked", messages.PROVIDER_UNAVAILABLE),
    ("402", messages.PROVIDER_UNAVAILABLE),
    ("422", messages.PROVIDER_BAD_INPUT),
])
async def test_refusals_at_submit_end_the_job_refunded(tmp_path: Path, fake: FakeFal, caplog, setup: str,
                                                       message: str) -> None:
    rig = await open_rig(tmp_path, fake, key="fal-wrong-key:000000" if setup == "wrong key" else None)
    if setup == "locked":
        fake.locked = True
    elif setup != "wrong key":
        fake.fail_next("submit", ("http", int(setup)))
    job = await rig.ask()
    assert await rig.until_done(job) == [JobStatus.FAILED]
    assert (await rig.store.get_job(job)).error == message
    assert await rig.ledger(job) == ["reserve", "release"]
    if message == messages.PROVIDER_UNAVAILABLE:
        assert "operator must fix" in caplog.text
    assert fake.key not in caplog.text and "fal-wrong-key" not in caplog.text
    await rig.close()
    await rig.provider.aclose()


async def test_429_retry_after_is_honoured(rig: ProviderRig, fake: FakeFal) -> None:
    fake.fail_next("submit", ("http", 429, 45))
    job = await rig.ask()
    await rig.step(0)
    stored = await rig.store.get_job(job)
    assert stored.status is JobStatus.QUEUED and stored.next_poll_at - rig.clock() == pytest.approx(45, abs=1)
    await rig.step(30)
    assert [what for what, _ in fake.calls].count("submit") == 1  # not before the 45 s are up
    assert await rig.until_done(job) == [D]
    assert len(fake.submissions) == 1
    assert await rig.ledger(job) == ["reserve", "capture"]


async def test_transient_faults_everywhere_are_retried(rig: ProviderRig, fake: FakeFal) -> None:
    fake.fail_next("submit", ("http", 502), ("html",), ("reset",))
    fake.fail_next("status", ("http", 503), ("html",))
    fake.fail_next("result", ("http", 500), ("reset",))
    fake.fail_next("file", ("http", 502))
    job = await rig.ask()
    assert await rig.until_done(job, steps=150) == [D]
    assert len(fake.submissions) == 1
    assert await rig.ledger(job) == ["reserve", "capture"]


async def test_a_request_fal_forgot_is_sent_once_more(rig: ProviderRig, fake: FakeFal) -> None:
    fake.fail_next("status", ("http", 404))
    job = await rig.ask()
    assert await rig.until_done(job) == [D]
    assert len(fake.submissions) == 2
    assert await rig.ledger(job) == ["reserve", "capture"]


async def test_an_expired_result_fails_refunded(rig: ProviderRig, fake: FakeFal) -> None:
    job = await rig.ask()
    rig.before_delivery(lambda: rig.clock.advance(fake.retention + 1))  # too slow: fal has deleted the video
    assert await rig.until_done(job) == [JobStatus.FAILED]
    stored = await rig.store.get_job(job)
    assert stored.error == messages.PROVIDER_UNAVAILABLE
    assert await rig.ledger(job) == ["reserve", "release"]
    assert fake.downloads == 0 and [what for what, _ in fake.calls].count("file") == 1  # tried once, not again
    with pytest.raises(ProviderError) as err:  # said as an expiry, never retried
        async for _ in rig.provider.download(TaskState(job, TaskStatus.SUCCESS, video_url=stored.video_url)):
            pass
    assert (err.value.fault, err.value.code) == (Fault.OPERATOR, "result_expired")


async def test_restart_a_new_provider_follows_an_old_request(fake: FakeFal, sample_mp4: bytes) -> None:
    before = FalProvider(fake.key, fake.queue_url)
    task = await before.submit(VideoRequest.build("a heron", duration=10))
    await before.aclose()
    after = FalProvider(fake.key, fake.queue_url)  # only the task id string survives, as in the database
    for _ in range(10):
        state = await after.status(task)
        if state.status is TaskStatus.SUCCESS:
            break
    assert state.status is TaskStatus.SUCCESS
    assert b"".join([chunk async for chunk in after.download(state)]) == sample_mp4
    with pytest.raises(TaskLost):
        await after.status("no/such id")
    await after.aclose()


async def test_cancel(fake: FakeFal) -> None:
    provider = FalProvider(fake.key, fake.queue_url)
    task = await provider.submit(VideoRequest.build("a cat"))
    assert await provider.cancel(task) is True
    state = await provider.status(task)
    assert state.status is TaskStatus.FAIL and state.error.fault is Fault.USER
    done = await provider.submit(VideoRequest.build("a dog"))
    await fake.finish(done)
    assert await provider.cancel(done) is False  # ALREADY_COMPLETED
    assert await provider.cancel("00000000-0000-0000-0000-000000000000") is False
    assert next(path for what, path in fake.calls if what == "cancel") == f"/fal-ai/minimax/requests/{task}/cancel"
    await provider.aclose()


async def test_webhook_push_names_the_request(fake: FakeFal) -> None:
    received: list[bytes] = []

    async def receive(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/callbacks/fal/s3cret", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    hook = f"http://127.0.0.1:{runner.addresses[0][1]}/callbacks/fal/s3cret"
    provider = FalProvider(fake.key, fake.queue_url, webhook_url=hook)
    task = await provider.submit(VideoRequest.build("a cat"))
    assert httpx.URL(fake.calls[0][1]).params["fal_webhook"] == hook
    await fake.finish(task)
    assert fake.pushes == [(hook, 200)] and [webhook_task(body) for body in received] == [task]
    await provider.aclose()
    await runner.cleanup()


@pytest.mark.parametrize("body", [
    b"", b"not json", b"\xff\xfe", b"[" * 100_000, b"[]", b"1" * 5000,
    b'{"request_id": ["a"], "status": "OK"}', b'{"request_id": 5, "status": "OK"}',
    b'{"request_id": "a b/../c", "status": "OK"}', b'{"request_id": "abc", "status": "DONE"}',
    b'{"request_id": "abc", "status": ["OK"]}', b'{"request_id": "abc", "status": "OK", "payload": [1]}',
    b'{"request_id": "' + b"a" * 500 + b'", "status": "OK"}',
])
def test_webhook_task_refuses_junk(body: bytes) -> None:
    assert webhook_task(body) is None


def test_webhook_task_reads_good_pushes() -> None:
    good = b'{"request_id": "764cabcf-b745-4b3e-ae38-1200304cf45b", "status": "OK", "payload": {"video": {}}}'
    assert webhook_task(good) == "764cabcf-b745-4b3e-ae38-1200304cf45b"
    assert webhook_task(b'{"request_id": "abc", "status": "ERROR", "payload": null, "error": "x"}') == "abc"


async def test_check_tells_a_good_key_from_a_bad_one(fake: FakeFal) -> None:
    good, bad = FalProvider(fake.key, fake.queue_url), FalProvider("fal-wrong-key:1", fake.queue_url)
    assert "accepted the API key" in await good.check()
    with pytest.raises(ProviderError) as err:
        await bad.check()
    assert err.value.fault is Fault.OPERATOR and err.value.code == 401
    await good.aclose()
    await bad.aclose()


@pytest.mark.parametrize(("endpoint", "body", "status"), [
    ("fal-ai/minimax/hailuo-2.3-fast/standard/text-to-video", {"prompt": "x"}, 404),
    ("fal-ai/minimax/hailuo-2.3/ultra/text-to-video", {"prompt": "x"}, 404),
    (PRO_T2V, {"prompt": "x", "duration": "10"}, 422),
    (STD_T2V, {"prompt": "x", "duration": 8}, 422),
    (STD_T2V, {"prompt": "x", "resolution": "768P"}, 422),
    (STD_T2V, {"prompt": "x", "prompt_optimizer": "false"}, 422),
    (STD_T2V, {"prompt": ""}, 422),
    (STD_I2V, {"prompt": "x"}, 422),
    (STD_T2V, {"prompt": "x", "duration": 6}, 200),  # the docs disagree on the type: both spellings pass
    (PRO_T2V, {"prompt": "x", "duration": "6"}, 200),
])
async def test_the_fake_refuses_what_fal_refuses(fake: FakeFal, endpoint: str, body: dict, status: int) -> None:
    async with httpx.AsyncClient(base_url=fake.queue_url, headers={"Authorization": f"Key {fake.key}"}) as client:
        assert (await client.post(f"/{endpoint}", json=body)).status_code == status
        assert (await client.post(f"/{STD_T2V}", json={"prompt": "x"}, headers={"Authorization": "Bearer k"})
                ).status_code == 401
