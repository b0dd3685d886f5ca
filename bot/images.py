"""First-frame images: checked against the provider's rules off the event loop, kept on disk."""

from __future__ import annotations

import asyncio
import base64
import io
import warnings
from pathlib import Path

from PIL import Image

from bot import messages
from bot.contract import FirstFrame, InvalidRequest

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MIN_SHORT_SIDE = 300  # the short side must be MORE than this
MAX_PIXELS = 64_000_000  # refuse before decoding anything bigger (a decompression bomb)
_FORMATS = {"PNG": ("image/png", "png"), "JPEG": ("image/jpeg", "jpg"), "WEBP": ("image/webp", "webp")}


async def check_first_frame(data: bytes, dest_dir: Path, name: str) -> FirstFrame:
    """Check an uploaded image against the provider's rules and keep it as `dest_dir/name.ext`."""
    if len(data) >= MAX_IMAGE_BYTES:
        raise InvalidRequest(messages.IMAGE_TOO_LARGE.format(mb=len(data) / 1_048_576))
    return await asyncio.to_thread(_check_and_store, data, dest_dir, name)


def _check_and_store(data: bytes, dest_dir: Path, name: str) -> FirstFrame:
    fmt, width, height = _inspect(data)
    if fmt not in _FORMATS:
        raise InvalidRequest(messages.IMAGE_WRONG_FORMAT.format(fmt=fmt))
    if min(width, height) <= MIN_SHORT_SIDE:
        raise InvalidRequest(messages.IMAGE_TOO_SMALL.format(w=width, h=height))
    # 2:5 <= w/h <= 5:2, compared in integers so the boundaries are exact
    if 5 * width < 2 * height or 2 * width > 5 * height:
        raise InvalidRequest(messages.IMAGE_BAD_ASPECT.format(w=width, h=height))
    mime, ext = _FORMATS[fmt]
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"{name}.{ext}"
    tmp = path.with_suffix(f".{ext}.part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return FirstFrame(path=str(path), mime=mime, width=width, height=height)


def _inspect(data: bytes) -> tuple[str, int, int]:
    """Format and size of a fully decodable image, or InvalidRequest."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt, (width, height) = img.format or "unknown", img.size
                if width * height > MAX_PIXELS:
                    raise InvalidRequest(messages.IMAGE_TOO_MANY_PIXELS)
                if fmt in _FORMATS:
                    img.load()  # a truncated or corrupt file fails here, not at the provider
    except InvalidRequest:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidRequest(messages.IMAGE_TOO_MANY_PIXELS) from None
    except (OSError, SyntaxError, ValueError, EOFError, Image.UnidentifiedImageError):
        raise InvalidRequest(messages.IMAGE_NOT_IMAGE) from None
    return fmt, width, height


def data_url(frame: FirstFrame) -> str:
    """The image as a `data:` URL for the provider (blocking: run it in a thread)."""
    encoded = base64.b64encode(Path(frame.path).read_bytes()).decode("ascii")
    return f"data:{frame.mime};base64,{encoded}"


async def data_url_async(frame: FirstFrame) -> str:
    """`data_url` off the event loop."""
    return await asyncio.to_thread(data_url, frame)
