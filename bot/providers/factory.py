"""Build the configured provider from settings."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.providers.base import Provider
from bot.tasks import TaskSupervisor


def make_provider(settings: Settings, *, supervisor: TaskSupervisor, state_dir: Path) -> Provider:
    """The provider HAILUO_PROVIDER names; a missing setting is named (never its value) in a ValueError."""
    if settings.hailuo_provider == "local":
        from bot.providers.local import LocalProvider

        return LocalProvider(state_dir, delay_seconds=settings.local_delay_seconds, fps=settings.local_fps,
                             supervisor=supervisor)
    raise ValueError(f"HAILUO_PROVIDER={settings.hailuo_provider} is not available in this build")
