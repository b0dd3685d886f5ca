"""The terminal chat opens only a regular file as an image: a FIFO or a device answers at once, never hangs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.console.port import ConsolePort
from bot import messages
from bot.contract import InvalidRequest
from bot.images import MAX_IMAGE_BYTES
from bot.ports import AttachmentRef
from tests.test_cli import env_for


def console(tmp_path: Path, script: str) -> subprocess.CompletedProcess[str]:
    # The timeout turns a hang into a failure instead of a blocked test run.
    return subprocess.run([sys.executable, "-m", "bot", "console"], input=script, capture_output=True, text=True,
                          timeout=60, cwd=tmp_path, env=env_for(tmp_path))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_named_as_the_image_gets_a_plain_answer_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    result = console(tmp_path, f"/video a cat on a roof --image {fifo}\n/quota\n")
    assert result.returncode == 0, result.stderr
    assert f"error: {messages.LOCAL_IMAGE_NOT_FILE.format(path=fifo)}" in result.stdout
    assert "Today you have used 0 of 10 credits" in result.stdout  # nothing was reserved


async def read_all(path: Path, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    port = ConsolePort(out=sys.stdout)
    return b"".join([chunk async for chunk in port.fetch_attachment(AttachmentRef(str(path), path.name), max_bytes)])


@pytest.mark.parametrize(("make", "message"), [
    (lambda path: None, lambda path: messages.LOCAL_IMAGE_MISSING.format(path=path)),
    (lambda path: path.mkdir(), lambda path: messages.LOCAL_IMAGE_NOT_FILE.format(path=path)),
    (lambda path: path.touch() or os.truncate(path, MAX_IMAGE_BYTES),  # sparse: costs no disk
     lambda path: messages.IMAGE_TOO_LARGE.format(mb=MAX_IMAGE_BYTES / 1_048_576)),
])
async def test_an_unusable_path_is_refused_in_plain_words(tmp_path: Path, make: object, message: object) -> None:
    path = tmp_path / "image.png"
    make(path)
    with pytest.raises(InvalidRequest) as err:
        await read_all(path)
    assert str(err.value) == message(path)


async def test_a_regular_file_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "image.png"
    path.write_bytes(b"x" * 200_000)
    assert await read_all(path) == b"x" * 200_000
