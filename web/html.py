"""The page's HTML: one layout, escaping, and the small pieces every page shares."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

from aiohttp import web

from bot.jobs import Job
from web.sessions import Session

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2129}
header{background:#1d2129;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem;align-items:center}
header a{color:#fff;text-decoration:none}header a.on{border-bottom:2px solid #7aa7ff}
header .me{margin-left:auto;font-size:.9rem;opacity:.85}
main{padding:1.2rem;max-width:1100px;margin:auto}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:1rem}
.card{background:#fff;border-radius:8px;padding:.8rem;box-shadow:0 1px 3px #0002}
.card video{width:100%;border-radius:6px;background:#000}
.meta{font-size:.85rem;color:#555}.prompt{margin:.4rem 0;font-weight:500}
table{border-collapse:collapse;background:#fff;width:100%}td,th{padding:.4rem .6rem;border-bottom:1px solid #ddd;
text-align:left}form.inline{display:inline}.error{color:#b00020}.ok{color:#0a7a32}
input,select,button{font:inherit;padding:.25rem .4rem}fieldset{background:#fff;border:1px solid #ddd;
border-radius:8px;margin-bottom:1rem}.pager{margin:1rem 0;display:flex;gap:1rem}
"""


def page(title: str, body: str, *, session: Session | None = None, where: tuple[str, str] | None = None,
         active: str = "", status: int = 200) -> web.Response:
    """A whole HTML page around `body`, with the navigation for the workspace `where` (platform, workspace)."""
    nav = ""
    if session is not None and where is not None:
        base = workspace_url(*where)
        links = [("gallery", "Gallery"), ("queue", "Queue"), ("usage", "Usage")]
        if session.is_admin(*where):
            links.append(("admin", "Admin"))
        nav = "".join(f'<a href="{base}/{key}" class="{"on" if key == active else ""}">{label}</a>'
                      for key, label in links)
        nav += f'<a href="/">{escape(where[0])} / {escape(where[1])}</a>'
    me = ""
    if session is not None:
        me = (f'<span class="me">{escape(session.name or session.user_id)} '
              f'<form class="inline" method="post" action="/logout">{csrf_field(session)}'
              '<button type="submit">Sign out</button></form></span>')
    text = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)} · hailuo-bot</title>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'><style>{STYLE}</style></head>"
            f"<body><header><strong>hailuo-bot</strong>{nav}{me}</header><main><h1>{escape(title)}</h1>{body}"
            "</main></body></html>")
    return web.Response(text=text, content_type="text/html", status=status,
                        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"})


def workspace_url(platform: str, workspace_id: str) -> str:
    """The path every page of one workspace starts with."""
    return f"/w/{quote(platform, safe='')}/{quote(workspace_id, safe='')}"


def csrf_field(session: Session) -> str:
    """The hidden form field every POST must carry."""
    return f'<input type="hidden" name="csrf" value="{escape(session.csrf)}">'


def when(at: float) -> str:
    """A time as UTC, to the minute."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def who(job: Job) -> str:
    """The requester's name (or id), escaped."""
    return escape(job.user_name or job.user_id)


def post_link(job: Job) -> str:
    """A link to the chat post of a delivered video, when the platform has a web address for it."""
    if not job.delivered_ref:
        return ""
    channel, _, message = job.delivered_ref.partition("/")
    if job.platform == "discord":
        url = f"https://discord.com/channels/{quote(job.workspace_id)}/{quote(channel)}/{quote(message)}"
    elif job.platform == "slack":
        url = f"https://app.slack.com/client/{quote(job.workspace_id)}/{quote(channel)}"
    else:
        return ""
    return f'<a href="{escape(url)}" rel="noopener" target="_blank">chat post</a>'


def settings_of(job: Job) -> str:
    """A job's video settings in a few words."""
    r = job.request
    bits = [f"{r.duration} s", r.resolution]
    if r.fast:
        bits.append("Fast model")
    if r.first_frame is not None:
        bits.append("image")
    if not r.prompt_optimizer:
        bits.append("no optimizer")
    if r.fast_pretreatment:
        bits.append("fast")
    return ", ".join(bits)
