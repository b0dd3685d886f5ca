"""Admin: daily credits, the workspace's budget, blocked members and the channel allow-list, through the chat's
own admin commands.

Each change is a CommandRequest(command="admin") handed to bot.admin.handle_admin, exactly as a chat admin
command is, so it lands in the admin log with who made it. The budget form sets this workspace's own daily
dollar cap (`budget USD|off`); the bot-wide BUDGET_DAILY_USD is the operator's setting, shown, not changed here.
"""

from __future__ import annotations

import re
from html import escape

from aiohttp import web

from bot.admin import AdminScope, handle_admin
from bot.commands import CommandRequest
from web.context import WEB, WebContext
from web.html import csrf_field, page, workspace_url
from web.sessions import Session, csrf_ok

_REF = re.compile(r"<(user|channel):([^>]*)>")


def plain(text: str, names: dict[str, str]) -> str:
    """A core reply as escaped HTML, its neutral references written @name and #channel."""
    def one(m: re.Match[str]) -> str:
        return f"@{names.get(m[2]) or m[2]}" if m[1] == "user" else f"#{m[2]}"

    return escape(_REF.sub(one, str(text))).replace("\n", "<br>")


async def _ask(ctx: WebContext, session: Session, platform: str, workspace: str, *args: str) -> tuple[bool, str]:
    req = CommandRequest(platform=platform, workspace_id=workspace, channel_id="", user_id=session.user_id,
                         user_name=session.name, command="admin", args=tuple(args),
                         is_admin=session.is_admin(platform, workspace))
    reply = await handle_admin(AdminScope(ctx.settings, ctx.store, ctx.clock), req)
    return reply.ok, str(reply.text)


def _args(form: dict[str, str]) -> tuple[str, ...] | None:
    action, user, channel = form.get("action", ""), form.get("user", "").strip(), form.get("channel", "").strip()
    if action == "quota":
        credits = form.get("credits", "").strip()
        return ("quota", "set", credits, user) if user else ("quota", "set", credits)
    if action in ("block", "unblock") and user:
        return (action, user)
    if action in ("allow", "remove") and channel:
        return ("channels", action, channel)
    if action == "budget":  # the core refuses a value that is not dollars, in the same words as in the chat
        usd = form.get("usd", "").strip()
        return ("budget", "off") if form.get("off") else (("budget", usd) if usd else None)
    return None


async def _render(request: web.Request, said: str = "", ok: bool = True, status: int = 200) -> web.Response:
    ctx = request.app[WEB]
    session, platform, workspace = ctx.scope(request)
    names = dict(await ctx.store.workspace_members(platform, workspace))
    base = workspace_url(platform, workspace)
    options = "".join(f'<option value="{escape(u)}">{escape(n or u)}</option>' for u, n in names.items())
    csrf = csrf_field(session)
    summary = [plain((await _ask(ctx, session, platform, workspace, *a))[1], names)
               for a in (("quota",), ("channels",), ("budget",))]
    log = (await _ask(ctx, session, platform, workspace, "log"))[1]
    body = (f'<p id="said" class="{"ok" if ok else "error"}">{plain(said, names)}</p>' if said else "")
    body += (f'<p>{summary[0]}</p><p>{summary[1]}</p><p id="budget">{summary[2]}</p>'
             f'<fieldset><legend>Daily credits</legend><form method="post" action="{base}/admin" id="quota-form">'
             f'{csrf}<input type="hidden" name="action" value="quota"><input name="credits" type="number" min="0" '
             f'required placeholder="credits"> for <input name="user" list="members" placeholder="user id (empty: '
             f'whole workspace)"> <button type="submit">Set</button></form></fieldset>'
             f'<datalist id="members">{options}</datalist>'
             f'<fieldset><legend>Daily budget of this workspace</legend><form method="post" action="{base}/admin" '
             f'id="budget-form">{csrf}<input type="hidden" name="action" value="budget">$<input name="usd" '
             'type="number" min="0" step="0.01" placeholder="US dollars a day"> <button type="submit" id="budget-set">'
             'Set</button> <button type="submit" name="off" value="1" id="budget-off" formnovalidate>Remove</button>'
             '</form> (the bot-wide limit is the operator\'s BUDGET_DAILY_USD setting)</fieldset>'
             f'<fieldset><legend>Block or unblock a member</legend><form method="post" action="{base}/admin">{csrf}'
             '<input name="user" list="members" required placeholder="user id"> <select name="action">'
             '<option value="block">block</option><option value="unblock">unblock</option></select> '
             '<button type="submit">Apply</button></form></fieldset>'
             f'<fieldset><legend>Channel allow-list</legend><form method="post" action="{base}/admin">{csrf}'
             '<input name="channel" required placeholder="channel id"> <select name="action">'
             '<option value="allow">allow</option><option value="remove">remove</option></select> '
             '<button type="submit">Apply</button></form></fieldset>'
             f'<h2>Admin log</h2><pre id="admin-log">{plain(log, names)}</pre>')
    return page("Admin", body, session=session, where=(platform, workspace), active="admin", status=status)


async def admin_page(request: web.Request) -> web.Response:
    """The admin page, for the workspace's admins only."""
    ctx = request.app[WEB]
    session, platform, workspace = ctx.scope(request)
    if not session.is_admin(platform, workspace):
        raise web.HTTPForbidden(text="only workspace admins may open the admin page")
    return await _render(request)


async def admin_change(request: web.Request) -> web.Response:
    """One change, refused without the session's CSRF token, carried out by the chat's admin command."""
    ctx = request.app[WEB]
    session, platform, workspace = ctx.scope(request)
    form = {k: str(v) for k, v in (await request.post()).items()}
    if not csrf_ok(session, form.get("csrf")):
        raise web.HTTPForbidden(text="missing or wrong CSRF token: nothing was changed")
    if not session.is_admin(platform, workspace):
        raise web.HTTPForbidden(text="only workspace admins may change settings")
    args = _args(form)
    if args is None:
        return await _render(request, "Say what to change.", ok=False, status=400)
    ok, said = await _ask(ctx, session, platform, workspace, *args)
    return await _render(request, said, ok, status=200 if ok else 400)


def add_routes(app: web.Application) -> None:
    """The admin page and its form posts."""
    app.router.add_get("/w/{platform}/{workspace}/admin", admin_page)
    app.router.add_post("/w/{platform}/{workspace}/admin", admin_change)
