"""Build the configured provider (and say how fast it may be sent work) from settings."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bot.config import Settings
from bot.providers.base import Provider
from bot.tasks import TaskSupervisor


def make_provider(settings: Settings, *, supervisor: TaskSupervisor, state_dir: Path) -> Provider:
    """The provider HAILUO_PROVIDER names; a missing setting is named (never its value) in a ValueError."""
    name = settings.hailuo_provider
    if name == "local":
        from bot.providers.local import LocalProvider

        return LocalProvider(state_dir, delay_seconds=settings.local_delay_seconds, fps=settings.local_fps,
                             supervisor=supervisor)
    if name == "minimax":
        from bot.providers.minimax import MiniMaxProvider

        if settings.minimax_api_key is None:
            raise ValueError("HAILUO_PROVIDER=minimax needs MINIMAX_API_KEY")
        return MiniMaxProvider(settings.minimax_api_key.get_secret_value(), settings.minimax_base_url,
                               settings.minimax_model, callback_url=callback_url(settings))
    if name == "cloudflare":
        from bot.providers.cloudflare import CloudflareProvider

        missing = [n for n, v in (("CLOUDFLARE_ACCOUNT_ID", settings.cloudflare_account_id),
                                  ("CLOUDFLARE_API_TOKEN", settings.cloudflare_api_token)) if not v]
        if missing:
            raise ValueError(f"HAILUO_PROVIDER=cloudflare needs {' and '.join(missing)}")
        return CloudflareProvider(settings.cloudflare_account_id or "",
                                  settings.cloudflare_api_token.get_secret_value(),  # type: ignore[union-attr]
                                  settings.cloudflare_base_url, supervisor=supervisor)
    raise ValueError(f"HAILUO_PROVIDER must be local, minimax or cloudflare, not {name}")


def submits_per_minute(settings: Settings) -> int | None:
    """The provider account's submission rate, shared by every process; None for the local provider."""
    if settings.hailuo_provider == "local":
        return None
    return settings.provider_submits_per_minute


def callback_secret(settings: Settings) -> str:
    """The path secret for MiniMax's pushes: CALLBACK_SECRET, or one derived from the API key."""
    if settings.callback_secret is not None:
        return settings.callback_secret.get_secret_value()
    key = settings.minimax_api_key.get_secret_value() if settings.minimax_api_key else ""
    return hashlib.sha256(f"hailuo-bot callback:{key}".encode()).hexdigest()[:32]


def callback_url(settings: Settings) -> str | None:
    """Where MiniMax should push status changes, when PUBLIC_BASE_URL is set."""
    if not settings.public_base_url or settings.hailuo_provider != "minimax":
        return None
    return f"{settings.public_base_url.rstrip('/')}/callbacks/minimax/{callback_secret(settings)}"
