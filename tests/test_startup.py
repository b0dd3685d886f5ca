"""Anything wrong before the bot is up ends the process within seconds, in one plain line naming the setting."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli import env_for


def start(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=30,
                          cwd=tmp_path, env=env_for(tmp_path, **env))


def one_line_naming(result: subprocess.CompletedProcess[str], setting: str) -> str:
    """Exit code 2 and one plain line naming the setting (after `run`'s own log lines), no traceback."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "Error" not in result.stderr, result.stderr
    errors = [line for line in lines if line.startswith("configuration error:")]
    assert errors == lines[-1:] and setting in errors[0], lines
    return errors[0]


@pytest.mark.parametrize(("env", "setting"), [
    ({"DATABASE_URL": "mysql://db.example/bot"}, "DATABASE_URL"),
    ({"HAILUO_PROVIDER": "minimax"}, "MINIMAX_API_KEY"),
    ({"HAILUO_PROVIDER": "cloudflare", "CLOUDFLARE_API_TOKEN": "x" * 20}, "CLOUDFLARE_ACCOUNT_ID"),
    ({"SLACK_BOT_TOKEN": "xoxb-0000-test"}, "SLACK_SIGNING_SECRET"),
])
def test_bad_settings_stop_run_in_one_line(tmp_path: Path, env: dict[str, str], setting: str) -> None:
    one_line_naming(start(tmp_path, "run", **env), setting)


def test_a_port_in_use_is_named(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line_naming(start(tmp_path, "run", METRICS_PORT=str(port)), "METRICS_PORT")
    assert str(port) in line


def test_a_directory_as_the_database_is_named(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    one_line_naming(start(tmp_path, "generate", "a cat", DATABASE_URL=f"sqlite:///{tmp_path / 'adir'}"),
                    "DATABASE_URL")
