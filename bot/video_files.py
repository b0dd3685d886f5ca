"""Work on finished MP4s with PyAV: the last frame of a clip, and clips joined into one (blocking: run in a thread)."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

SEEK_BACK_SECONDS = 2.0  # the last frame is decoded from the keyframe before this point near the end


class VideoFileError(Exception):
    """A clip PyAV cannot read (or write): no video stream, no frames, a broken file."""


@dataclass(frozen=True)
class Joined:
    """What `join_clips` wrote: how it joined them, and what the result holds."""

    path: Path
    remuxed: bool  # True: packets copied, timestamps shifted; False: every frame decoded and encoded again
    frames: int
    seconds: float


def last_frame_png(path: Path) -> bytes:
    """The clip's last frame as PNG bytes (blocking).

    Seeks to a keyframe near the end and decodes from there; a file that will not seek is decoded whole.
    """
    try:
        image = _last_frame(path, seek=True) or _last_frame(path, seek=False)
    except (av.FFmpegError, OSError) as exc:
        raise VideoFileError(f"cannot read {path.name}: {exc}") from exc
    if image is None:
        raise VideoFileError(f"{path.name} has no video frames")
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _last_frame(path: Path, *, seek: bool) -> Image.Image | None:
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise VideoFileError(f"{path.name} has no video stream")
        stream = container.streams.video[0]
        if seek and container.duration:
            target = max(0.0, container.duration / av.time_base - SEEK_BACK_SECONDS)
            container.seek(int(target * av.time_base), backward=True, any_frame=False)
        last = None
        for frame in container.decode(stream):
            last = frame
        return None if last is None else last.to_image()


def _signature(path: Path) -> tuple[object, ...]:
    """What must be equal for two clips' packets to go into one stream unchanged."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise VideoFileError(f"{path.name} has no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        return (ctx.name, ctx.width, ctx.height, ctx.format.name if ctx.format else None, ctx.profile,
                bytes(ctx.extradata or b""), stream.time_base, stream.average_rate)


def can_remux(paths: Sequence[Path]) -> bool:
    """True when every clip has the same codec parameters as the first (so no re-encoding is needed)."""
    first = _signature(paths[0])
    return all(_signature(p) == first for p in paths[1:])


def join_clips(paths: Sequence[Path], out: Path) -> Joined:
    """Write `paths` one after the other into `out` (blocking): remuxed when they allow it, else re-encoded.

    Only the video streams are joined (Hailuo's clips have no sound).
    """
    if not paths:
        raise VideoFileError("no clips to join")
    tmp = out.with_name(f"{out.name}.{os.getpid()}-{threading.get_ident()}.part")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        remux = can_remux(paths)
        frames = (_remux if remux else _reencode)(paths, tmp)
        os.replace(tmp, out)
    except av.FFmpegError as exc:
        raise VideoFileError(f"cannot join the clips: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return Joined(out, remux, frames, duration_of(out))


def _remux(paths: Sequence[Path], tmp: Path) -> int:
    """Copy every clip's packets into one stream, each clip's timestamps shifted past the one before."""
    frames = 0
    with av.open(str(tmp), mode="w", format="mp4") as output:
        with av.open(str(paths[0])) as first:
            template = first.streams.video[0]
            stream = output.add_stream_from_template(template)
            base = template.time_base
        end_pts = 0  # where the next clip starts, in `base` units
        last_dts: int | None = None
        for path in paths:
            with av.open(str(path)) as source:
                packets = [p for p in source.demux(source.streams.video[0]) if p.size and p.pts is not None]
            if not packets:
                continue
            first_pts = min(p.pts for p in packets)
            first_dts = min(p.dts if p.dts is not None else p.pts for p in packets)
            shift = end_pts - first_pts
            if last_dts is not None and first_dts + shift <= last_dts:
                shift = last_dts + 1 - first_dts  # decode order stays strictly increasing across the seam
            clip_end = end_pts
            for packet in packets:
                duration = packet.duration or 0
                packet.pts += shift
                packet.dts = (packet.dts if packet.dts is not None else packet.pts - shift) + shift
                packet.stream = stream
                packet.time_base = base
                clip_end = max(clip_end, packet.pts + duration)
                last_dts = packet.dts
                output.mux(packet)
                frames += 1
            end_pts = clip_end
    return frames


def _reencode(paths: Sequence[Path], tmp: Path) -> int:
    """Decode every clip and encode the frames again as one H.264 stream, at the first clip's size and rate."""
    with av.open(str(paths[0])) as first:
        source = first.streams.video[0]
        width, height = source.codec_context.width, source.codec_context.height
        rate = source.average_rate or Fraction(24)
    frames = 0
    with av.open(str(tmp), mode="w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=rate)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = 1 / Fraction(rate)
        stream.options = {"preset": "veryfast", "crf": "20"}
        for path in paths:
            with av.open(str(path)) as clip:
                for frame in clip.decode(clip.streams.video[0]):
                    image = frame.reformat(width=width, height=height, format="yuv420p")
                    image.pts, image.time_base = frames, stream.codec_context.time_base
                    output.mux(stream.encode(image))
                    frames += 1
        output.mux(stream.encode(None))
    return frames


def duration_of(path: Path) -> float:
    """How long the clip's video stream plays, in seconds (from its packets, not the header's claim)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        end = first = None
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            first = packet.pts if first is None else min(first, packet.pts)
            tail = packet.pts + (packet.duration or 0)
            end = tail if end is None else max(end, tail)
        if end is None or first is None:
            return 0.0
        return float((end - first) * stream.time_base)


def frame_count(path: Path) -> int:
    """How many frames the clip decodes to."""
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(container.streams.video[0]))
