"""First-frame checks on real image files made here."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from bot import messages
from bot.contract import InvalidRequest
from bot.images import MAX_IMAGE_BYTES, check_first_frame, data_url


def encode(size: tuple[int, int], fmt: str, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, (40, 160, 90) if mode == "RGB" else 0).save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mime", "ext"), [("PNG", "image/png", "png"), ("JPEG", "image/jpeg", "jpg"), ("WEBP", "image/webp", "webp")]
)
async def test_accepted_formats_kept_on_disk(tmp_path: Path, fmt: str, mime: str, ext: str) -> None:
    data = encode((800, 600), fmt)
    frame = await check_first_frame(data, tmp_path / "frames", "job1")
    assert (frame.mime, frame.width, frame.height) == (mime, 800, 600)
    assert frame.path.endswith(f"job1.{ext}") and Path(frame.path).read_bytes() == data
    url = data_url(frame)
    assert url.startswith(f"data:{mime};base64,") and base64.b64decode(url.split(",", 1)[1]) == data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"just some notes, not a picture", messages.IMAGE_NOT_IMAGE),
        (encode((800, 600), "GIF", "P"), messages.IMAGE_WRONG_FORMAT.format(fmt="GIF")),
        (encode((300, 400), "PNG"), messages.IMAGE_TOO_SMALL.format(w=300, h=400)),
        (encode((400, 1600), "PNG"), messages.IMAGE_BAD_ASPECT.format(w=400, h=1600)),
        (encode((1600, 400), "JPEG"), messages.IMAGE_BAD_ASPECT.format(w=1600, h=400)),
        (encode((800, 600), "PNG")[:200], messages.IMAGE_NOT_IMAGE),
    ],
)
async def test_refused_with_a_clear_message(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        await check_first_frame(data, tmp_path, "x")
    assert str(err.value) == message
    assert not any(tmp_path.iterdir())


async def test_boundaries(tmp_path: Path) -> None:
    assert (await check_first_frame(encode((301, 400), "PNG"), tmp_path, "a")).width == 301
    assert (await check_first_frame(encode((400, 1000), "PNG"), tmp_path, "b")).height == 1000  # exactly 2:5
    assert (await check_first_frame(encode((1000, 400), "PNG"), tmp_path, "c")).width == 1000  # exactly 5:2


async def test_twenty_megabytes_refused_before_decoding(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest) as err:
        await check_first_frame(b"\x89PNG" + b"\x00" * MAX_IMAGE_BYTES, tmp_path, "big")
    assert str(err.value).startswith("That image is 20.0 MB")


async def test_decompression_bomb_refused(tmp_path: Path) -> None:
    bomb = encode((12_000, 12_000), "PNG", "1")  # a tiny file that claims 144 megapixels
    assert len(bomb) < 1_000_000
    with pytest.raises(InvalidRequest) as err:
        await check_first_frame(bomb, tmp_path, "bomb")
    assert str(err.value) == messages.IMAGE_TOO_MANY_PIXELS
    just_over = encode((8_001, 8_000), "PNG", "1")  # 64 megapixels and a bit: below Pillow's own alarm
    with pytest.raises(InvalidRequest) as err:
        await check_first_frame(just_over, tmp_path, "big")
    assert str(err.value) == messages.IMAGE_TOO_MANY_PIXELS
