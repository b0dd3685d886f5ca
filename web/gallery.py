"""The gallery: a workspace's delivered videos, newest first, playable in the page; and the videos themselves."""

from __future__ import annotations

from html import escape
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web

from bot.safe_text import neutral
from web.context import WEB, redirect
from web.html import page, post_link, settings_of, when, who, workspace_url

PER_PAGE = 12


async def home(request: web.Request) -> web.Response:
    """Signed in: the workspaces this person may see; otherwise the sign-in page."""
    ctx = request.app[WEB]
    session = ctx.session(request)
    if session is None:
        return redirect("/login")
    if len(session.workspaces) == 1:
        return redirect(workspace_url(*next(iter(session.workspaces)).split("/", 1)) + "/gallery")
    items = "".join(f'<li><a href="{workspace_url(*key.split("/", 1))}/gallery">{escape(key)}</a>'
                    f'{" (admin)" if admin else ""}</li>' for key, admin in session.workspaces.items())
    return page("Your workspaces", f"<ul>{items}</ul>", session=session)


async def gallery(request: web.Request) -> web.Response:
    """Delivered videos with prompt, settings, who, when, cost and the chat post; filter by user and text."""
    ctx = request.app[WEB]
    session, platform, workspace = ctx.scope(request)
    user = request.query.get("user") or None
    text = (request.query.get("q") or "").strip() or None
    try:
        number = max(1, int(request.query.get("page", "1")))
    except ValueError:
        number = 1
    jobs = await ctx.store.gallery(platform, workspace, user_id=user, text=text, limit=PER_PAGE + 1,
                                   offset=(number - 1) * PER_PAGE)
    more, jobs = len(jobs) > PER_PAGE, jobs[:PER_PAGE]
    members = await ctx.store.workspace_members(platform, workspace)
    base = workspace_url(platform, workspace)
    choices = "".join(f'<option value="{escape(uid)}"{" selected" if uid == user else ""}>{escape(name or uid)}'
                      "</option>" for uid, name in members)
    form = (f'<form method="get" action="{base}/gallery" id="filters"><select name="user">'
            f'<option value="">everyone</option>{choices}</select> <input name="q" placeholder="words in the prompt" '
            f'value="{escape(text or "")}"> <button type="submit">Filter</button></form>')
    cards = []
    for job in jobs:
        cards.append(
            f'<div class="card" data-job="{escape(job.id)}"><video controls preload="auto" playsinline '
            f'src="{base}/videos/{escape(job.id)}.mp4"></video>'
            f'<p class="prompt">{escape(neutral(job.request.prompt) or "(image only)")}</p>'
            f'<p class="meta">{escape(settings_of(job))} · by {who(job)} · {when(job.updated_at)} · '
            f'{job.cost} credit{"s" if job.cost != 1 else ""}, ${job.price_usd:.2f} {post_link(job)}</p></div>')
    body = form + (f'<div class="grid">{"".join(cards)}</div>' if cards else "<p>No videos yet.</p>")
    keep = {k: v for k, v in (("user", user), ("q", text)) if v}
    pager = []
    if number > 1:
        pager.append(f'<a href="{base}/gallery?{urlencode({**keep, "page": number - 1})}">newer</a>')
    if more:
        pager.append(f'<a href="{base}/gallery?{urlencode({**keep, "page": number + 1})}" id="older">older</a>')
    body += f'<div class="pager">{"".join(pager)}</div>'
    return page("Gallery", body, session=session, where=(platform, workspace), active="gallery")


async def video(request: web.Request) -> web.StreamResponse:
    """A delivered video's MP4, with range requests; 404 unless it belongs to the URL's (and the person's) workspace."""
    ctx = request.app[WEB]
    _, platform, workspace = ctx.scope(request)
    job = await ctx.store.get_job(request.match_info["job"])
    if job is None or job.platform != platform or job.workspace_id != workspace or not job.video_path:
        raise web.HTTPNotFound(text="no such video")
    media = Path(ctx.settings.media_dir).resolve()
    path = Path(job.video_path)
    path = (path if path.is_absolute() else Path.cwd() / path).resolve()
    if not path.is_relative_to(media) or not path.is_file():
        raise web.HTTPNotFound(text="no such video")
    return web.FileResponse(path, headers={"Content-Type": "video/mp4", "Cache-Control": "private, max-age=3600"})


def add_routes(app: web.Application) -> None:
    """The home page, the gallery and the video files."""
    app.router.add_get("/", home)
    app.router.add_get("/w/{platform}/{workspace}/gallery", gallery)
    app.router.add_get("/w/{platform}/{workspace}/videos/{job}.mp4", video)
