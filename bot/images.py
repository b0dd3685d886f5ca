"""First-frame images: checked against the provider's rules off the event loop, kept on disk."""

from __future__ import annotations

import asyncio
import base64
import io
import math
import struct
import threading
import warnings
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from bot import messages
from bot.contract import FirstFrame, InvalidRequest

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MIN_SHORT_SIDE = 300  # the short side must be MORE than this
MAX_PIXELS = 64_000_000  # refuse before decoding anything bigger (a decompression bomb)
# Hailuo makes 1080P at most, so a first frame wider than this only costs memory: a bigger one is
# kept shrunk to this long side; a smaller one is kept byte for byte.
MAX_STORED_SIDE = 2048
# Pillow's WebP decoder holds about four full-size copies (16 bytes a pixel), and WebP cannot be decoded
# in strips: 64 MP peaked near 1 GB, so a WebP stops at 16 MP (about 270 MB, one at a time).
MAX_WEBP_PIXELS = 16_000_000
_FORMATS = {"PNG": ("image/png", "png"), "JPEG": ("image/jpeg", "jpg"), "WEBP": ("image/webp", "webp")}
# Two images decode at once; a burst waits in this pool's queue holding only its compressed bytes,
# so memory stays flat however many arrive together (and the default pool stays free for others).
_DECODERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="first-frame")
# Decoders that must hold the whole picture at full size (WebP, progressive JPEG, unusual PNG)
# take turns, so two of them never add up. A WebP keeps its turn until its decoder is gone: Pillow's
# holds two full-size canvases until the image is dropped, not just while it decodes.
_FULL_SIZE = threading.RLock()
_STRIP_BYTES = 4 * 1024 * 1024  # filtered PNG rows decoded at a time
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_STRIP_MODES = {0: ("L", 1), 2: ("RGB", 3), 3: ("P", 1), 4: ("LA", 2), 6: ("RGBA", 4)}  # raw mode, channels


async def check_first_frame(data: bytes, dest_dir: Path, name: str) -> FirstFrame:
    """Check an uploaded image against the provider's rules and keep it as `dest_dir/name.ext`."""
    if len(data) >= MAX_IMAGE_BYTES:
        raise InvalidRequest(messages.IMAGE_TOO_LARGE.format(mb=len(data) / 1_048_576))
    return await asyncio.get_running_loop().run_in_executor(_DECODERS, _check_and_store, data, dest_dir, name)


def _check_and_store(data: bytes, dest_dir: Path, name: str) -> FirstFrame:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        with _FULL_SIZE:
            fmt, smaller = _inspect(data)
    else:
        fmt, smaller = _inspect(data)
    mime, ext = _FORMATS[fmt]
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"{name}.{ext}"
    tmp = path.with_suffix(f".{ext}.part")
    tmp.write_bytes(data if smaller is None else smaller)
    tmp.replace(path)
    with Image.open(path) as kept:  # header only: the size of what the provider will get
        width, height = kept.size
    return FirstFrame(path=str(path), mime=mime, width=width, height=height)


def _inspect(data: bytes) -> tuple[str, bytes | None]:
    """Format and, when the image is bigger than needed, a shrunk copy; or InvalidRequest."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:  # reads the header, decodes nothing yet
                fmt, (width, height) = img.format or "unknown", img.size
                if width * height > MAX_PIXELS:
                    raise InvalidRequest(messages.IMAGE_TOO_MANY_PIXELS)
                _check_shape(fmt, width, height)  # on the original size, before paying to decode
                if fmt == "WEBP" and width * height > MAX_WEBP_PIXELS:
                    raise InvalidRequest(messages.IMAGE_WEBP_TOO_BIG.format(w=width, h=height))
                # Every pixel is decoded once: a truncated or corrupt file fails here, not at the provider.
                return fmt, _decode(img, data, fmt)
    except InvalidRequest:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidRequest(messages.IMAGE_TOO_MANY_PIXELS) from None
    except (OSError, SyntaxError, ValueError, EOFError, zlib.error, struct.error, Image.UnidentifiedImageError):
        raise InvalidRequest(messages.IMAGE_NOT_IMAGE) from None


def _check_shape(fmt: str, width: int, height: int) -> None:
    if fmt not in _FORMATS:
        raise InvalidRequest(messages.IMAGE_WRONG_FORMAT.format(fmt=fmt))
    if min(width, height) <= MIN_SHORT_SIDE:
        raise InvalidRequest(messages.IMAGE_TOO_SMALL.format(w=width, h=height))
    # 2:5 <= w/h <= 5:2, compared in integers so the boundaries are exact
    if 5 * width < 2 * height or 2 * width > 5 * height:
        raise InvalidRequest(messages.IMAGE_BAD_ASPECT.format(w=width, h=height))


def _decode(img: Image.Image, data: bytes, fmt: str) -> bytes | None:
    """Decode every pixel within a small memory budget; the shrunk copy's bytes, or None if not needed."""
    width, height = img.size
    factor = math.ceil(max(width, height) / MAX_STORED_SIDE)
    if factor == 1:
        img.load()  # at most 2048 x 2048: cheap at full size, and the original file is kept
        return None
    size = (math.ceil(width / factor), math.ceil(height / factor))
    info = dict(img.info)
    if fmt == "JPEG" and not info.get("progressive"):
        img.draft(img.mode, size)  # libjpeg decodes at 1/2, 1/4 or 1/8 scale straight away
        img.load()
        small = img if img.size == size else img.resize(size, Image.Resampling.LANCZOS)
    elif fmt == "PNG" and _strips_fit(data):
        small = _png_in_strips(data, factor)
    else:
        with _FULL_SIZE:
            img.load()
            small = _plain(img).reduce(factor)
    return _encode(small, fmt, info)


def _plain(img: Image.Image) -> Image.Image:
    # Image.reduce takes plain 8-bit modes; a palette or a transparent colour becomes an alpha channel.
    if img.mode in ("L", "LA", "RGB", "RGBA", "CMYK") and "transparency" not in img.info:
        return img
    return img.convert("RGBA" if img.has_transparency_data else "RGB")


def _encode(small: Image.Image, fmt: str, info: dict) -> bytes:
    # EXIF (its orientation above all) and the colour profile travel with the shrunk copy.
    extras = {key: info[key] for key in ("exif", "icc_profile") if info.get(key)}
    if fmt == "JPEG" and small.mode not in ("L", "RGB", "CMYK"):
        small = small.convert("RGB")
    buf = io.BytesIO()
    small.save(buf, fmt, **({"quality": 90} if fmt != "PNG" else {}), **extras)
    return buf.getvalue()


def _png_chunks(data: bytes) -> tuple[bytes, list[bytes], list[memoryview]]:
    """The IHDR body, the chunks every strip needs again (PLTE, tRNS), and the IDAT bodies."""
    header, shared, idat, pos, view = b"", [], [], len(_PNG_SIGNATURE), memoryview(data)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IHDR":
            header = data[pos + 8 : pos + 8 + length]
        elif kind in (b"PLTE", b"tRNS"):
            shared.append(data[pos : pos + 12 + length])
        elif kind == b"IDAT":
            idat.append(view[pos + 8 : pos + 8 + length])
        elif kind == b"IEND":
            break
        pos += 12 + length
    return header, shared, idat


def _strips_fit(data: bytes) -> bool:
    # 8-bit, not interlaced: each decoded row can be handed back to the next strip exactly as PNG stores it.
    header = _png_chunks(data)[0] if data.startswith(_PNG_SIGNATURE) else b""
    return len(header) == 13 and header[8] == 8 and header[9] in _PNG_STRIP_MODES and header[12] == 0


def _png_in_strips(data: bytes, factor: int) -> Image.Image:
    """Decode a big PNG a strip of rows at a time, shrinking each by `factor`: no full-size copy."""
    header, shared, idat = _png_chunks(data)
    width, height = struct.unpack(">II", header[:8])
    rawmode, channels = _PNG_STRIP_MODES[header[9]]
    row = 1 + width * channels  # one filter byte, then the pixels
    per_strip = max(factor, _STRIP_BYTES // row // factor * factor)  # a multiple of factor: exact boxes
    inflate, chunks = zlib.decompressobj(), iter(idat)
    out: Image.Image | None = None
    previous = b""
    for top in range(0, height, per_strip):
        count = min(per_strip, height - top)
        # The row before goes first, unfiltered (filter 0), so the strip's first row unfilters against it.
        rows = previous + _inflate(inflate, chunks, count * row)
        extra = 1 if previous else 0
        strip_png = _PNG_SIGNATURE + _chunk(b"IHDR", struct.pack(">II", width, count + extra) + header[8:])
        strip_png += b"".join(shared) + _chunk(b"IDAT", zlib.compress(rows, 0)) + _chunk(b"IEND", b"")
        del rows
        with Image.open(io.BytesIO(strip_png)) as strip:
            strip.load()
            if extra:
                strip = strip.crop((0, 1, width, count + 1))
            previous = b"\0" + strip.crop((0, count - 1, width, count)).tobytes("raw", rawmode)
            small = _plain(strip).reduce(factor)
        if out is None:
            out = Image.new(small.mode, (math.ceil(width / factor), math.ceil(height / factor)))
        out.paste(small, (0, top // factor))
    if out is None:  # no rows at all: the size check refuses this first, but never return nothing
        raise EOFError("no image rows")
    return out


def _inflate(inflate: zlib._Decompress, chunks: Iterator[memoryview], want: int) -> bytes:
    """Exactly `want` more bytes of the image stream; EOFError when the file ends first."""
    got = bytearray()
    while len(got) < want:
        source = inflate.unconsumed_tail or next(chunks, b"")
        more = inflate.decompress(source, want - len(got))
        if not more and not source:
            raise EOFError("image data ended early")
        got += more
    return bytes(got)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def data_url(frame: FirstFrame) -> str:
    """The image as a `data:` URL for the provider (blocking: run it in a thread)."""
    encoded = base64.b64encode(Path(frame.path).read_bytes()).decode("ascii")
    return f"data:{frame.mime};base64,{encoded}"


async def data_url_async(frame: FirstFrame) -> str:
    """`data_url` off the event loop."""
    return await asyncio.to_thread(data_url, frame)
