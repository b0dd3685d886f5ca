"""The platform-neutral core: one entry point for everything a user asks."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from bot import messages
from bot.admin import handle_admin
from bot.commands import CommandRequest, Reply
from bot.config import Settings
from bot.contract import InvalidRequest, VideoRequest
from bot.days import human_duration, seconds_until_reset, utc_day
from bot.images import MAX_IMAGE_BYTES, check_first_frame
from bot.jobs import Job
from bot.policy import access_refusal, blocked_term
from bot.ports import ChatPort, MessageRef
from bot.views import status_view
from storage import QuotaUsage, Reservation, Store

log = logging.getLogger(__name__)


class Core:
    """Validates requests, reserves quota, records jobs; the poller takes them from there."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        provider_name: str,
        ports: Mapping[str, ChatPort],
        wake: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self.provider_name = provider_name
        self.ports = ports
        self.wake = wake
        self.clock = clock
        self.frames_dir = Path(settings.media_dir) / "frames"

    async def handle(self, req: CommandRequest) -> Reply:
        """Answer one user command.

        Args:
            req: the neutral request an adapter built from the platform's event.

        Returns:
            The immediate answer; later progress goes through the platform's ChatPort.
        """
        handler = {
            "video": self._video,
            "regenerate": self._regenerate,
            "quota": self._quota,
            "history": self._history,
            "status": self._status,
            "help": self._help,
            "admin": self._admin,
        }.get(req.command)
        if handler is None:
            return Reply(messages.UNKNOWN_COMMAND.format(help=self.help_text()), ok=False, ephemeral=True)
        try:
            return await handler(req)
        except InvalidRequest as exc:
            return Reply(str(exc), ok=False, ephemeral=True)

    async def bind(
        self, job_id: str, *, status_message: MessageRef | None = None, thread_id: str | None = None
    ) -> None:
        """Remember where a job's status message and thread are, once the adapter has posted them."""
        job = await self.store.get_job(job_id)
        if job is None:
            return
        changes: dict[str, str] = {}
        if status_message is not None:
            changes["status_message_id"] = status_message.message_id
        if thread_id is not None:
            changes["thread_id"] = thread_id
        await self.store.update(job, **changes)
        self.wake()

    def help_text(self) -> str:
        """What the bot can do and what it costs."""
        costs = self.settings.credit_costs
        return messages.HELP.format(c1=costs[("768P", 6)], c2=costs[("768P", 10)], c3=costs[("1080P", 6)])

    # -- commands -----------------------------------------------------------------------

    def contract_error(self, req: CommandRequest) -> str | None:
        """The first contract rule a video request breaks, found without any I/O, or None."""
        try:
            if len(req.attachments) > 1:
                raise InvalidRequest(messages.IMAGE_TOO_MANY)
            VideoRequest.build(req.prompt, duration=req.duration, resolution=req.resolution,
                               has_image=bool(req.attachments))
        except InvalidRequest as exc:
            return str(exc)
        return None

    async def precheck(self, req: CommandRequest) -> Reply | None:
        """The checks a video request can fail without any download: a refusal Reply, or None.

        Adapters call it before posting anything in the channel, so a bad request leaves no trace there.
        """
        try:
            refusal, _ = await self._checked(req)
        except InvalidRequest as exc:
            return Reply(str(exc), ok=False, ephemeral=True)
        return refusal

    async def _checked(self, req: CommandRequest) -> tuple[Reply | None, VideoRequest | None]:
        if refusal := await access_refusal(self.store, req):
            return Reply(refusal, ok=False, ephemeral=True), None
        if len(req.attachments) > 1:
            raise InvalidRequest(messages.IMAGE_TOO_MANY)
        request = VideoRequest.build(
            req.prompt,
            duration=req.duration,
            resolution=req.resolution,
            prompt_optimizer=req.prompt_optimizer,
            fast_pretreatment=req.fast_pretreatment,
            has_image=bool(req.attachments),
        )
        if term := blocked_term(request.prompt, self.settings.blocked_term_list):
            raise InvalidRequest(messages.BLOCKED_TERM.format(term=term))
        cost = request.cost(self.settings.credit_costs)
        # Refuse early, before downloading anything, when the credits are plainly not there.
        usage = await self._usage(req.platform, req.workspace_id, req.user_id)
        if cost > usage.user_left:
            return self._refused(cost, usage), None
        return None, request

    async def _video(self, req: CommandRequest) -> Reply:
        refusal, request = await self._checked(req)
        if refusal is not None or request is None:
            return refusal  # type: ignore[return-value]
        job_id = uuid.uuid4().hex[:12]
        if req.attachments:
            data = await self._fetch(req)
            request = request.with_first_frame(await check_first_frame(data, self.frames_dir, job_id))
        return await self._accept(req, request, job_id)

    async def _regenerate(self, req: CommandRequest) -> Reply:
        original = await self.store.get_job(req.job_id or "")
        if original is None or original.platform != req.platform:
            return Reply(messages.JOB_NOT_FOUND.format(job=req.job_id), ok=False, ephemeral=True)
        if original.user_id != req.user_id and not req.is_admin:
            return Reply(messages.REGENERATE_NOT_YOURS, ok=False, ephemeral=True)
        if refusal := await access_refusal(self.store, req):
            return Reply(refusal, ok=False, ephemeral=True)
        frame = original.request.first_frame
        if frame is not None and not Path(frame.path).exists():
            return Reply(messages.REGENERATE_IMAGE_GONE, ok=False, ephemeral=True)
        return await self._accept(req, original.request, uuid.uuid4().hex[:12], regenerated_from=original.id)

    async def _accept(
        self, req: CommandRequest, request: VideoRequest, job_id: str, *, regenerated_from: str | None = None
    ) -> Reply:
        now = self.clock()
        job = Job(
            id=job_id,
            platform=req.platform,
            workspace_id=req.workspace_id,
            channel_id=req.channel_id,
            user_id=req.user_id,
            user_name=req.user_name,
            request=request,
            cost=request.cost(self.settings.credit_costs),
            provider=self.provider_name,
            thread_id=req.thread.thread_id if req.thread else None,
            upload_limit=req.upload_limit,
            created_at=now,
            updated_at=now,
            next_poll_at=now,
            regenerated_from=regenerated_from,
            day=utc_day(now),
            price_usd=self.settings.prices_usd[(request.resolution, request.duration)],
        )
        reservation = await self.store.create_job(
            job,
            day=job.day,
            user_limit=self.settings.quota_user_daily_credits,
            workspace_limit=self.settings.quota_workspace_daily_credits,
            max_in_flight=self.settings.quota_user_max_in_flight,
            budget_usd=self.settings.budget_daily_usd,
        )
        if not reservation.ok:
            if regenerated_from is None:
                _discard(request)
            return await self._refusal(job, reservation)
        log.info("job %s accepted: %s %s user=%s cost=%d", job.id, request.mode, request.resolution,
                 req.user_id, job.cost)
        self.wake()
        usage = await self._usage(req.platform, req.workspace_id, req.user_id)
        view = status_view(job, now, credits_left=usage.user_left, position=await self.store.queue_position(job))
        text = messages.ACCEPTED.format(cost=job.cost, left=usage.user_left)
        return Reply(text, job_id=job.id, view=view)

    async def _quota(self, req: CommandRequest) -> Reply:
        u = await self._usage(req.platform, req.workspace_id, req.user_id)
        text = messages.QUOTA_VIEW.format(
            used=u.user_used - u.user_held,
            held=u.user_held,
            limit=u.user_limit,
            left=u.user_left,
            ws_left=u.workspace_left,
            ws_limit=u.workspace_limit,
            reset=human_duration(seconds_until_reset(self.clock())),
        )
        return Reply(text, ephemeral=True)

    async def _history(self, req: CommandRequest) -> Reply:
        jobs = await self.store.history(req.platform, req.user_id, limit=10)
        if not jobs:
            return Reply(messages.HISTORY_EMPTY, ephemeral=True)
        lines = tuple(
            messages.HISTORY_LINE.format(
                when=datetime.fromtimestamp(j.created_at, UTC).strftime("%Y-%m-%d %H:%M"),
                job=j.id,
                status=messages.STATUS_LABELS[j.status.value],
                prompt=_short(j.request.prompt or "(animated image)"),
                duration=j.request.duration,
                resolution=j.request.resolution,
            )
            for j in jobs
        )
        return Reply("\n".join(lines), ephemeral=True, lines=lines)

    async def _status(self, req: CommandRequest) -> Reply:
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
        lines = tuple(
            messages.STATUS_LINE.format(
                job=j.id,
                status=messages.STATUS_LABELS[j.status.value],
                elapsed=human_duration((j.updated_at if j.status.terminal else now) - j.created_at),
                prompt=_short(j.request.prompt or "(animated image)"),
            )
            + (f" ({j.error})" if j.error else "")
            for j in jobs
        )
        return Reply("\n".join(lines), ephemeral=True, lines=lines)

    async def _admin(self, req: CommandRequest) -> Reply:
        return await handle_admin(self, req)

    async def _help(self, req: CommandRequest) -> Reply:
        return Reply(self.help_text(), ephemeral=True)

    # -- helpers ------------------------------------------------------------------------

    async def _usage(self, platform: str, workspace_id: str, user_id: str) -> QuotaUsage:
        return await self.store.usage(
            platform,
            workspace_id,
            user_id,
            day=utc_day(self.clock()),
            user_limit=self.settings.quota_user_daily_credits,
            workspace_limit=self.settings.quota_workspace_daily_credits,
        )

    async def _refusal(self, job: Job, reservation: Reservation) -> Reply:
        reset = human_duration(seconds_until_reset(self.clock()))
        if reservation.refused_by == "in_flight":
            text = messages.QUOTA_IN_FLIGHT.format(running=reservation.used, limit=reservation.limit)
            return Reply(text, ok=False, ephemeral=True)
        if reservation.refused_by == "budget":
            text = messages.BUDGET_REACHED.format(budget=self.settings.budget_daily_usd or 0, reset=reset)
            return Reply(text, ok=False, ephemeral=True)
        return self._refused(job.cost, await self._usage(job.platform, job.workspace_id, job.user_id))

    def _refused(self, cost: int, usage: QuotaUsage) -> Reply:
        reset = human_duration(seconds_until_reset(self.clock()))
        if usage.user_limit - usage.user_used < cost:
            text = messages.QUOTA_USER_EXCEEDED.format(
                cost=cost, left=max(0, usage.user_limit - usage.user_used), limit=usage.user_limit, reset=reset
            )
        else:
            text = messages.QUOTA_WORKSPACE_EXCEEDED.format(
                cost=cost, left=usage.workspace_left, limit=usage.workspace_limit, reset=reset
            )
        return Reply(text, ok=False, ephemeral=True)

    async def _fetch(self, req: CommandRequest) -> bytes:
        port = self.ports.get(req.platform)
        if port is None:
            raise InvalidRequest(messages.IMAGE_FETCH_FAILED)
        att = req.attachments[0]
        if att.size is not None and att.size >= MAX_IMAGE_BYTES:
            raise InvalidRequest(messages.IMAGE_TOO_LARGE.format(mb=att.size / 1_048_576))
        chunks: list[bytes] = []
        total = 0
        try:
            async for chunk in port.fetch_attachment(att, MAX_IMAGE_BYTES):
                total += len(chunk)
                if total >= MAX_IMAGE_BYTES:
                    raise InvalidRequest(messages.IMAGE_TOO_LARGE.format(mb=total / 1_048_576))
                chunks.append(chunk)
        except InvalidRequest:
            raise
        except Exception as exc:  # a platform or network failure, not the user's fault to see in detail
            log.warning("attachment fetch failed for %s: %s", req.user_id, type(exc).__name__)
            raise InvalidRequest(messages.IMAGE_FETCH_FAILED) from exc
        return b"".join(chunks)


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _discard(request: VideoRequest) -> None:
    if request.first_frame is not None:
        Path(request.first_frame.path).unlink(missing_ok=True)
