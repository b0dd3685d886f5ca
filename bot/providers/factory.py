"""Build the configured provider (and say how fast it may be sent work) from settings."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from bot.config import Settings
from bot.providers.base import Provider
from bot.providers.callbacks import ReadPush
from bot.providers.failover import ProviderSet
from bot.providers.http import api_client
from bot.tasks import TaskSupervisor


def make_providers(settings: Settings, *, supervisor: TaskSupervisor, state_dir: Path) -> ProviderSet:
    """HAILUO_PROVIDER, and HAILUO_FALLBACK_PROVIDER when set, as one set; ValueError names a missing setting."""
    primary = make_provider(settings, supervisor=supervisor, state_dir=state_dir)
    fallback = None
    if settings.hailuo_fallback_provider:
        if settings.hailuo_fallback_provider == settings.hailuo_provider:
            raise ValueError("HAILUO_FALLBACK_PROVIDER must name another provider than HAILUO_PROVIDER")
        fallback = make_provider(settings, supervisor=supervisor, state_dir=state_dir,
                                 name=settings.hailuo_fallback_provider)
    return ProviderSet(primary, fallback, out_after=settings.failover_after_seconds)


def make_provider(settings: Settings, *, supervisor: TaskSupervisor, state_dir: Path,
                  name: str | None = None) -> Provider:
    """The provider `name` (HAILUO_PROVIDER by default); a missing setting is named (never its value)."""
    name = name or settings.hailuo_provider
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
    if name == "replicate":
        from bot.providers.replicate import ReplicateProvider

        if settings.replicate_api_token is None:
            raise ValueError("HAILUO_PROVIDER=replicate needs REPLICATE_API_TOKEN")
        return ReplicateProvider(settings.replicate_api_token.get_secret_value(), settings.replicate_base_url,
                                 model=settings.replicate_model, webhook_url=callback_url(settings, "replicate"))
    if name == "fal":
        from bot.providers.fal import FalProvider

        if settings.fal_key is None:
            raise ValueError("HAILUO_PROVIDER=fal needs FAL_KEY")
        return FalProvider(settings.fal_key.get_secret_value(), settings.fal_queue_url,
                           webhook_url=callback_url(settings, "fal"))
    raise ValueError(f"HAILUO_PROVIDER must be local, minimax, cloudflare, replicate or fal, not {name}")


def submits_per_minute(settings: Settings) -> int | None:
    """The provider account's submission rate, shared by every process; None for the local provider."""
    if settings.hailuo_provider == "local":
        return None
    return settings.provider_submits_per_minute


PUSHING = ("minimax", "replicate", "fal")  # the providers that can push status changes to the bot


def callback_secret(settings: Settings) -> str:
    """The path secret for providers' pushes: CALLBACK_SECRET, or one derived from the first API key set."""
    if settings.callback_secret is not None:
        return settings.callback_secret.get_secret_value()
    keys = (settings.minimax_api_key, settings.replicate_api_token, settings.fal_key)
    key = next((k.get_secret_value() for k in keys if k is not None), "")
    return hashlib.sha256(f"hailuo-bot callback:{key}".encode()).hexdigest()[:32]


def callback_url(settings: Settings, provider: str = "minimax") -> str | None:
    """Where `provider` should push status changes, when PUBLIC_BASE_URL is set and it is in use."""
    if not settings.public_base_url or provider not in PUSHING or provider not in in_use(settings):
        return None
    return f"{settings.public_base_url.rstrip('/')}/callbacks/{provider}/{callback_secret(settings)}"


def in_use(settings: Settings) -> list[str]:
    """HAILUO_PROVIDER and HAILUO_FALLBACK_PROVIDER (when set)."""
    return [n for n in (settings.hailuo_provider, settings.hailuo_fallback_provider) if n]


def webhook_readers(settings: Settings) -> dict[str, ReadPush]:
    """For each provider in use that pushes by webhook, how to read (and verify) its pushes."""
    readers: dict[str, ReadPush] = {}
    if "replicate" in in_use(settings) and settings.replicate_api_token is not None:
        from bot.providers.replicate import webhook_task as replicate_task

        token = settings.replicate_api_token.get_secret_value()
        known = settings.replicate_webhook_secret.get_secret_value() if settings.replicate_webhook_secret else None
        secrets: list[str] = [known] if known else []

        async def read_replicate(headers: Mapping[str, str], body: bytes) -> str | None:
            if not secrets:  # the account's signing secret, asked for once (REPLICATE_WEBHOOK_SECRET skips this)
                secrets.append(await _replicate_signing_secret(settings.replicate_base_url, token))
            return replicate_task(headers, body, secrets[0])

        readers["replicate"] = read_replicate
    if "fal" in in_use(settings):
        from bot.providers.fal import webhook_task as fal_task

        async def read_fal(headers: Mapping[str, str], body: bytes) -> str | None:
            return fal_task(body)  # the path secret vouches for the sender; a push only brings a poll forward

        readers["fal"] = read_fal
    return readers


async def _replicate_signing_secret(base_url: str, token: str) -> str:
    """The account's webhook signing secret (`whsec_...`), from Replicate's API."""
    async with api_client(base_url, token, 30.0) as client:
        response = await client.get("/webhooks/default/secret")
        response.raise_for_status()
        return str(response.json()["key"])
