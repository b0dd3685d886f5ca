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
# Pillow holds a WebP about four times over at full size: one of 8000 x 8000 peaked near 1 GB, so a WebP
# stops at 16 MP; the biggest accepted (4000 x 4000) peaks near 275 MB, and WebPs decode one at a time.
WEBP_MB = 330

CHILD = """
import asyncio, json, sys
from pathlib import Path
from bot.contract import InvalidRequest
from bot.images import check_first_frame
data, out, count = Path(sys.argv[1]).read_bytes(), Path(sys.argv[2]), int(sys.argv[3])
async def one(i):
    try:
        frame = await check_first_frame(data, out, f"f{i}")
    except InvalidRequest as exc:
        return str(exc)
    return [frame.path, frame.width, frame.height]
async def main():
    return await asyncio.gather(*(one(i) for i in range(count)))
frames = asyncio.run(main())
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"peak_kb": peak, "frames": frames}))
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


MAKE_WEBP = """
import sys
from PIL import Image
for path, side in zip(sys.argv[1::2], sys.argv[2::2]):
    Image.linear_gradient("L").convert("RGB").resize((int(side), int(side))).save(path, "WEBP", method=0)
"""


@pytest.fixture(scope="module")
def big_webps(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An 8000 x 8000 WebP (too big) and a 4000 x 4000 one (the biggest kind accepted), made in a child."""
    folder = tmp_path_factory.mktemp("webp")
    huge, biggest = folder / "huge.webp", folder / "biggest.webp"
    subprocess.run([sys.executable, "-c", MAKE_WEBP, str(huge), "8000", str(biggest), "4000"], check=True, timeout=120)
    return huge, biggest


def test_a_huge_webp_is_refused_before_decoding(big_webps: tuple[Path, Path], tmp_path: Path) -> None:
    report = check_in_child(big_webps[0], tmp_path, 1)
    assert report["frames"] == [messages.IMAGE_WEBP_TOO_BIG.format(w=8000, h=8000)]
    assert report["peak_kb"] < ONE_IMAGE_MB * 1024, f"peak {report['peak_kb'] // 1024} MB"


def test_the_biggest_webps_accepted_decode_one_at_a_time(big_webps: tuple[Path, Path], tmp_path: Path) -> None:
    report = check_in_child(big_webps[1], tmp_path, 4)
    assert [frame[1:] for frame in report["frames"]] == [[2000, 2000]] * 4
    assert report["peak_kb"] < WEBP_MB * 1024, f"peak {report['peak_kb'] // 1024} MB"


def animated_png(width: int, height: int, frames: int) -> bytes:
    """An APNG whose first frame is real and every later frame is junk that no decoder could read."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    def control(seq: int) -> bytes:
        return chunk(b"fcTL", struct.pack(">IIIIIHHBB", seq, width, height, 0, 0, 1, 10, 0, 0))

    pixels = zlib.compress((b"\0" + bytes((40, 90, 160)) * width) * height, 9)
    parts = [b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
             chunk(b"acTL", struct.pack(">II", frames, 0)), control(0), chunk(b"IDAT", pixels)]
    for i in range(1, frames):
        parts += [control(2 * i - 1), chunk(b"fdAT", struct.pack(">I", 2 * i) + b"\xff" * 64)]
    return b"".join(parts) + chunk(b"IEND", b"")


def animated_webp(width: int, height: int, frames: int) -> bytes:
    """An animated WebP whose first frame is real and every later one a valid header over junk."""
    def riff(kind: bytes, body: bytes) -> bytes:
        return kind + struct.pack("<I", len(body)) + body + b"\0" * (len(body) % 2)

    def u24(value: int) -> bytes:
        return struct.pack("<I", value)[:3]

    def frame(bitstream: bytes) -> bytes:
        return riff(b"ANMF", u24(0) + u24(0) + u24(width - 1) + u24(height - 1) + u24(10) + b"\0" + bitstream)

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 160)).save(buf, "WEBP", lossless=True)
    first = buf.getvalue()[12:]  # the VP8L chunk
    junk = frame(riff(b"VP8L", first[8:13] + b"\xff" * 64))
    body = b"WEBP" + riff(b"VP8X", b"\x02\0\0\0" + u24(width - 1) + u24(height - 1))
    body += riff(b"ANIM", b"\0" * 6) + frame(first) + junk * (frames - 1)
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize("make", [animated_png, animated_webp])
@pytest.mark.parametrize(("size", "kept"), [((1000, 800), (1000, 800)), ((4000, 3000), (2000, 1500))])
async def test_only_the_first_frame_of_an_animation_is_decoded(
    tmp_path: Path, make: object, size: tuple[int, int], kept: tuple[int, int],
) -> None:
    data = make(*size, 2000)  # 2,000 frames: decoding any but the first would fail on the junk
    with Image.open(io.BytesIO(data)) as img:
        assert img.n_frames == 2000
    frame = await check_first_frame(data, tmp_path, "f")
    assert (frame.width, frame.height) == kept
