"""What an adapter is given: the core to ask, a supervisor, the inbox, and a place to register its port."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.core import Core
from bot.inbox import Inbox
from bot.ports import ChatPort
from bot.tasks import TaskSupervisor


@dataclass(frozen=True)
class AdapterContext:
    """An adapter's whole view of the bot: never the store, the provider or the poller."""

    core: Core
    supervisor: TaskSupervisor
    register: Callable[[str, ChatPort], None]  # make the platform's port the one the poller delivers through
    unregister: Callable[[str], None]
    inbox: Inbox  # where an acknowledged command is recorded before its work starts
