"""End to end through the command line, as a new user runs it: real subprocesses, the local provider."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import av
import pytest

from bot import messages

ROOT = Path(__file__).resolve().parent.parent


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAILUO_", "MINIMAX_", "DISCORD_", "SLACK_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        MEDIA_DIR=str(tmp_path / "videos"),
        LOCAL_DELAY_SECONDS="0.5",
        POLL_FIRST_SECONDS="0.2",
        POLL_MAX_SECONDS="0.5",
        LEASE_SECONDS="2",  # a killed process's job steps pass to the next one this soon
        PYTHONPATH=str(ROOT),
        LANG="C.UTF-8", LC_ALL="", LC_MESSAGES="", LANGUAGE="",  # English answers, whatever this machine speaks
    )
    env.update(extra)
    return env


def hailuo(tmp_path: Path, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True, timeout=120,
        cwd=tmp_path, env=env_for(tmp_path, **env),
    )


def ledger_rows(tmp_path: Path) -> list[tuple]:
    db = tmp_path / "bot.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT kind, credits FROM quota_ledger ORDER BY id").fetchall()


def test_generate_makes_a_playable_mp4(tmp_path: Path) -> None:
    out = tmp_path / "boat.mp4"
    result = hailuo(tmp_path, "generate", "a paper boat on a pond", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == out.resolve()
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 1366, 768)
        assert abs(float(container.duration / av.time_base) - 6) <= 0.5
    assert "Delivered" in result.stderr or "Processing" in result.stderr
    assert ledger_rows(tmp_path) == [("reserve", 1), ("capture", 1)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x" * 2001], messages.PROMPT_TOO_LONG.format(limit=2000, got=2001)),
        (["a cat", "--resolution", "1080P", "--duration", "10"], messages.HD_ONLY_SHORT),
        (["a cat", "--duration", "7"], messages.BAD_DURATION.format(got="7")),
        ([""], messages.PROMPT_REQUIRED),
    ],
)
def test_generate_invalid_input_exits_2_and_charges_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    result = hailuo(tmp_path, "generate", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""
    assert ledger_rows(tmp_path) == []


def test_generate_with_a_bad_image_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "notes.png"
    bad.write_text("this is not a picture")
    result = hailuo(tmp_path, "generate", "animate", "--image", str(bad))
    assert result.returncode == 2
    assert messages.IMAGE_NOT_IMAGE in result.stderr
    assert ledger_rows(tmp_path) == []


def test_generate_out_of_quota_exits_2(tmp_path: Path) -> None:
    result = hailuo(tmp_path, "generate", "a cat", "--duration", "10", QUOTA_USER_DAILY_CREDITS="1")
    assert result.returncode == 2
    assert "you have 1 left today" in result.stderr
    assert ledger_rows(tmp_path) == []


def test_console_script_runs_video_quota_history_and_waits(tmp_path: Path) -> None:
    script = "/video a lighthouse in a storm --duration 6\n/quota\n/history\n/help\n/bogus\n"
    result = hailuo(tmp_path, "console", stdin=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Got it! Your video is queued (1 credit; 9 left today)" in out
    assert "Today you have used 0 of 10 credits, 1 held by videos in progress, 9 left." in out
    assert "a lighthouse in a storm (6 s, 768P)" in out
    assert "error: I don't know that command." in out
    assert "Done: 1 delivered, 0 not." in out
    assert "Here is your video: \u201ca lighthouse in a storm\u201d (6 s, 768P)" in out
    assert ledger_rows(tmp_path) == [("reserve", 1), ("capture", 1)]


def test_run_with_no_adapter_runs_the_poller_alone_and_stops_on_sigterm(tmp_path: Path) -> None:
    import signal
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env_for(tmp_path), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "bot.db").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert messages.RUN_POLLER_ONLY in err
