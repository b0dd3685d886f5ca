"""History with a link to each video's post, and posting a kept video again into the asking channel, uncharged."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from bot import i18n, messages
from bot.answers import history_line
from bot.budget import PlatformBudget
from bot.commands import CommandRequest, Reply
from bot.config import Settings
from bot.delivered_files import clip_file
from bot.jobs import Job, JobStatus
from bot.messages import history as words
from bot.ports import ChatPort, ThreadRef
from bot.safe_text import link_ref, shown
from bot.store import Store
from bot.views import video_post

log = logging.getLogger(__name__)

HISTORY_SIZE = 10


@runtime_checkable
class PostLinks(Protocol):
    """A platform that can say where a delivered video's post is (a web address, or a path on this machine)."""

    async def post_link(self, job: Job) -> str | None:
        """The address of the job's delivered post, or None when the platform cannot say."""


class CoreParts(Protocol):
    """What history and repost need of bot.core.Core (not imported: the core imports this module)."""

    settings: Settings
    store: Store
    providers: Any  # a ProviderSet: a video another machine delivered is fetched again from it
    ports: Mapping[str, ChatPort]
    budget: PlatformBudget | None
    clock: Callable[[], float]


async def history_command(core: CoreParts, req: CommandRequest) -> Reply:
    """`history`: the member's newest jobs, each delivered one with a link to its post and a "Post again" offer."""
    jobs = await core.store.history(req.platform, req.user_id, limit=HISTORY_SIZE)
    if not jobs:
        return Reply(messages.HISTORY_EMPTY, ephemeral=True)
    port = core.ports.get(req.platform)
    links = await asyncio.gather(*(_link(port, j) for j in jobs))
    lines = []
    for job, link in zip(jobs, links, strict=True):
        line = history_line(job)
        if link:
            line = words.HISTORY_POST.format(line=line, link=link)
        elif job.status is JobStatus.DELIVERED:
            line = words.HISTORY_POSTED.format(line=line)
        lines.append(line)
    media = Path(core.settings.media_dir)
    again = tuple(j.id for j in jobs if j.status is JobStatus.DELIVERED and _kept(j, media) is not None)
    return Reply(i18n.join("\n", lines), ephemeral=True, reposts=again)


async def repost_command(core: CoreParts, req: CommandRequest) -> Reply:
    """`repost JOB`: post a delivered video's kept MP4 again into the channel the member asks from; free."""
    if not req.job_id:
        return _refusal(words.REPOST_WHICH)
    job = await core.store.get_job(req.job_id)
    if job is None or job.platform != req.platform or job.workspace_id != req.workspace_id:
        return _refusal(messages.JOB_NOT_FOUND.format(job=req.job_id))
    if job.user_id != req.user_id and not req.is_admin:
        return _refusal(words.REPOST_NOT_YOURS)
    if job.status is not JobStatus.DELIVERED:
        return _refusal(words.REPOST_NOT_DELIVERED.format(job=job.id, status=messages.STATUS_LABELS[job.status.value]))
    # The kept MP4; on a machine that lacks it, fetched again from the provider while its address lasts.
    path = await clip_file(core.store, core.providers, Path(core.settings.media_dir), job)
    port = core.ports.get(req.platform)
    if path is None:
        return _refusal(words.REPOST_FILE_GONE.format(job=job.id))
    if port is None:
        return _refusal(words.REPOST_FAILED)
    post = video_post(job, str(path), path.stat().st_size)
    prompt = shown(post.prompt[:300]) if post.prompt else messages.ANIMATED_IMAGE
    caption = words.REPOST_CAPTION.format(prompt=prompt, settings=i18n.join(", ", _words(job)))
    # Posted for whoever asked, in their language; the upload limit is this channel's, when the platform says.
    post = dataclasses.replace(post, user_id=req.user_id, caption=i18n.render(caption, req.locale),
                               upload_limit=req.upload_limit or job.upload_limit, locale=req.locale or i18n.SOURCE)
    to = ThreadRef(req.platform, req.workspace_id, req.channel_id, req.thread.thread_id if req.thread else None)
    try:
        if (budget := core.budget) is None:
            await port.post_video(to, post)
        else:  # within the platform's limits, like a delivery (Slack's Regenerate button takes its own turn)
            post = dataclasses.replace(post, pace=lambda: budget.take(port, "notify", to, urgent=True))
            await budget.send(port, "video", to, lambda: port.post_video(to, post))
    except Exception as exc:  # the platform refused or failed: nothing was charged, the member may try again
        log.warning("job %s: could not post it again in %s: %s", job.id, req.channel_id, type(exc).__name__)
        return _refusal(words.REPOST_FAILED)
    log.info("job %s posted again in %s by %s", job.id, req.channel_id, req.user_id)
    return Reply(words.REPOST_DONE.format(job=job.id), ephemeral=True)


async def _link(port: ChatPort | None, job: Job) -> str | None:
    if job.status is not JobStatus.DELIVERED or not job.delivered_ref or not isinstance(port, PostLinks):
        return None
    try:
        url = await port.post_link(job)
    except Exception as exc:  # a link is a convenience: the history is answered without it
        log.info("job %s: no link to its post (%s)", job.id, type(exc).__name__)
        return None
    return link_ref(url) if url and not any(c.isspace() or c in "<>" for c in url) else None


def _kept(job: Job, media: Path) -> Path | None:
    """The delivered video's file in MEDIA_DIR, if it is still kept on this machine."""
    for path in (Path(job.video_path) if job.video_path else None, media / f"{job.id}.mp4"):
        if path is not None and path.is_file():
            return path
    return None


def _words(job: Job) -> list[str]:
    r = job.request
    return messages.settings_words(r.duration, r.resolution, has_image=r.first_frame is not None,
                                   prompt_optimizer=r.prompt_optimizer, fast_pretreatment=r.fast_pretreatment)


def _refusal(text: str) -> Reply:
    return Reply(text, ok=False, ephemeral=True)
