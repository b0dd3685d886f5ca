"""The live queue: a workspace's jobs waiting and at the provider, kept current by server-sent events."""

from __future__ import annotations

import asyncio
import json
from html import escape

from aiohttp import web

from bot.jobs import Job, JobStatus
from bot.safe_text import neutral
from web.context import WEB, WebContext
from web.html import page, settings_of, when, who, workspace_url

SCRIPT = """<script>
const rows = document.getElementById('queue-rows');
const source = new EventSource(rows.dataset.events);
source.addEventListener('queue', (e) => { rows.innerHTML = JSON.parse(e.data).html;
  document.getElementById('updated').textContent = new Date().toLocaleTimeString(); });
</script>"""


def _place(job: Job, place: int | None) -> str:
    if job.status == JobStatus.QUEUED and place is not None:
        return f"#{place} in line"
    if job.status.at_provider and job.provider_place is not None:
        return f"#{job.provider_place} at {escape(job.provider)}"
    return ""


async def rows(ctx: WebContext, platform: str, workspace: str) -> str:
    """The table rows of a workspace's unfinished jobs, with status and place."""
    out = []
    for job in await ctx.store.workspace_queue(platform, workspace):
        place = await ctx.store.queue_position(job) if job.status == JobStatus.QUEUED else None
        prompt = neutral(job.request.prompt) or "(image)"  # bidi controls out: they would reorder the row
        out.append(f'<tr data-job="{escape(job.id)}" data-status="{job.status.value}"><td>{escape(job.id[:8])}</td>'
                   f'<td>{escape(prompt[:80])}</td><td>{escape(settings_of(job))}</td>'
                   f'<td>{who(job)}</td><td class="status">{escape(job.status.value)}</td><td>{_place(job, place)}</td>'
                   f"<td>{when(job.created_at)}</td></tr>")
    return "".join(out) or '<tr><td colspan="7">Nothing waiting or at the provider.</td></tr>'


async def queue(request: web.Request) -> web.Response:
    """The queue page; its rows follow the event stream without a reload."""
    ctx = request.app[WEB]
    session, platform, workspace = ctx.scope(request)
    events = f"{workspace_url(platform, workspace)}/queue/events"
    body = (f'<p>Live: updated <span id="updated">{when(ctx.clock())}</span></p><table><thead><tr><th>job</th>'
            "<th>prompt</th><th>settings</th><th>by</th><th>status</th><th>place</th><th>asked</th></tr></thead>"
            f'<tbody id="queue-rows" data-events="{escape(events)}">{await rows(ctx, platform, workspace)}</tbody>'
            f"</table>{SCRIPT}")
    return page("Queue", body, session=session, where=(platform, workspace), active="queue")


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the queue's rows each time they change (looked at every `queue_interval` seconds)."""
    ctx = request.app[WEB]
    _, platform, workspace = ctx.scope(request)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    last = None
    try:
        while not ctx.stopping:
            html = await rows(ctx, platform, workspace)
            if html != last:
                await response.write(f"event: queue\ndata: {json.dumps({'html': html})}\n\n".encode())
                last = html
            else:
                await response.write(b": still here\n\n")  # finds a browser that went away
            await asyncio.sleep(ctx.queue_interval)
    except ConnectionResetError:
        pass
    return response


def add_routes(app: web.Application) -> None:
    """The queue page and its event stream."""
    app.router.add_get("/w/{platform}/{workspace}/queue", queue)
    app.router.add_get("/w/{platform}/{workspace}/queue/events", events)
