"""A poller on a fake clock driving a real provider against a local fake server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.commands import CommandRequest
from bot.core import Core
from bot.jobs import JobStatus
from bot.poller import Poller
from bot.ports import ThreadRef
from bot.tasks import TaskSupervisor
from storage import SQLiteStore
from tests.conftest import make_settings
from tests.helpers import FakeChatPort, FakeClock


class ProviderRig:
    """Store, core, poller and a recording chat port around `provider`; `step()` moves time on."""

    def __init__(self, tmp_path: Path, provider, *, per_minute: int = 5, **settings: object) -> None:
        self.tmp_path = tmp_path
        self.provider = provider
        self.clock = FakeClock()
        self.settings = make_settings(tmp_path, poll_first_seconds=5, poll_max_seconds=20, **settings)
        self.port = FakeChatPort()
        self.per_minute = per_minute

    async def open(self) -> ProviderRig:
        self.store = await SQLiteStore.open(self.settings.database_path, clock=self.clock)
        self.supervisor = TaskSupervisor()
        self.poller = Poller(self.settings, self.store, self.provider, {"fake": self.port}, self.supervisor,
                             clock=self.clock, submits_per_minute=self.per_minute)
        self.core = Core(self.settings, self.store, provider_name=self.provider.name, ports={"fake": self.port},
                         clock=self.clock)
        return self

    async def close(self) -> None:
        await self.supervisor.aclose()
        await self.store.close()

    async def ask(self, prompt: str = "a paper boat", user: str = "u1", **kw) -> str:
        thread = ThreadRef("fake", "w", "c", f"th-{user}-{prompt}")
        reply = await self.core.handle(CommandRequest("fake", "w", "c", user, "video", prompt=prompt, thread=thread,
                                                      **kw))
        assert reply.ok, reply.text
        return reply.job_id

    async def step(self, seconds: float = 10.0) -> None:
        self.clock.advance(seconds)
        await self.poller.tick()
        await self.poller.drain()

    def before_delivery(self, happen: Callable[[], object]) -> None:
        """Make `happen` occur once, after a poll saw the video ready and before its delivery starts.

        The poll that sees Success delivers in the same step, so there is no tick in between to act in.
        """
        run = self.poller.delivery.run

        async def delivering(job):
            if self.poller.delivery.run is not run:
                self.poller.delivery.run = run
                happen()
            return await run(job)

        self.poller.delivery.run = delivering

    async def until_done(self, *job_ids: str, steps: int = 80, seconds: float = 10.0) -> list[JobStatus]:
        for _ in range(steps):
            statuses = [(await self.store.get_job(j)).status for j in job_ids]
            if all(s.terminal for s in statuses):
                return statuses
            await self.step(seconds)
        return [(await self.store.get_job(j)).status for j in job_ids]

    async def ledger(self, job_id: str) -> list[str]:
        return [kind for kind, _, _ in await self.store.ledger(job_id)]
