"""Shrink an MP4 to fit a platform's upload limit: H.264 at a bitrate the limit and duration allow."""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path

import av

log = logging.getLogger(__name__)

MIN_BITRATE = 150_000  # below this a short clip is mush; better to send a link


def reencode_to_fit(src: Path, dst: Path, max_bytes: int) -> bool:
    """Write a copy of `src` no larger than `max_bytes` to `dst` (blocking); False when it cannot fit."""
    with av.open(str(src)) as probe:
        stream = probe.streams.video[0]
        seconds = float(probe.duration / av.time_base) if probe.duration else float(stream.duration * stream.time_base)
        width, height = stream.width, stream.height
    budget = max_bytes * 8 * 0.92 / max(seconds, 0.1)  # leave room for the container
    for attempt in range(3):
        bitrate = int(budget * (0.8**attempt))
        if bitrate < MIN_BITRATE:
            return False
        # Fewer pixels at low bitrates keep the picture clean; never upscale.
        scale = 1.0 if bitrate >= 2_000_000 else (0.75 if bitrate >= 800_000 else 0.5)
        size = (_even(width * scale), _even(height * scale))
        _encode(src, dst, bitrate, size)
        if dst.stat().st_size <= max_bytes:
            log.info("re-encoded %s to %d bytes at %d kbit/s", src.name, dst.stat().st_size, bitrate // 1000)
            return True
    dst.unlink(missing_ok=True)
    return False


def _encode(src: Path, dst: Path, bitrate: int, size: tuple[int, int]) -> None:
    tmp = dst.with_name(dst.name + ".part")
    with av.open(str(src)) as source, av.open(str(tmp), mode="w", format="mp4") as out:
        video_in = source.streams.video[0]
        rate = video_in.average_rate or Fraction(24)
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = bitrate
        stream.options = {"preset": "veryfast", "maxrate": str(bitrate), "bufsize": str(bitrate * 2)}
        for index, frame in enumerate(source.decode(video_in)):
            frame = frame.reformat(width=size[0], height=size[1], format="yuv420p")
            frame.pts = index
            frame.time_base = Fraction(1, 1) / rate
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    os.replace(tmp, dst)


def _even(x: float) -> int:
    return max(2, round(x / 2) * 2)
