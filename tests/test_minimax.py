"""The real MiniMax provider against a local fake that enforces the wire format."""

from __future__ import annotations

import io
from pathlib import Path

import av
import pytest
from PIL import Image

from bot import messages
from bot.jobs import JobStatus
from bot.ports import AttachmentRef
from bot.providers.base import Fault, ProviderError
from bot.providers.minimax import MiniMaxProvider
from tests.fakes.minimax import FakeMiniMax
from tests.provider_rig import ProviderRig

D = JobStatus.DELIVERED


@pytest.fixture
async def fake(sample_mp4: bytes):
    server = await FakeMiniMax(video=sample_mp4).start()
    yield server
    await server.stop()


@pytest.fixture
async def rig(tmp_path: Path, fake: FakeMiniMax):
    provider = MiniMaxProvider(fake.api_key, fake.base_url, timeout=2.0)
    rig = await ProviderRig(tmp_path, provider).open()
    yield rig
    await rig.close()
    await provider.aclose()


async def test_text_to_video_on_the_wire_and_delivered(rig: ProviderRig, fake: FakeMiniMax, sample_mp4: bytes) -> None:
    job = await rig.ask("A man picks up a book [Pedestal up]", resolution="1080P")
    assert await rig.until_done(job) == [D]
    assert fake.submissions == [{"model": "MiniMax-Hailuo-2.3", "prompt": "A man picks up a book [Pedestal up]",
                                 "duration": 6, "resolution": "1080P", "prompt_optimizer": True,
                                 "fast_pretreatment": False}]
    stored = await rig.store.get_job(job)
    assert Path(stored.video_path).read_bytes() == sample_mp4
    with av.open(stored.video_path) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    assert [e[0] for e in await rig.store.events(job)][-6:] == [
        "preparing", "queueing", "processing", "succeeded", "delivering", "delivered"]
    assert await rig.ledger(job) == ["reserve", "capture"]


async def test_image_to_video_sends_a_data_url(rig: ProviderRig, fake: FakeMiniMax) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (1, 2, 3)).save(buf, "PNG")
    rig.port.files["att://1"] = buf.getvalue()
    job = await rig.ask("", attachments=(AttachmentRef("att://1", "a.png"),), duration=10, fast_pretreatment=True)
    assert await rig.until_done(job) == [D]
    body = fake.submissions[0]
    assert body["first_frame_image"].startswith("data:image/png;base64,") and "prompt" not in body
    assert (body["duration"], body["resolution"], body["fast_pretreatment"]) == (10, "768P", True)


@pytest.mark.parametrize(
    "faults",
    [
        [("code", 1002)], [("code", 1000), ("code", 1033)], [("http", 502)] * 3, [("html",)], [("truncated",)],
        [("reset",)], [("http", 429, 7)], [("stall", 3)],
    ],
)
async def test_transient_faults_on_submit_are_retried(rig: ProviderRig, fake: FakeMiniMax, faults: list) -> None:
    fake.fail_next("create", *faults)
    job = await rig.ask()
    assert await rig.until_done(job) == [D]
    assert len(fake.submissions) == 1
    assert await rig.ledger(job) == ["reserve", "capture"]


async def test_transient_faults_while_polling_and_downloading(rig: ProviderRig, fake: FakeMiniMax) -> None:
    fake.fail_next("query", ("code", 1001), ("http", 503), ("html",))
    fake.fail_next("retrieve", ("code", 1013))
    fake.fail_next("download", ("http", 500), ("reset",))
    job = await rig.ask()
    assert await rig.until_done(job) == [D]
    assert await rig.ledger(job) == ["reserve", "capture"]


@pytest.mark.parametrize(
    ("steps", "message"),
    [(["Processing", "code:1026"], messages.PROVIDER_REJECTED_INPUT),
     (["Processing", "code:1027"], messages.PROVIDER_REJECTED_OUTPUT),
     (["Queueing", "Fail"], messages.PROVIDER_FAILED)],
)
async def test_user_faults_end_the_job_refunded(rig: ProviderRig, fake: FakeMiniMax, steps: list, message: str) -> None:
    fake.steps = steps
    job = await rig.ask()
    assert await rig.until_done(job) == [JobStatus.FAILED]
    assert (await rig.store.get_job(job)).error == message
    assert await rig.ledger(job) == ["reserve", "release"]
    assert rig.port.of_kind("notify") == [messages.JOB_FAILED_REFUNDED.format(reason=message, cost=1)]


@pytest.mark.parametrize("code", [1004, 2049, 1008, 2056])
async def test_operator_faults_apologise_and_refund(rig: ProviderRig, fake: FakeMiniMax, code: int, caplog) -> None:
    fake.fail_next("create", ("code", code))
    job = await rig.ask()
    assert await rig.until_done(job) == [JobStatus.FAILED]
    assert (await rig.store.get_job(job)).error == messages.PROVIDER_UNAVAILABLE
    assert await rig.ledger(job) == ["reserve", "release"]
    assert f"(code {code})" in caplog.text and "operator must fix" in caplog.text
    assert fake.api_key not in caplog.text


async def test_wrong_key_is_an_operator_fault(tmp_path: Path, fake: FakeMiniMax) -> None:
    provider = MiniMaxProvider("mm-wrong-key-000000", fake.base_url, timeout=2.0)
    with pytest.raises(ProviderError) as err:
        await provider.check()
    assert err.value.fault is Fault.OPERATOR and err.value.code == 1004
    good = MiniMaxProvider(fake.api_key, fake.base_url, timeout=2.0)
    assert "accepted the API key" in await good.check()
    await provider.aclose()
    await good.aclose()


async def test_rate_limit_storm_slows_the_limiter_and_delivers_every_job(rig: ProviderRig, fake: FakeMiniMax) -> None:
    fake.fail_next("create", *[("code", 1002)] * 6)
    jobs = [await rig.ask(f"scene {n}", user=f"u{n}") for n in range(8)]
    await rig.step(0)
    assert await rig.store.submit_rate("minimax", 5, rig.clock()) == 2  # halved after the rate-limit answers
    assert await rig.until_done(*jobs, steps=200, seconds=15) == [D] * 8
    assert len(fake.submissions) == 8
    sent = await rig.store.submit_times("minimax")
    assert all(sent[i + 5] - sent[i] >= 60 for i in range(len(sent) - 5))  # never 6 in a minute


async def test_expired_download_url_is_renewed(rig: ProviderRig, fake: FakeMiniMax) -> None:
    fake.steps = ["Processing", "Success"]
    job = await rig.ask()
    rig.before_delivery(fake.expire_download_urls)  # the address dies between Success and the download
    assert await rig.until_done(job) == [D]
    assert [kind for kind, _ in fake.requests].count("retrieve") == 2
    assert fake.downloads == 1


async def test_fast_model_only_with_an_image(fake: FakeMiniMax) -> None:
    from bot.contract import VideoRequest

    # MINIMAX_MODEL set to the Fast model makes it the default of image jobs (bot/models.py); a text-only
    # request still goes to the standard model instead of failing at MiniMax.
    provider = MiniMaxProvider(fake.api_key, fake.base_url, model="MiniMax-Hailuo-2.3-Fast")
    await provider.submit(VideoRequest.build("a cat"))
    assert fake.submissions[-1]["model"] == "MiniMax-Hailuo-2.3"
    # A Fast request without an image (past the contract's own check, on purpose) never reaches MiniMax.
    with pytest.raises(ProviderError) as err:
        await provider.submit(VideoRequest("a cat", model="fast"))
    assert err.value.fault is Fault.USER and len(fake.submissions) == 1
    await provider.aclose()


async def test_check_provider_command(tmp_path: Path, fake: FakeMiniMax) -> None:
    import asyncio
    import sys

    from tests.test_cli import env_for

    async def check(**env: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "check-provider", cwd=tmp_path, env=env_for(tmp_path, **env),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode, out.decode(), err.decode()

    base = {"HAILUO_PROVIDER": "minimax", "MINIMAX_BASE_URL": fake.base_url}
    code, out, _ = await check(**base, MINIMAX_API_KEY=fake.api_key)
    assert code == 0 and "accepted the API key" in out
    code, _, err = await check(**base, MINIMAX_API_KEY="mm-wrong-key-111111")
    assert code == 1 and "check MINIMAX_API_KEY" in err and "mm-wrong-key-111111" not in err
    code, _, err = await check(HAILUO_PROVIDER="minimax")
    assert code == 1 and "needs MINIMAX_API_KEY" in err
    code, out, _ = await check()
    assert code == 0 and "local provider" in out


async def test_generate_through_minimax(tmp_path: Path, fake: FakeMiniMax, sample_mp4: bytes) -> None:
    import asyncio
    import sys

    from tests.test_cli import env_for

    env = env_for(tmp_path, HAILUO_PROVIDER="minimax", MINIMAX_BASE_URL=fake.base_url, MINIMAX_API_KEY=fake.api_key)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "generate", "a heron in the reeds", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert Path(out.decode().strip()).read_bytes() == sample_mp4
    assert fake.submissions[0]["prompt"] == "a heron in the reeds"
    assert fake.api_key not in err.decode()
