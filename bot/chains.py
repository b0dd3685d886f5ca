"""Remix and Extend: a delivered video made again with edited words, or continued from its last frame.

A Remix is a new job with the original's settings (and a copy of its first frame, if it had one),
charged like any /video. An Extend takes the last frame of the delivered MP4 as the first frame of
the next clip; the new job names the clip it continues (`chain_parent`), the chain's first clip
(`chain_root`) and its place (`chain_index`), so any process can continue the chain or join it.
A chain has at most EXTEND_MAX_CLIPS clips; Extend on an earlier clip starts a branch, and the joined
video of a clip is the clips from the chain's first to it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bot import i18n, messages
from bot.answers import Answers
from bot.budget import PlatformBudget
from bot.commands import CommandRequest, Reply, job_id_for
from bot.config import Settings
from bot.contract import VideoRequest
from bot.delivered_files import clip_file
from bot.frames import frame_here, keep_frame
from bot.images import check_first_frame
from bot.jobs import Job, JobStatus
from bot.messages import chains as words
from bot.policy import access_refusal, blocked_term
from bot.ports import ChatPort, DeliveryFailed, StatusOpener, VideoPost
from bot.providers.failover import ProviderSet
from bot.safe_text import shown
from bot.store import QuotaUsage, Store
from bot.video_files import VideoFileError, join_clips, last_frame_png
from bot.views import thread_of

log = logging.getLogger(__name__)

CHAIN_COMMANDS = frozenset({"remix", "extend", "joined"})


class ChainCore(Protocol):
    """What Remix and Extend need of the core (bot.core.Core has all of it): admission goes through its `_accept`."""

    settings: Settings
    store: Store
    ports: Mapping[str, ChatPort]
    providers: ProviderSet | None
    budget: PlatformBudget | None
    frames_dir: Path
    answers: Answers

    async def _accept(self, req: CommandRequest, request: VideoRequest, job_id: str, opener: StatusOpener | None,
                      *, regenerated_from: str | None = None, chain: Mapping[str, Any] | None = None) -> Reply: ...
    def _quota_refusal(self, cost: int, usage: QuotaUsage) -> Reply: ...


@dataclass(frozen=True)
class ChainForm:
    """What the Remix or Extend form opens with: the job's words and settings, in the member's language."""

    kind: str  # "remix" or "extend"
    job_id: str
    prompt: str
    duration: int
    resolution: str
    has_image: bool
    locale: str


async def chain_form(core: ChainCore, req: CommandRequest) -> ChainForm | Reply:
    """The prefilled form for `req.command` ("remix" or "extend") on `req.job_id`, or why it cannot open.

    Quick (reads only the database): a Discord modal must be the interaction's first answer.
    """
    locale = req.locale or await core.store.workspace_locale(req.platform, req.workspace_id) \
        or req.server_locale or i18n.SOURCE
    job = await core.store.get_job(req.job_id or "")
    refusal = _refusal_for(job, req) or (_over_cap(core, job) if req.command == "extend" else None)
    if refusal is not None:
        return dataclasses.replace(refusal, text=i18n.render(refusal.text, locale))
    assert job is not None
    r = job.request
    return ChainForm(req.command, job.id, r.prompt, r.duration, r.resolution, r.first_frame is not None, locale)


async def chain_command(core: ChainCore, req: CommandRequest, opener: StatusOpener | None) -> Reply:
    """`remix JOB`, `extend JOB` (new, charged jobs) and `joined JOB` (the chain in one MP4, free)."""
    if not req.job_id:
        return _refusal(words.CHAIN_WHICH)
    job = await core.store.get_job(req.job_id)
    if (refusal := _refusal_for(job, req)) is not None:
        return refusal
    assert job is not None
    if req.command == "joined":
        return await _joined(core, req, job, opener)
    if refusal := await access_refusal(core.store, req):
        return _refusal(refusal)
    if req.command == "extend" and (refusal := _over_cap(core, job)) is not None:
        return refusal
    original = job.request
    request = VideoRequest.build(
        original.prompt if req.prompt is None else req.prompt,
        duration=req.duration or original.duration, resolution=req.resolution or original.resolution,
        prompt_optimizer=original.prompt_optimizer, fast_pretreatment=original.fast_pretreatment,
        has_image=req.command == "extend" or original.first_frame is not None,
        model=original.model,  # a Fast video's remix or next clip is Fast too (it has an image: bot/models.py)
    )
    if term := blocked_term(request.prompt, core.settings.blocked_term_list):
        return _refusal(messages.BLOCKED_TERM.format(term=term))
    cost = core.settings.price_of(request.resolution, request.duration, model=request.model).credits
    usage = await core.answers.usage(req.platform, req.workspace_id, req.user_id)
    if cost > usage.user_left:
        return core._quota_refusal(cost, usage)  # before any frame is read or decoded
    job_id = job_id_for(req)
    if opener is not None:
        await opener.busy()  # reading a frame (and decoding a video) takes a moment
    if req.command == "extend":
        frame = await _last_frame(core, job)
        if isinstance(frame, Reply):
            return frame
        chain = {"chain_parent": job.id, "chain_root": job.chain_root or job.id, "chain_index": job.chain_index + 1}
    else:
        frame = None
        if original.first_frame is not None:
            here = await frame_here(core.store, original, core.frames_dir)
            if here is None or here.first_frame is None:
                return _refusal(messages.REGENERATE_IMAGE_GONE)
            frame = await asyncio.to_thread(Path(here.first_frame.path).read_bytes)
        # A remix of a clip in a chain takes its place beside it: the same first frame, the same parent.
        chain = {k: getattr(job, k) for k in ("chain_parent", "chain_root", "chain_index")}
    if frame is not None:  # the new job's own copy, kept in the database for every process
        request = request.with_first_frame(await check_first_frame(frame, core.frames_dir, job_id))
        await keep_frame(core.store, request)
    log.info("job %s: %s of %s", job_id, req.command, job.id)
    return await core._accept(req, request, job_id, opener, chain=chain)


def _refusal_for(job: Job | None, req: CommandRequest) -> Reply | None:
    """Why this member cannot remix, extend or join this job (plain words, nothing charged), or None."""
    if job is None or job.platform != req.platform:
        return _refusal(messages.JOB_NOT_FOUND.format(job=req.job_id))
    if job.user_id != req.user_id and not req.is_admin:
        return _refusal(words.CHAIN_NOT_YOURS)
    if job.status is not JobStatus.DELIVERED:
        return _refusal(words.CHAIN_NOT_DELIVERED.format(job=job.id, status=messages.STATUS_LABELS[job.status.value]))
    return None


def _over_cap(core: ChainCore, job: Job | None) -> Reply | None:
    """The chain already has EXTEND_MAX_CLIPS clips up to this one: no further clip."""
    limit = core.settings.extend_max_clips
    if job is not None and job.chain_index >= limit:
        return _refusal(words.EXTEND_CAP.format(count=job.chain_index, limit=limit))
    return None


async def _last_frame(core: ChainCore, job: Job) -> bytes | Reply:
    """The PNG of the delivered clip's last frame, decoded off the event loop."""
    path = await clip_file(core.store, core.providers, Path(core.settings.media_dir), job)
    if path is None:
        return _refusal(words.CHAIN_FILE_GONE.format(job=job.id))
    try:
        return await asyncio.to_thread(last_frame_png, path)
    except VideoFileError as exc:
        log.warning("job %s: no last frame: %s", job.id, exc)
        return _refusal(words.CHAIN_FRAME_FAILED.format(job=job.id))


async def lineage(core: ChainCore, job: Job) -> list[Job]:
    """The clips from the chain's first to `job`, in order (a branch is left out)."""
    if job.chain_root is None:
        return [job]
    clips = {clip.id: clip for clip in await core.store.chain_clips(job.chain_root)}
    line, at = [job], job
    while at.chain_parent is not None and at.chain_parent in clips and len(line) <= len(clips):
        at = clips[at.chain_parent]
        line.append(at)
    return line[::-1]


async def _joined(core: ChainCore, req: CommandRequest, job: Job, opener: StatusOpener | None) -> Reply:
    """Join the chain up to `job` into one MP4 (remuxed when the clips allow it) and post it in the thread."""
    clips = await lineage(core, job)
    if len(clips) < 2:
        return _refusal(words.JOINED_SINGLE.format(job=job.id))
    if opener is not None:
        await opener.busy()
    media = Path(core.settings.media_dir)
    paths = []
    for clip in clips:
        path = await clip_file(core.store, core.providers, media, clip)
        if path is None:
            return _refusal(words.CHAIN_FILE_GONE.format(job=clip.id))
        paths.append(path)
    out = media / "chains" / f"{clips[0].id}-{job.id}.mp4"
    try:
        joined = await asyncio.to_thread(join_clips, paths, out)
    except (VideoFileError, OSError) as exc:
        log.warning("job %s: the chain could not be joined: %s", job.id, exc)
        return _refusal(words.JOINED_FAILED)
    log.info("job %s: %d clips joined (%s), %.1f s", job.id, len(clips), "remuxed" if joined.remuxed else
             "re-encoded", joined.seconds)
    seconds = round(joined.seconds)
    port = core.ports.get(job.platform)
    if port is None:
        return _refusal(words.JOINED_FAILED)
    locale = req.locale or job.locale or i18n.SOURCE
    # The member's words, marked so the platform shows them as typed (never a mention or a link).
    prompt = shown(job.request.prompt[:300]) if job.request.prompt else i18n.render(messages.ANIMATED_IMAGE, locale)
    caption = i18n.render(words.JOINED_CAPTION.format(count=len(clips), seconds=seconds, prompt=prompt), locale)
    post = VideoPost(job_id=job.id, user_id=req.user_id, path=str(out), size=out.stat().st_size,
                     filename=f"hailuo-chain-{job.id}.mp4", caption=caption,
                     upload_limit=req.upload_limit or job.upload_limit, locale=locale, buttons=False)
    to = thread_of(job)
    try:
        if core.budget is not None:
            await core.budget.take(port, "video", to, urgent=True)
        await port.post_video(to, post)
    except DeliveryFailed as exc:
        return _refusal(words.JOINED_NOT_POSTED.format(reason=i18n.said(exc)))
    except Exception as exc:  # the platform's rate limit, a network failure: nothing was charged, ask again
        log.warning("job %s: the joined video could not be posted: %s", job.id, type(exc).__name__)
        return _refusal(words.JOINED_POST_FAILED)
    return Reply(words.JOINED_POSTED.format(count=len(clips), seconds=seconds), ephemeral=True)


def _refusal(text: str) -> Reply:
    return Reply(text, ok=False, ephemeral=True)
