"""A big first frame costs little memory: decoded a strip at a time, kept shrunk, two at once at most."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from bot import messages
from bot.contract import InvalidRequest
from bot.images import check_first_frame

ROOT = Path(__file__).resolve().parent.parent
MAX_STORED_SIDE = 2048  # Hailuo makes 1080P at most: a first frame is never kept bigger than this
# Checking one 8000 x 8000 PNG used to peak at about 275 MB, eight at once at about 1.4 GB; now
# about 75 MB and 125 MB. The bounds leave room for other Pillow builds, not for a full-size copy
# (8000 x 8000 x 4 bytes is 256 MB on its own).
ONE_IMAGE_MB = 200
EIGHT_IMAGES_MB = 250

CHILD = """
import asyncio, json, sys
from pathlib import Path
from bot.images import check_first_frame
data, out, count = Path(sys.argv[1]).read_bytes(), Path(sys.argv[2]), int(sys.argv[3])
async def main():
    return await asyncio.gather(*(check_first_frame(data, out, f"f{i}") for i in range(count)))
frames = asyncio.run(main())
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"peak_kb": peak, "frames": [[f.path, f.width, f.height] for f in frames]}))
"""


def solid_png(width: int, height: int) -> bytes:
    """A real PNG of `width` x `height` made row by row, so the test itself never holds the pixels."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    deflate, parts = zlib.compressobj(9), []
    for y in range(height):
        parts.append(deflate.compress(b"\0" + bytes((40, y % 256, 160)) * width))
    parts.append(deflate.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def big_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.png"
    path.write_bytes(solid_png(8000, 8000))  # exactly 64 megapixels: the most that is accepted
    assert path.stat().st_size < 1_000_000
    return path


def check_in_child(image: Path, out: Path, count: int) -> dict:
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to read the peak memory")
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(image), str(out), str(count)], capture_output=True, text=True,
        timeout=300, cwd=ROOT, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_one_big_png_is_checked_without_a_full_size_copy(big_png: Path, tmp_path: Path) -> None:
    report = check_in_child(big_png, tmp_path, 1)
    assert report["peak_kb"] < ONE_IMAGE_MB * 1024, f"peak {report['peak_kb'] // 1024} MB"


def test_eight_big_pngs_at_once_stay_flat(big_png: Path, tmp_path: Path) -> None:
    report = check_in_child(big_png, tmp_path, 8)
    assert report["peak_kb"] < EIGHT_IMAGES_MB * 1024, f"peak {report['peak_kb'] // 1024} MB"
    assert len(report["frames"]) == 8


def test_the_kept_frame_is_a_shrunk_valid_image_of_the_same_shape(tmp_path: Path) -> None:
    wide = tmp_path / "wide.png"
    wide.write_bytes(solid_png(10_000, 6_400))  # 64 megapixels, 25:16
    (path, width, height), = check_in_child(wide, tmp_path / "out", 1)["frames"]
    with Image.open(path) as kept:
        kept.load()
        assert (kept.format, kept.size) == ("PNG", (width, height))
        assert kept.getpixel((width // 2, 0))[0::2] == (40, 160)
    assert max(width, height) <= MAX_STORED_SIDE
    assert abs(width / height - 10_000 / 6_400) < 0.01


def encode(size: tuple[int, int], fmt: str, mode: str = "RGB", **options: object) -> bytes:
    buf = io.BytesIO()
    Image.linear_gradient("L").convert(mode).resize(size).save(buf, fmt, **options)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mode", "options"),
    [
        ("JPEG", "RGB", {}),
        ("JPEG", "RGB", {"progressive": True}),
        ("WEBP", "RGB", {}),
        ("PNG", "RGBA", {}),
        ("PNG", "P", {"transparency": 0}),
        ("PNG", "I;16", {}),  # 16-bit: decoded whole, one such image at a time
    ],
)
async def test_every_kind_of_big_image_is_kept_shrunk(tmp_path: Path, fmt: str, mode: str, options: dict) -> None:
    data = encode((4200, 3000), fmt, mode, **options)
    frame = await check_first_frame(data, tmp_path, "f")
    assert (frame.width, frame.height) == (1400, 1000)
    with Image.open(frame.path) as kept:
        kept.load()
        assert (kept.format, kept.size) == (fmt, (1400, 1000))


async def test_small_enough_images_are_kept_byte_for_byte(tmp_path: Path) -> None:
    data = encode((MAX_STORED_SIDE, 1000), "PNG")
    frame = await check_first_frame(data, tmp_path, "f")
    assert Path(frame.path).read_bytes() == data and (frame.width, frame.height) == (MAX_STORED_SIDE, 1000)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
async def test_a_truncated_big_image_is_still_refused(tmp_path: Path, fmt: str) -> None:
    data = encode((4200, 3000), fmt)
    with pytest.raises(InvalidRequest) as err:
        await check_first_frame(data[: len(data) // 2], tmp_path, "f")
    assert str(err.value) == messages.IMAGE_NOT_IMAGE


async def test_a_big_image_with_the_wrong_shape_is_refused_before_decoding(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest) as err:
        await check_first_frame(solid_png(8000, 3000), tmp_path, "f")
    assert str(err.value) == messages.IMAGE_BAD_ASPECT.format(w=8000, h=3000)
