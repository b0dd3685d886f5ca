"""Turn stored jobs into the neutral views adapters render."""

from __future__ import annotations

from bot import i18n, messages
from bot.jobs import CANCELLABLE, Job, JobStatus
from bot.ports import StatusView, ThreadRef, VideoPost
from bot.safe_text import neutral, shown


def status_view(job: Job, now: float, *, credits_left: int | None = None, position: int | None = None,
                time_left: float | None = None) -> StatusView:
    """The status message's content for `job` at time `now` (`time_left`: bot.job_history's estimate)."""
    req = job.request
    end = job.updated_at if job.status.terminal else now
    return StatusView(
        job_id=job.id,
        user_id=job.user_id,
        prompt=neutral(req.prompt),  # the member's text as shown: adapters escape it their own way
        duration=req.duration,
        resolution=req.resolution,
        prompt_optimizer=req.prompt_optimizer,
        fast_pretreatment=req.fast_pretreatment,
        has_image=req.first_frame is not None,
        status=job.status.value,
        status_label=i18n.render(_label(job), job.locale),
        elapsed_seconds=max(0.0, end - job.created_at),
        cost=job.cost,
        credits_left=credits_left,
        # Waiting for a slot: its place in the bot's own line; at a provider that says, the place in its line.
        queue_position=position if job.status is JobStatus.QUEUED else (
            job.provider_place if job.status is JobStatus.QUEUEING else None),
        error=i18n.render(job.error, job.locale) if job.error else job.error,
        locale=job.locale or i18n.SOURCE,
        cancellable=job.status in CANCELLABLE and job.cancel_requested_at is None,
        time_left_seconds=None if job.status.terminal or job.cancel_requested_at is not None else time_left,
        time_left_once_started=job.status in (JobStatus.QUEUED, JobStatus.SUBMITTING),
        fast_model=req.fast,
    )


def _label(job: Job) -> str:
    """The status in words; "Cancelling" from the moment a cancel was asked until the job ends."""
    if job.cancel_requested_at is not None and not job.status.terminal:
        return messages.STATUS_CANCELLING
    return messages.STATUS_LABELS[job.status.value]


def thread_of(job: Job) -> ThreadRef:
    """Where the job's conversation lives."""
    return ThreadRef(job.platform, job.workspace_id, job.channel_id, job.thread_id)


def _words(job: Job) -> list[str]:
    req = job.request
    return messages.settings_words(req.duration, req.resolution, has_image=req.first_frame is not None,
                          prompt_optimizer=req.prompt_optimizer, fast_pretreatment=req.fast_pretreatment,
                          fast_model=req.fast)


def video_post(job: Job, path: str, size: int) -> VideoPost:
    """The delivery of a finished job: file, caption mentioning the requester, upload limit."""
    prompt = job.request.prompt
    if len(prompt) > 300:
        prompt = prompt[:297] + "..."
    prompt = shown(prompt) if prompt else i18n.render(messages.ANIMATED_IMAGE, job.locale)
    # Adapters add the mention in their own syntax.
    caption = i18n.render(messages.VIDEO_CAPTION.format(prompt=prompt, settings=i18n.join(", ", _words(job))),
                          job.locale)
    return VideoPost(
        job_id=job.id,
        user_id=job.user_id,
        path=path,
        size=size,
        filename=f"hailuo-{job.id}.mp4",
        caption=caption,
        upload_limit=job.upload_limit,
        link=job.video_url if (job.video_url or "").startswith("https://") else None,
        prompt=job.request.prompt,
        duration=job.request.duration,
        resolution=job.request.resolution,
        cost=job.cost,
        locale=job.locale or i18n.SOURCE,
        chain_index=job.chain_index,
    )
