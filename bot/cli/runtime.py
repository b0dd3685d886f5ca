"""Assemble the store, provider, poller and core, and take them down in reverse order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot import messages
from bot.config import Settings
from bot.context import AdapterContext
from bot.core import Core
from bot.delivery import folder_problem
from bot.inbox import Inbox
from bot.metrics import Metrics
from bot.poller import Poller
from bot.ports import ChatPort
from bot.providers.base import Provider
from bot.providers.factory import make_providers, submits_per_minute
from bot.providers.failover import ProviderSet
from bot.store import Store
from bot.tasks import TaskSupervisor
from storage import open_store


class StartupFailed(Exception):
    """Something the operator must fix stops the bot from starting; the message names the setting."""


@dataclass
class Runtime:
    """Everything a running bot holds; adapters see only its `context`."""

    settings: Settings
    store: Store
    provider: ProviderSet  # the configured provider, and the fallback when one is set
    supervisor: TaskSupervisor
    poller: Poller
    core: Core
    inbox: Inbox
    ports: dict[str, ChatPort] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)

    @property
    def context(self) -> AdapterContext:
        """The narrow view adapters get: the core, the supervisor, and registering their port."""
        return AdapterContext(self.core, self.supervisor, register=self.ports.__setitem__,
                              unregister=lambda platform: self.ports.pop(platform, None) and None, inbox=self.inbox)


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    ports: dict[str, ChatPort] | None = None,
    *,
    provider: Provider | None = None,
    clock: Callable[[], float] = time.time,
    start_poller: bool = True,
) -> AsyncIterator[Runtime]:
    """Open storage (migrating it), build the provider, poller and core; close all on exit."""
    ports = {} if ports is None else ports
    media = Path(settings.media_dir)
    # Made and write-tested now, so an unusable MEDIA_DIR stops the start in one line, not every job later.
    problem = await asyncio.to_thread(folder_problem, media, create=True)
    if problem:
        raise StartupFailed(messages.LOCAL_MEDIA_UNWRITABLE.format(path=media, reason=problem))
    supervisor = TaskSupervisor()
    store = await open_store(settings.database_url, clock=clock)  # StoreUnavailable names DATABASE_URL
    try:
        try:
            providers = ProviderSet(provider) if provider is not None else make_providers(
                settings, supervisor=supervisor, state_dir=media / ".local-provider")
        except ValueError as exc:
            raise StartupFailed(str(exc)) from None
        metrics = Metrics()
        poller = Poller(settings, store, providers, ports, supervisor, clock=clock,
                        submits_per_minute=submits_per_minute(settings), metrics=metrics)
        core = Core(settings, store, provider_name=lambda: providers.name, ports=ports, wake=poller.wake,
                    clock=clock, budget=poller.budget, providers=providers, history=poller.history)
        inbox = Inbox(store, supervisor, owner=poller.owner, lease_seconds=settings.lease_seconds, clock=clock)
        inbox.start()
        try:
            if start_poller:
                poller.start()
            yield Runtime(settings, store, providers, supervisor, poller, core, inbox, ports, metrics)
        finally:
            # Background work stops first, while the provider's connections and the database are open.
            await inbox.aclose()
            await poller.stop(settings.shutdown_grace_seconds)
            await supervisor.aclose()
            await providers.aclose()
    finally:
        await store.close()
