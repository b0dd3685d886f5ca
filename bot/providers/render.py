"""Render a real H.264 MP4 on this machine with PyAV: the local provider's offline stand-in for a model."""

from __future__ import annotations

import os
import textwrap
import threading
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw, ImageFont, ImageOps

SIZES = {"768P": (1366, 768), "1080P": (1920, 1080)}
SHORT_SIDE = {"768P": 768, "1080P": 1080}
_PAN = 1.15  # the canvas is this much larger than the frame, so the camera has room to move


def output_size(resolution: str, image_size: tuple[int, int] | None = None) -> tuple[int, int]:
    """Frame size: the resolution's own, or the image's aspect ratio at the resolution's short side."""
    if image_size is None:
        return SIZES[resolution]
    w, h = image_size
    short = SHORT_SIDE[resolution]
    if w >= h:
        return _even(short * w / h), short
    return short, _even(short * h / w)


def render_video(
    out_path: Path, *, prompt: str, duration: int, resolution: str, fps: int = 24, first_frame_path: str | None = None
) -> None:
    """Write `duration` seconds of video to `out_path` (blocking; run it in a thread)."""
    if first_frame_path:
        with Image.open(first_frame_path) as img:
            picture = ImageOps.exif_transpose(img).convert("RGB")
        size = output_size(resolution, picture.size)
        canvas = ImageOps.fit(picture, (_even(size[0] * _PAN), _even(size[1] * _PAN)), Image.Resampling.BICUBIC)
        frames = _camera_move(canvas, size, duration * fps, zoom=True)
    else:
        size = output_size(resolution)
        canvas = _scene(prompt, (_even(size[0] * _PAN), _even(size[1] * _PAN)))
        frames = _camera_move(canvas, size, duration * fps, zoom=False)
    # A unique name: a cut-off render's thread may still be finishing beside a new one.
    tmp = out_path.with_name(f"{out_path.name}.{os.getpid()}-{threading.get_ident()}.part")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(tmp), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        stream.options = {"preset": "ultrafast", "crf": "28", "tune": "stillimage" if first_frame_path else "film"}
        for index, image in enumerate(frames):
            frame = av.VideoFrame.from_image(image)
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    os.replace(tmp, out_path)


def _camera_move(canvas: Image.Image, size: tuple[int, int], count: int, *, zoom: bool):
    """Yield `count` frames panning (and slowly zooming) across `canvas`."""
    cw, ch = canvas.size
    w, h = size
    for i in range(count):
        t = i / max(1, count - 1)
        if zoom:
            # from the whole canvas to a 1/_PAN crop, drifting right a little
            scale = 1 - (1 - 1 / _PAN) * t
            bw, bh = cw * scale, ch * scale
            left, top = (cw - bw) * (0.5 + 0.3 * t), (ch - bh) / 2
            yield canvas.resize((w, h), Image.Resampling.BILINEAR, box=(left, top, left + bw, top + bh))
        else:
            left, top = int((cw - w) * t), int((ch - h) * (0.5 - 0.5 * t) + (ch - h) * 0.25)
            frame = canvas.crop((left, top, left + w, top + h))
            ImageDraw.Draw(frame).rectangle((0, h - 10, int(w * t), h), fill=(255, 255, 255))
            yield frame


def _scene(prompt: str, size: tuple[int, int]) -> Image.Image:
    """A gradient with soft shapes and the prompt written across it."""
    w, h = size
    top, bottom = (28, 44, 92), (214, 110, 72)
    gradient = Image.linear_gradient("L").resize((w, h))
    scene = Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), gradient)
    draw = ImageDraw.Draw(scene)
    for n in range(7):
        r = h // (5 + n)
        cx, cy = (w * (n + 1)) // 8, h // 3 + (n % 3) * h // 6
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(255, 236, 200), width=max(2, h // 200))
    text = prompt.strip() or "Hailuo 2.3 (local preview)"
    font = ImageFont.load_default(size=max(16, h // 22))
    lines = textwrap.wrap(text, width=48)[:8]
    line_h = int(font.size * 1.3)
    y = (h - line_h * len(lines)) // 2
    for line in lines:
        tw = draw.textlength(line, font=font)
        draw.text(((w - tw) / 2 + 2, y + 2), line, font=font, fill=(0, 0, 0))
        draw.text(((w - tw) / 2, y), line, font=font, fill=(255, 255, 255))
        y += line_h
    draw.text((20, 16), "local preview - not an AI model", font=ImageFont.load_default(size=max(12, h // 45)),
              fill=(255, 255, 255))
    return scene


def _even(x: float) -> int:
    return max(2, round(x / 2) * 2)
