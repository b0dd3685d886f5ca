"""The platform-neutral core: one entry point for everything a member asks."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from bot import i18n, messages, models
from bot.admin import AdminScope, handle_admin
from bot.answers import Answers
from bot.budget import PlatformBudget
from bot.cancel import cancel_command
from bot.chains import CHAIN_COMMANDS, chain_command
from bot.commands import CommandRequest, Reply, job_id_for
from bot.config import Settings
from bot.contract import InvalidRequest, VideoRequest
from bot.days import human_duration, seconds_until_reset, utc_day
from bot.frames import frame_here, keep_frame
from bot.images import MAX_IMAGE_BYTES, check_first_frame
from bot.job_history import JobHistory
from bot.jobs import Job
from bot.policy import access_refusal, blocked_term
from bot.ports import CannotPost, ChatPort, StatusOpener, StatusPlace, ThreadRef
from bot.preset_command import preset_command
from bot.presets import apply_preset
from bot.providers.failover import ProviderSet
from bot.repost import history_command, repost_command
from bot.store import QuotaUsage, Reservation, Store
from bot.views import status_view

log = logging.getLogger(__name__)

# A job is recorded before its status message is posted; until the adapter has posted it (or for this
# long, should the process die in between) no poller takes the job, so a job that cannot be shown can
# still be withdrawn uncharged.
OPEN_GRACE_SECONDS = 60.0


class Core:
    """Validates requests, reserves quota, records jobs; the poller takes them from there."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        provider_name: str | Callable[[], str],
        ports: Mapping[str, ChatPort],
        wake: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
        budget: PlatformBudget | None = None,
        providers: ProviderSet | None = None,
        history: JobHistory | None = None,
    ) -> None:
        self.providers = providers  # to fetch a clip again that another machine delivered (bot.delivered_files.py)
        self.history = history  # how long recent jobs of each kind took: the first status shows the time left
        self.budget = budget  # the platforms' shared rate budget: the first status message is urgent
        self.settings = settings
        self.store = store
        self._provider_name = provider_name  # with a fallback provider, who takes new jobs changes
        self.ports = ports
        self.wake = wake
        self.clock = clock
        self.frames_dir = Path(settings.media_dir) / "frames"
        self.answers = Answers(settings, store, clock, lambda: self.provider_name)
        self.admin = AdminScope(settings, store, clock)

    async def handle(self, req: CommandRequest, opener: StatusOpener | None = None) -> Reply:
        """Answer one member's command: the one call an adapter makes per command.

        Args:
            req: the neutral request an adapter built from the platform's event.
            opener: for `video` and `regenerate`, how the adapter acknowledges slow work and posts the
                accepted job's status message; without one the job simply waits for the poller.

        Returns:
            The answer to show the member: a refusal in plain words (nothing charged), or the acceptance,
            in the member's language (the platform's, else the workspace default, else the server's, else English).
        """
        locale = req.locale or await self.store.workspace_locale(req.platform, req.workspace_id) \
            or req.server_locale or i18n.SOURCE
        req = dataclasses.replace(req, locale=locale)
        reply = await self._handle(req, opener)
        return dataclasses.replace(reply, text=i18n.render(reply.text, locale))

    async def _handle(self, req: CommandRequest, opener: StatusOpener | None) -> Reply:
        try:
            if req.request_key and req.command in ("video", "regenerate", "remix", "extend") \
                    and await self.store.get_job(job_id_for(req)) is not None:
                return _already(job_id_for(req))  # a replayed command whose job was recorded before the crash
            if req.command == "video":
                return await self._video(req, opener)
            if req.command == "regenerate":
                return await self._regenerate(req, opener)
            if req.command == "admin":
                return await handle_admin(self.admin, req)
            if req.command == "cancel":
                return await cancel_command(self, req)
            if req.command in CHAIN_COMMANDS:  # Remix, Extend and the joined video (bot/chains.py)
                return await chain_command(self, req, opener)
            if req.command == "preset":
                return await preset_command(self, req)
            answer = {"quota": self.answers.quota, "history": lambda r: history_command(self, r),
                      "repost": lambda r: repost_command(self, r), "status": self.answers.status,
                      "help": self.answers.help}.get(req.command)
            if answer is None:
                return _refusal(messages.UNKNOWN_COMMAND.format(help=self.help_text(req.platform)))
            return await answer(req)
        except InvalidRequest as exc:
            return _refusal(i18n.said(exc))

    @property
    def provider_name(self) -> str:
        """The provider new jobs go to now."""
        return self._provider_name if isinstance(self._provider_name, str) else self._provider_name()

    def help_text(self, platform: str = "console") -> str:
        """What the bot can do on `platform` and what it costs."""
        return self.answers.help_text(platform)

    # -- making a video -------------------------------------------------------------------

    async def _video(self, req: CommandRequest, opener: StatusOpener | None) -> Reply:
        if refusal := await access_refusal(self.store, req):
            return _refusal(refusal)
        if len(req.attachments) > 1:
            raise InvalidRequest(messages.IMAGE_TOO_MANY)
        req = await apply_preset(self.store, req)  # the named preset (or the member's default), combined
        request = VideoRequest.build(
            models.prompt_with_camera(req), duration=req.duration, resolution=req.resolution,
            prompt_optimizer=req.prompt_optimizer, fast_pretreatment=req.fast_pretreatment,
            has_image=bool(req.attachments),
            model=models.model_for(self.settings, self.provider_name, req.model, has_image=bool(req.attachments)),
        )
        if term := blocked_term(request.prompt, self.settings.blocked_term_list):
            raise InvalidRequest(messages.BLOCKED_TERM.format(term=term))
        # Refuse early, before downloading anything, when the credits are plainly not there.
        cost = self.settings.price_of(request.resolution, request.duration, model=request.model).credits
        usage = await self.answers.usage(req.platform, req.workspace_id, req.user_id)
        if cost > usage.user_left:
            return self._quota_refusal(cost, usage)
        job_id = job_id_for(req)
        if req.attachments:
            if opener is not None:
                await opener.busy()
            data = await self._fetch(req)
            request = request.with_first_frame(await check_first_frame(data, self.frames_dir, job_id))
            await keep_frame(self.store, request)
        return await self._accept(req, request, job_id, opener)

    async def _regenerate(self, req: CommandRequest, opener: StatusOpener | None) -> Reply:
        original = await self.store.get_job(req.job_id or "")
        if original is None or original.platform != req.platform:
            return _refusal(messages.JOB_NOT_FOUND.format(job=req.job_id))
        if original.user_id != req.user_id and not req.is_admin:
            return _refusal(messages.REGENERATE_NOT_YOURS)
        if refusal := await access_refusal(self.store, req):
            return _refusal(refusal)
        if await frame_here(self.store, original.request, self.frames_dir) is None:
            return _refusal(messages.REGENERATE_IMAGE_GONE)
        # A clip of a chain made again takes its place beside it (as a remix does), so it can be extended or joined.
        chain = {k: getattr(original, k) for k in ("chain_parent", "chain_root", "chain_index")}
        return await self._accept(req, original.request, job_id_for(req), opener, regenerated_from=original.id,
                                  chain=chain)

    async def _accept(
        self, req: CommandRequest, request: VideoRequest, job_id: str, opener: StatusOpener | None,
        *, regenerated_from: str | None = None, chain: Mapping[str, Any] | None = None,
    ) -> Reply:
        now = self.clock()
        price = self.settings.price_of(request.resolution, request.duration, provider=self.provider_name,
                                       model=request.model)
        job = Job(
            id=job_id, platform=req.platform, workspace_id=req.workspace_id, channel_id=req.channel_id,
            user_id=req.user_id, user_name=req.user_name, request=request, cost=price.credits,
            provider=self.provider_name, thread_id=req.thread.thread_id if req.thread else None,
            upload_limit=req.upload_limit, created_at=now, updated_at=now,
            next_poll_at=now if opener is None else now + OPEN_GRACE_SECONDS,
            regenerated_from=regenerated_from, day=utc_day(now), price_usd=price.usd, locale=req.locale,
            **(chain or {}),
        )
        reservation = await self.store.create_job(
            job, day=job.day, user_limit=self.settings.quota_user_daily_credits,
            workspace_limit=self.settings.quota_workspace_daily_credits,
            max_in_flight=self.settings.quota_user_max_in_flight, budget_usd=self.settings.budget_daily_usd,
        )
        if reservation.refused_by == "duplicate":
            return _already(job.id)  # the same command, replayed while this one was admitted: one job
        if not reservation.ok:
            if regenerated_from is None:
                _discard(request)
            return await self._reservation_refusal(job, reservation)
        log.info("job %s accepted: %s %s user=%s cost=%d", job.id, request.mode, request.resolution,
                 req.user_id, job.cost)
        usage = await self.answers.usage(req.platform, req.workspace_id, req.user_id)
        if self.history is not None:
            await self.history.fresh()
        view = status_view(job, now, credits_left=usage.user_left, position=await self.store.queue_position(job),
                           time_left=None if self.history is None else self.history.time_left(job, now))
        reply = Reply(messages.ACCEPTED.format(cost=job.cost, left=usage.user_left), job_id=job.id, view=view)
        if opener is None:
            self.wake()
            return reply
        return await self._open(job, reply, opener)

    async def _open(self, job: Job, reply: Reply, opener: StatusOpener) -> Reply:
        """Have the adapter post the status message; withdraw the job, uncharged, when nothing could be posted."""
        try:
            def post() -> Awaitable[StatusPlace | None]:
                return opener.open(i18n.render(reply.text, job.locale), reply.view)  # type: ignore[arg-type]

            port = self.ports.get(job.platform)
            to = ThreadRef(job.platform, job.workspace_id, job.channel_id, job.thread_id)
            place = await (post() if self.budget is None or port is None else self.budget.send(port, "open", to, post))
        except Exception as exc:
            text = i18n.said(exc) if isinstance(exc, CannotPost) else messages.COULD_NOT_START
            if not isinstance(exc, CannotPost):
                log.warning("job %s: the status message could not be posted: %s", job.id, type(exc).__name__)
            if await self.store.withdraw(job):
                if job.regenerated_from is None:
                    _discard(job.request)
                return _refusal(text)
            place = None  # already taken up elsewhere: it goes on, and is delivered in the channel
        changes: dict[str, object] = {"next_poll_at": self.clock()}
        if place is not None:
            changes["status_message_id"] = place.message.message_id
            if place.thread_id is not None:
                changes["thread_id"] = place.thread_id
        await self.store.update(job, **changes)
        self.wake()
        return reply

    # -- refusals ---------------------------------------------------------------------------

    async def _reservation_refusal(self, job: Job, reservation: Reservation) -> Reply:
        reset = human_duration(seconds_until_reset(self.clock()))
        if reservation.refused_by == "in_flight":
            return _refusal(messages.QUOTA_IN_FLIGHT.format(running=reservation.used, limit=reservation.limit))
        if reservation.refused_by == "budget":
            return _refusal(messages.BUDGET_REACHED.format(budget=self.settings.budget_daily_usd or 0, reset=reset))
        if reservation.refused_by == "workspace_budget":  # the cap this workspace's admins set (bot/admin.py)
            left = max(0.0, reservation.budget_usd - reservation.spent_usd)
            return _refusal(messages.WORKSPACE_BUDGET_REACHED.format(cost=job.price_usd, left=left,
                                                                     budget=reservation.budget_usd, reset=reset))
        return self._quota_refusal(job.cost, await self.answers.usage(job.platform, job.workspace_id, job.user_id))

    def _quota_refusal(self, cost: int, usage: QuotaUsage) -> Reply:
        reset = human_duration(seconds_until_reset(self.clock()))
        if usage.user_limit - usage.user_used < cost:
            return _refusal(messages.QUOTA_USER_EXCEEDED.format(
                cost=cost, left=max(0, usage.user_limit - usage.user_used), limit=usage.user_limit, reset=reset))
        return _refusal(messages.QUOTA_WORKSPACE_EXCEEDED.format(
            cost=cost, left=usage.workspace_left, limit=usage.workspace_limit, reset=reset))

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


def _already(job_id: str) -> Reply:
    return Reply(messages.ALREADY_ACCEPTED, job_id=job_id)


def _refusal(text: str) -> Reply:
    return Reply(text, ok=False, ephemeral=True)


def _discard(request: VideoRequest) -> None:
    if request.first_frame is not None:
        Path(request.first_frame.path).unlink(missing_ok=True)
