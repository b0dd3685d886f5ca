"""The local provider renders real H.264 MP4s and survives a restart; it is not an AI model."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from PIL import Image

from bot.contract import FirstFrame, VideoRequest
from bot.providers.base import TaskLost, TaskStatus
from bot.providers.local import LocalProvider
from tests.helpers import FakeClock


def probe(path: Path) -> tuple[str, int, int, float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        assert frames == stream.frames
        return stream.codec_context.name, stream.width, stream.height, float(container.duration / av.time_base)


async def finished(provider: LocalProvider, clock: FakeClock, task: str) -> bytes:
    await provider.wait_rendered()
    clock.advance(100)
    state = await provider.status(task)
    assert state.status is TaskStatus.SUCCESS and state.video_url.startswith("file://")
    chunks = [c async for c in provider.download(state)]
    assert all(len(c) <= 65536 for c in chunks)  # streamed, never read whole
    data = b"".join(chunks)
    assert len(data) == Path(state.video_url.removeprefix("file://")).stat().st_size
    return data


@pytest.mark.parametrize(
    ("resolution", "duration", "size"),
    [("768P", 6, (1366, 768)), ("1080P", 6, (1920, 1080)), ("768P", 10, (1366, 768))],
)
async def test_text_to_video_size_and_duration(tmp_path: Path, resolution: str, duration: int, size: tuple) -> None:
    clock = FakeClock()
    provider = LocalProvider(tmp_path, delay_seconds=10, clock=clock)
    task = await provider.submit(VideoRequest.build("a red kite over hills", duration=duration, resolution=resolution))
    data = await finished(provider, clock, task)
    out = tmp_path / "out.mp4"
    out.write_bytes(data)
    codec, width, height, seconds = probe(out)
    assert (codec, (width, height)) == ("h264", size)
    assert abs(seconds - duration) <= 0.5
    await provider.aclose()


async def test_image_to_video_keeps_the_image_aspect(tmp_path: Path) -> None:
    picture = tmp_path / "portrait.png"
    Image.new("RGB", (1000, 2000), (20, 90, 200)).save(picture)
    clock = FakeClock()
    provider = LocalProvider(tmp_path / "state", delay_seconds=1, clock=clock)
    frame = FirstFrame(str(picture), "image/png", 1000, 2000)
    task = await provider.submit(VideoRequest.build("", first_frame=frame))
    out = tmp_path / "i2v.mp4"
    out.write_bytes(await finished(provider, clock, task))
    codec, width, height, seconds = probe(out)
    assert (codec, width, height) == ("h264", 768, 1536) and abs(seconds - 6) <= 0.5
    await provider.aclose()


async def test_states_walk_in_order_and_survive_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    provider = LocalProvider(tmp_path, delay_seconds=10, clock=clock)
    task = await provider.submit(VideoRequest.build("waves"))
    seen = []
    for _ in range(6):
        seen.append((await provider.status(task)).status)
        clock.advance(2)
    assert seen[:3] == [TaskStatus.PREPARING, TaskStatus.QUEUEING, TaskStatus.PROCESSING]
    await provider.aclose()  # the process dies; its render is cut off
    (tmp_path / f"{task}.mp4").unlink(missing_ok=True)
    again = LocalProvider(tmp_path, delay_seconds=10, clock=clock)
    assert (await again.status(task)).status is TaskStatus.PROCESSING  # and the render starts again
    assert len(await finished(again, clock, task)) > 1000
    with pytest.raises(TaskLost):
        await again.status("local-unknown")
    await again.aclose()
