"""Shared fixtures: settings on a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings for a test: a temporary database and media dir, no .env file, fast local provider."""
    values: dict[str, object] = {
        "database_url": f"sqlite:///{tmp_path / 'bot.db'}",
        "media_dir": tmp_path / "videos",
        "hailuo_provider": "local",
        "local_delay_seconds": 0.5,
        "poll_first_seconds": 1.0,
        "poll_max_seconds": 5.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def sample_mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real, small H.264 MP4 for fake providers to serve."""
    from bot.providers.render import render_video

    path = tmp_path_factory.mktemp("sample") / "sample.mp4"
    render_video(path, prompt="sample", duration=6, resolution="768P", fps=8)
    return path.read_bytes()
