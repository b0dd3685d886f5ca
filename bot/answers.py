"""The read-only commands: a member's quota, history, jobs in progress, and the help text."""

from __future__ import annotations

from collections.abc import Callable

from bot import i18n, messages
from bot.commands import CommandRequest, Reply
from bot.config import Settings
from bot.days import human_duration, seconds_until_reset, utc_day
from bot.help import help_text
from bot.jobs import Job
from bot.safe_text import shown
from bot.store import QuotaUsage, Store


class Answers:
    """Answers to what a member asks about themselves; nothing here changes a job or a credit."""

    def __init__(self, settings: Settings, store: Store, clock: Callable[[], float],
                 provider_name: Callable[[], str] = lambda: "local") -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.provider_name = provider_name

    def help_text(self, platform: str = "console") -> str:
        """What the bot can do on `platform` and what it costs."""
        return help_text(self.settings, platform, self.provider_name())

    async def usage(self, platform: str, workspace_id: str, user_id: str) -> QuotaUsage:
        """A member's and their workspace's credits today, under the configured defaults."""
        return await self.store.usage(
            platform, workspace_id, user_id, day=utc_day(self.clock()),
            user_limit=self.settings.quota_user_daily_credits,
            workspace_limit=self.settings.quota_workspace_daily_credits,
        )

    async def quota(self, req: CommandRequest) -> Reply:
        """`/quota`: credits used, held and left today, and when they reset."""
        u = await self.usage(req.platform, req.workspace_id, req.user_id)
        text = messages.QUOTA_VIEW.format(
            used=u.user_used - u.user_held, held=u.user_held, limit=u.user_limit, left=u.user_left,
            ws_left=u.workspace_left, ws_limit=u.workspace_limit,
            reset=human_duration(seconds_until_reset(self.clock())),
        )
        return Reply(text, ephemeral=True)

    async def history(self, req: CommandRequest) -> Reply:
        """`/history`: the member's newest jobs."""
        jobs = await self.store.history(req.platform, req.user_id, limit=10)
        if not jobs:
            return Reply(messages.HISTORY_EMPTY, ephemeral=True)
        return Reply(i18n.join("\n", (history_line(j) for j in jobs)), ephemeral=True)

    async def status(self, req: CommandRequest) -> Reply:
        """`/status [JOB]`: one job of the member's, or all of theirs still in progress."""
        jobs: list[Job]
        if req.job_id:
            job = await self.store.get_job(req.job_id)
            jobs = [job] if job and job.platform == req.platform and job.user_id == req.user_id else []
            if not jobs:
                return Reply(messages.JOB_NOT_FOUND.format(job=req.job_id), ok=False, ephemeral=True)
        else:
            jobs = [j for j in await self.store.history(req.platform, req.user_id, limit=10) if not j.status.terminal]
            if not jobs:
                return Reply(messages.NO_ACTIVE_JOBS, ephemeral=True)
        now = self.clock()
        lines = (_status_line(j, now) for j in jobs)
        return Reply(i18n.join("\n", lines), ephemeral=True)

    async def help(self, req: CommandRequest) -> Reply:
        """`/help`."""
        return Reply(self.help_text(req.platform), ephemeral=True)


def history_line(j: Job) -> str:
    """One line of `/history`: when, the job, its status, its prompt (marked as the member's) and settings."""
    return messages.HISTORY_LINE.format(when=j.created_at, job=j.id, status=messages.STATUS_LABELS[j.status.value],
                                        prompt=_prompt(j), duration=j.request.duration,
                                        resolution=j.request.resolution)


def _status_line(j: Job, now: float) -> str:
    line = messages.STATUS_LINE.format(
        job=j.id, status=messages.STATUS_LABELS[j.status.value],
        elapsed=human_duration((j.updated_at if j.status.terminal else now) - j.created_at),
        prompt=_prompt(j),
    )
    return i18n.join("", [line, " (", j.error, ")"]) if j.error else line


def _prompt(j: Job) -> str:
    """The job's prompt, shortened and marked as the member's own text (bot.safe_text), or "(animated image)"."""
    return shown(_short(j.request.prompt)) if j.request.prompt else messages.ANIMATED_IMAGE


def _short(text: str, limit: int = 80) -> str:
    if isinstance(text, i18n.Text):
        return text
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
