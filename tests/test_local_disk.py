"""Trouble with this machine's own disk is said at once and never blamed on the video service (issue 14)."""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import bot.delivery
from bot import messages
from bot.cli.local import _copy_out
from bot.delivery import DISK_ATTEMPTS
from bot.jobs import JobStatus
from bot.providers.minimax import MiniMaxProvider
from tests.fakes.minimax import FakeMiniMax
from tests.provider_rig import ProviderRig
from tests.test_cli import env_for, ledger_rows

QUICK = 60  # seconds: a hang (a FIFO opened, a retry loop) fails the test instead of holding pytest


def generate(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "generate", *args], capture_output=True, text=True, timeout=QUICK,
        cwd=tmp_path, env=env_for(tmp_path, **env),
    )


def jobs_recorded(tmp_path: Path) -> int:
    db = tmp_path / "bot.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM jobs").fetchone()[0]


def videos_made(tmp_path: Path) -> list[Path]:
    return sorted(tmp_path.rglob("*.mp4"))


def test_unwritable_media_dir_is_refused_before_anything_is_charged(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # Root writes through chmod 0o500, so stand in a folder nobody can create: one under a regular file.
        blocker = tmp_path / "blocker"
        blocker.write_text("not a folder")
        media = blocker / "videos"
    else:
        media = tmp_path / "videos"
        media.mkdir()
        media.chmod(0o500)
    try:
        result = generate(tmp_path, "a paper boat", MEDIA_DIR=str(media))
    finally:
        if media.is_dir():
            media.chmod(0o700)
    assert result.returncode == 2, result.stderr
    assert f"MEDIA_DIR: cannot write videos to {media} (" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert ledger_rows(tmp_path) == [] and jobs_recorded(tmp_path) == 0


def test_out_naming_a_folder_is_refused_before_submitting(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    result = generate(tmp_path, "a paper boat", "--out", str(folder))
    assert result.returncode == 2, result.stderr
    assert messages.LOCAL_OUT_IS_DIR.format(path=folder) in result.stderr
    assert ledger_rows(tmp_path) == [] and jobs_recorded(tmp_path) == 0
    assert videos_made(tmp_path) == []  # nothing was made, so nothing was paid for


def test_out_in_a_missing_folder_is_refused_before_submitting(tmp_path: Path) -> None:
    out = tmp_path / "no-such-folder" / "boat.mp4"
    result = generate(tmp_path, "a paper boat", "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert messages.LOCAL_OUT_NO_FOLDER.format(path=out, parent=out.parent) in result.stderr
    assert ledger_rows(tmp_path) == [] and jobs_recorded(tmp_path) == 0


def test_image_that_is_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "frame.png"
    os.mkfifo(fifo)
    result = generate(tmp_path, "animate", "--image", str(fifo))  # opening it would block for ever
    assert result.returncode == 2, result.stderr
    assert messages.LOCAL_IMAGE_NOT_FILE.format(path=fifo) in result.stderr
    assert ledger_rows(tmp_path) == [] and jobs_recorded(tmp_path) == 0


def test_a_failed_out_copy_leaves_no_partial_file(tmp_path: Path) -> None:
    video = tmp_path / "made.mp4"
    video.write_bytes(b"\x00" * 1000)
    out = tmp_path / "taken"
    (out / "inside").mkdir(parents=True)  # appeared after the check: replacing a folder fails
    assert _copy_out(video, out) is not None
    assert video.read_bytes() == b"\x00" * 1000  # the paid-for video stays where it was
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


class FullDisk:
    """A partial download that takes the first write and then finds the disk full."""

    def __init__(self, path: Path) -> None:
        self.file = open(path, "wb")  # closed by the code under test, through close()
        self.writes = 0

    def write(self, data: bytes) -> int:
        self.writes += 1
        if self.writes > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.file.write(data)

    def flush(self) -> None:
        self.file.flush()

    def fileno(self) -> int:
        return self.file.fileno()

    def close(self) -> None:
        self.file.close()


@pytest.fixture
async def fake(sample_mp4: bytes):
    server = await FakeMiniMax(video=sample_mp4 * 4).start()  # several chunks, so the disk fills mid-way
    yield server
    await server.stop()


async def test_full_disk_while_downloading_fails_refunded_with_the_disk_message(
    tmp_path: Path, fake: FakeMiniMax, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stale: list[bool] = []

    def open_full(path: Path) -> FullDisk:
        stale.append(path.exists())  # the previous try's partial file must be gone by now
        return FullDisk(path)

    monkeypatch.setattr(bot.delivery, "open_part", open_full)
    provider = MiniMaxProvider(fake.api_key, fake.base_url, timeout=2.0)
    rig = await ProviderRig(tmp_path, provider, delivery_attempts=10).open()
    try:
        with caplog.at_level(logging.ERROR, logger="bot.delivery"):
            job_id = await rig.ask()
            assert await rig.until_done(job_id, steps=200) == [JobStatus.FAILED]
        job = await rig.store.get_job(job_id)
        assert job.error == messages.DISK_FULL  # not "the video service kept failing"
        assert await rig.ledger(job_id) == ["reserve", "release"]
        assert messages.JOB_FAILED_REFUNDED.format(reason=messages.DISK_FULL, cost=1) in rig.port.of_kind("notify")
        # A bounded few tries, each starting without the last one's partial file, and none left behind.
        assert len(stale) == DISK_ATTEMPTS and not any(stale)
        media = Path(rig.settings.media_dir)
        assert sorted(p.name for p in media.iterdir() if p.suffix in (".part", ".mp4")) == []
        # The operator learns the path and the errno; the provider's error count is untouched.
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert str(media / f"{job_id}.mp4.part") in logged and "ENOSPC" in logged
        errors = [s for m in rig.poller.metrics.provider_errors.collect() for s in m.samples
                  if s.name.endswith("_total") and s.value]
        assert errors == []
    finally:
        await rig.close()
        await provider.aclose()
