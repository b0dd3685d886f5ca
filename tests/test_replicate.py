"""The real Replicate provider against a local fake that enforces Replicate's wire format."""

from __future__ import annotations

import base64
import io
import json
import time
from pathlib import Path

import av
import pytest
from aiohttp import web
from PIL import Image

from bot import messages
from bot.contract import VideoRequest
from bot.jobs import JobStatus
from bot.ports import AttachmentRef
from bot.providers.base import Fault, ProviderError, TaskStatus
from bot.providers.replicate import ReplicateProvider, webhook_task
from tests.fakes.replicate import STEPS, FakeReplicate, sign
from tests.provider_rig import ProviderRig

D = JobStatus.DELIVERED
OFF, BAD = messages.PROVIDER_UNAVAILABLE, messages.PROVIDER_BAD_INPUT


@pytest.fixture
async def fake(sample_mp4: bytes):
    server = await FakeReplicate(video=sample_mp4).start()
    yield server
    await server.stop()


@pytest.fixture
async def rig(tmp_path: Path, fake: FakeReplicate):
    provider = ReplicateProvider(fake.token, fake.base_url, timeout=2.0)
    rig = await ProviderRig(tmp_path, provider).open()
    yield rig
    await rig.close()
    await provider.aclose()


def decodes(path: str) -> bool:
    with av.open(path) as container:
        return sum(1 for _ in container.decode(video=0)) > 0


async def test_text_to_video_on_the_wire_and_delivered(rig: ProviderRig, fake: FakeReplicate, sample_mp4) -> None:
    job = await rig.ask("A lighthouse in a storm [Push in]", resolution="1080P")
    assert await rig.until_done(job) == [D]
    assert fake.submissions == [{"input": {"prompt": "A lighthouse in a storm [Push in]", "duration": 6,
                                           "resolution": "1080p", "prompt_optimizer": True}}]
    stored = await rig.store.get_job(job)
    assert Path(stored.video_path).read_bytes() == sample_mp4 and decodes(stored.video_path)
    assert fake.download_auth == [None]  # the API token never goes to the file host
    events = [e[0] for e in await rig.store.events(job)]
    assert "preparing" in events and events[-4:] == ["processing", "succeeded", "delivering", "delivered"]
    assert await rig.ledger(job) == ["reserve", "capture"]


async def test_image_to_video_sends_a_data_url_and_the_options(rig: ProviderRig, fake: FakeReplicate) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (9, 8, 7)).save(buf, "PNG")
    rig.port.files["att://1"] = buf.getvalue()
    job = await rig.ask("", attachments=(AttachmentRef("att://1", "a.png"),), duration=10, prompt_optimizer=False)
    assert await rig.until_done(job) == [D]
    sent = fake.submissions[0]["input"]
    prefix = "data:image/png;base64,"
    assert sent["first_frame_image"].startswith(prefix)
    frame = Image.open(io.BytesIO(base64.b64decode(sent["first_frame_image"][len(prefix):])))
    assert frame.size == (640, 480)
    assert (sent["prompt"], sent["duration"], sent["resolution"], sent["prompt_optimizer"]) == ("", 10, "768p", False)
    assert type(sent["duration"]) is int and sent["prompt_optimizer"] is False
    assert decodes((await rig.store.get_job(job)).video_path)


async def test_output_as_a_one_element_list_is_accepted(rig: ProviderRig, fake: FakeReplicate) -> None:
    fake.output_as_list = True
    job = await rig.ask()
    assert await rig.until_done(job) == [D]


@pytest.mark.parametrize(
    ("step", "message"),
    [("failed:The input or output was flagged as sensitive. Please try different inputs. (E005)",
      messages.PROVIDER_REJECTED_INPUT),
     ("failed:MiniMax error 1027: output video withheld by moderation", messages.PROVIDER_REJECTED_OUTPUT),
     ("failed:invalid first_frame_image: aspect ratio must be between 2:5 and 5:2", messages.PROVIDER_BAD_INPUT),
     ("failed:Director: unexpected error handling prediction", messages.PROVIDER_FAILED),
     ("failed:", messages.PROVIDER_FAILED),
     ("canceled", messages.PROVIDER_UNAVAILABLE)],
)
async def test_final_failures_end_the_job_refunded(rig: ProviderRig, fake: FakeReplicate, step: str,
                                                   message: str) -> None:
    fake.steps = ["starting", "processing", step]
    job = await rig.ask()
    assert await rig.until_done(job) == [JobStatus.FAILED]
    assert (await rig.store.get_job(job)).error == message
    assert len(fake.submissions) == 1  # never resubmitted
    assert await rig.ledger(job) == ["reserve", "release"]
    assert rig.port.of_kind("notify") == [messages.JOB_FAILED_REFUNDED.format(reason=message, cost=1)]


@pytest.mark.parametrize("step", ["failed:Prediction interrupted; please retry (code: PA)",
                                  "failed:upstream request timed out", "aborted"])
async def test_passing_failures_are_sent_again(rig: ProviderRig, fake: FakeReplicate, step: str) -> None:
    plans = iter([["starting", step], list(STEPS)])
    fake.steps_for = lambda: next(plans)
    job = await rig.ask()
    assert await rig.until_done(job) == [D]
    assert len(fake.submissions) == 2
    assert await rig.ledger(job) == ["reserve", "capture"]


@pytest.mark.parametrize(("status", "message"), [(401, OFF), (402, OFF), (403, OFF), (422, BAD)])
async def test_refusals_are_the_operators_or_the_users(rig: ProviderRig, fake: FakeReplicate, status: int, message: str,
                                                       caplog) -> None:
    fake.fail_next("create", ("http", status))
    job = await rig.ask()
    assert await rig.until_done(job) == [JobStatus.FAILED]
    assert (await rig.store.get_job(job)).error == message
    assert await rig.ledger(job) == ["reserve", "release"]
    operator = f"(code {status})" in caplog.text and "operator must fix" in caplog.text
    assert operator is (status != 422)  # bad token or no credit is logged loudly; bad input is not
    assert fake.token not in caplog.text


async def test_the_fakes_own_validation_reaches_the_bot_as_a_user_fault(fake: FakeReplicate) -> None:
    provider = ReplicateProvider(fake.token, fake.base_url)
    # Past the contract's own check, on purpose: the service's 422 and its detail must come through.
    with pytest.raises(ProviderError) as err:
        await provider.submit(VideoRequest("a cat", duration=10, resolution="1080P"))
    assert err.value.fault is Fault.USER and err.value.code == 422 and "6 second" in str(err.value)
    fast = ReplicateProvider(fake.token, fake.base_url, model="minimax/hailuo-2.3-fast")
    with pytest.raises(ProviderError) as err:
        await fast.submit(VideoRequest("a cat", model="fast"))  # a Fast request without its image
    assert err.value.fault is Fault.USER and fake.submissions == []  # refused before spending a call
    unknown = ReplicateProvider(fake.token, fake.base_url, model="minimax/hailuo-9")
    with pytest.raises(ProviderError) as err:
        await unknown.submit(VideoRequest.build("a cat"))
    assert err.value.fault is Fault.OPERATOR and err.value.code == 404  # a wrong model name is configuration
    for p in (provider, fast, unknown):
        await p.aclose()


@pytest.mark.parametrize("faults", [[("http", 500)], [("http", 503)] * 3, [("html",)]])
async def test_server_errors_are_retried(rig: ProviderRig, fake: FakeReplicate, faults: list) -> None:
    fake.fail_next("create", *faults)
    fake.fail_next("get", *faults)
    fake.fail_next("download", ("http", 502))
    job = await rig.ask()
    assert await rig.until_done(job) == [D]
    assert len(fake.submissions) == 1
    assert await rig.ledger(job) == ["reserve", "capture"]


async def test_429_retry_after_is_honoured(rig: ProviderRig, fake: FakeReplicate) -> None:
    fake.fail_next("create", ("http", 429, 40))
    job = await rig.ask()
    await rig.step(0)
    queued = await rig.store.get_job(job)
    assert queued.status is JobStatus.QUEUED and queued.next_poll_at - rig.clock() == pytest.approx(40)
    assert await rig.store.submit_rate("replicate", 5, rig.clock()) < 5  # every process slows down
    await rig.step(30)
    assert fake.submissions == []  # still inside the Retry-After window
    assert await rig.until_done(job, steps=120) == [D]
    assert len(fake.submissions) == 1


async def test_a_deleted_prediction_is_resubmitted_once(rig: ProviderRig, fake: FakeReplicate) -> None:
    fake.steps = ["starting"] + ["processing"] * 3 + ["succeeded"]
    job = await rig.ask()
    await rig.step(0)
    first = (await rig.store.get_job(job)).task_id
    fake.expire(first)  # "an hour later": GET answers 404
    assert await rig.until_done(job) == [D]
    assert len(fake.submissions) == 2 and (await rig.store.get_job(job)).task_id != first
    assert await rig.ledger(job) == ["reserve", "capture"]


async def test_a_prediction_deleted_twice_fails_refunded(rig: ProviderRig, fake: FakeReplicate) -> None:
    fake.steps = ["processing"] * 50
    job = await rig.ask()
    for _ in range(40):
        await rig.step()
        current = await rig.store.get_job(job)
        if current.status.terminal:
            break
        if current.task_id:
            fake.expire(current.task_id)
    assert (await rig.store.get_job(job)).error == messages.SUBMISSION_INTERRUPTED
    assert len(fake.submissions) == 2
    assert await rig.ledger(job) == ["reserve", "release"]


async def test_an_output_deleted_before_download_is_not_retried_forever(fake: FakeReplicate) -> None:
    provider = ReplicateProvider(fake.token, fake.base_url)
    task = await provider.submit(VideoRequest.build("a cat"))
    state = None
    for _ in range(len(STEPS)):
        state = await provider.status(task)
    assert state is not None and state.status is TaskStatus.SUCCESS
    fake.expire(task)
    with pytest.raises(ProviderError) as err:
        async for _ in provider.download(state):
            pass
    assert err.value.fault is not Fault.RETRY and err.value.code == 404 and "deleted" in str(err.value)
    await provider.aclose()


async def test_cancel(fake: FakeReplicate) -> None:
    provider = ReplicateProvider(fake.token, fake.base_url)
    running = await provider.submit(VideoRequest.build("a cat"))
    assert (await provider.status(running)).status is TaskStatus.PREPARING
    assert await provider.cancel(running) is True
    state = await provider.status(running)
    assert state.status is TaskStatus.FAIL and state.error is not None
    assert state.error.fault is Fault.OPERATOR and state.error.code == "canceled"  # deliberate: never resent
    done = await provider.submit(VideoRequest.build("a dog"))
    for _ in range(len(STEPS)):
        await provider.status(done)
    assert await provider.cancel(done) is False  # already succeeded: nothing canceled
    fake.expire(done)
    assert await provider.cancel(done) is False  # deleted: nothing to cancel
    assert [kind for kind, _ in fake.requests].count("cancel") == 3
    await provider.aclose()


async def test_check_reports_a_wrong_token_as_the_operators(fake: FakeReplicate) -> None:
    good, bad = ReplicateProvider(fake.token, fake.base_url), ReplicateProvider("r8_wrong", fake.base_url)
    assert "fake-user" in await good.check()
    with pytest.raises(ProviderError) as err:
        await bad.check()
    assert err.value.fault is Fault.OPERATOR and err.value.code == 401 and "r8_wrong" not in str(err.value)
    await good.aclose()
    await bad.aclose()


@pytest.fixture
async def receiver():
    got: list[tuple[dict[str, str], bytes]] = []

    async def take(request: web.Request) -> web.Response:
        got.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks/replicate", take)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/hooks/replicate", got
    await runner.cleanup()


async def pushed(fake: FakeReplicate, receiver) -> tuple[str, dict[str, str], bytes]:
    url, got = receiver
    provider = ReplicateProvider(fake.token, fake.base_url, webhook_url=url)
    assert await provider.webhook_secret() == fake.webhook_secret  # what the wiring checks pushes with
    task = await provider.submit(VideoRequest.build("a cat"))
    assert fake.submissions[-1]["webhook"] == url and fake.submissions[-1]["webhook_events_filter"] == ["completed"]
    for _ in range(len(STEPS)):
        await provider.status(task)
    await fake.delivered()
    await provider.aclose()
    assert fake.pushes == [(url, 204)] and len(got) == 1  # one push, only when completed
    return task, *got[0]


async def test_webhook_signed_by_the_fake_is_accepted(fake: FakeReplicate, receiver) -> None:
    task, headers, body = await pushed(fake, receiver)
    assert json.loads(body)["status"] == "succeeded"
    assert webhook_task(headers, body, fake.webhook_secret) == task
    lower = {k.lower(): v for k, v in headers.items()}
    other = "v1," + base64.b64encode(b"x" * 32).decode()
    assert webhook_task({**lower, "webhook-signature": f"{other} {lower['webhook-signature']}"}, body,
                        fake.webhook_secret) == task  # one valid entry among several is enough


async def test_webhook_forgeries_are_refused(fake: FakeReplicate, receiver) -> None:
    task, headers, body = await pushed(fake, receiver)
    h = {k.lower(): v for k, v in headers.items()}
    stamp = int(h["webhook-timestamp"])
    wrong_secret = "whsec_" + base64.b64encode(b"someone-elses-key-000000000000").decode()
    assert webhook_task(h, body, wrong_secret) is None
    assert webhook_task(h, body.replace(task.encode(), b"fakepred999999999999999999"), fake.webhook_secret) is None
    assert webhook_task(h, body, fake.webhook_secret, now=stamp + 301) is None  # a replay, too late
    assert webhook_task(h, body, fake.webhook_secret, now=stamp - 301) is None
    assert webhook_task(h, body, fake.webhook_secret, now=stamp + 299) == task
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        assert webhook_task({k: v for k, v in h.items() if k != name}, body, fake.webhook_secret) is None
    assert webhook_task({**h, "webhook-id": "msg_other"}, body, fake.webhook_secret) is None
    assert webhook_task({**h, "webhook-timestamp": str(stamp + 1)}, body, fake.webhook_secret, now=stamp) is None


@pytest.mark.parametrize(
    "body",
    [b"[" * 200_000 + b"]" * 200_000, b'{"id": ' * 50_000, b"\xff\xfe not utf-8", b"[]", b'{"id": 12}',
     b'{"id": "../../etc"}', b"", b"null"],
)
def test_webhook_junk_bodies_never_raise(fake: FakeReplicate, body: bytes) -> None:
    now = int(time.time())
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now),
               "webhook-signature": sign(fake.webhook_secret, "msg_1", now, body)}
    assert webhook_task(headers, body, fake.webhook_secret) is None  # signed, yet no usable prediction id


@pytest.mark.parametrize(
    ("stamp", "sig", "secret"),
    [("1" * 5000, "v1,AAAA", None), ("١٧٠٠٠٠٠٠٠٠", "v1,AAAA", None), ("NOW", "v1,AAAA", None),
     ("NOW", "v1,!!!not base64 ✓", None), ("NOW", "v1,AAAA", "whsec_%%%not-base64"), ("NOW", "v1,AAAA", "whsec_")],
)
def test_webhook_junk_headers_and_secrets_never_raise(fake: FakeReplicate, stamp: str, sig: str, secret) -> None:
    headers = {"webhook-id": "m", "webhook-timestamp": str(int(time.time())) if stamp == "NOW" else stamp,
               "webhook-signature": sig}
    assert webhook_task(headers, b'{"id": "fakepred1"}', secret or fake.webhook_secret) is None
