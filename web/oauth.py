"""Sign-in: Slack (OpenID Connect), Discord (OAuth2) and one-time links; sign-out."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from html import escape
from urllib.parse import urlencode

import httpx
from aiohttp import web

from web.context import WEB, WebContext, redirect
from web.html import page, workspace_url
from web.login import token_hash
from web.sessions import csrf_ok, decode, encode, end_session, start_session

log = logging.getLogger(__name__)

STATE_COOKIE = "hailuo_oauth_state"
Handler = Callable[[web.Request], Awaitable[web.Response]]
MANAGE_GUILD, ADMINISTRATOR = 0x20, 0x8


def _redirect_uri(ctx: WebContext, request: web.Request, platform: str) -> str:
    base = (ctx.settings.public_base_url or f"{request.scheme}://{request.host}").rstrip("/")
    return f"{base}/auth/{platform}/callback"


def _begin(ctx: WebContext, request: web.Request, platform: str, authorize: str,
           params: dict[str, str]) -> web.Response:
    state = secrets.token_urlsafe(24)
    query = urlencode({"response_type": "code", "state": state, "redirect_uri": _redirect_uri(ctx, request, platform),
                       **params})
    response = redirect(f"{authorize}?{query}")
    response.set_cookie(STATE_COOKIE, encode(ctx.secret, {"state": state, "platform": platform}), max_age=600,
                        httponly=True, samesite="Lax", secure=ctx.secure, path="/auth/")
    return response


def _state_ok(ctx: WebContext, request: web.Request, platform: str) -> bool:
    kept = decode(ctx.secret, request.cookies.get(STATE_COOKIE, "")) or {}
    given = request.query.get("state", "")
    return bool(given) and kept.get("platform") == platform and secrets.compare_digest(str(kept.get("state")), given)


def _guarded(platform: str, handler: Handler) -> Handler:
    """A sign-in callback whose trouble reaching the platform (or an answer it cannot read) is said plainly."""
    async def guarded(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("%s sign-in failed: %s", platform, type(exc).__name__)
            return _refused(f"{platform.title()} could not be asked who you are; try again in a moment.")

    return guarded


def _refused(reason: str) -> web.Response:
    return page("Sign-in refused", f'<p class="error">{escape(reason)}</p><p><a href="/login">Try again</a></p>',
                status=403)


async def login_page(request: web.Request) -> web.Response:
    """The ways to sign in that this install offers."""
    s = request.app[WEB].settings
    options = []
    if s.slack_client_id:
        options.append('<p><a href="/auth/slack">Sign in with Slack</a></p>')
    if s.discord_client_id:
        options.append('<p><a href="/auth/discord">Sign in with Discord</a></p>')
    options.append("<p>Single-operator install: run <code>hailuo-bot web-login</code> and open the link it prints.</p>")
    return page("Sign in", "".join(options))


async def slack_begin(request: web.Request) -> web.Response:
    """Send the browser to Slack's OpenID Connect authorization page."""
    ctx = request.app[WEB]
    if not ctx.settings.slack_client_id:
        raise web.HTTPNotFound()
    return _begin(ctx, request, "slack", ctx.settings.slack_authorize_url,
                  {"scope": "openid profile", "client_id": ctx.settings.slack_client_id,
                   "nonce": secrets.token_urlsafe(12)})


async def slack_callback(request: web.Request) -> web.Response:
    """Trade Slack's code for the member's identity; admin when Slack says so or SLACK_ADMIN_USER_IDS names them."""
    ctx = request.app[WEB]
    s = ctx.settings
    if not s.slack_client_id or s.slack_client_secret is None or not _state_ok(ctx, request, "slack"):
        return _refused("The sign-in could not be verified (it expired or did not start here).")
    api = s.slack_api_url.rstrip("/") + "/"
    async with httpx.AsyncClient(timeout=10) as http:
        token = (await http.post(api + "openid.connect.token", data={
            "client_id": s.slack_client_id, "client_secret": s.slack_client_secret.get_secret_value(),
            "code": request.query.get("code", ""), "redirect_uri": _redirect_uri(ctx, request, "slack")})).json()
        if not token.get("ok") or not token.get("access_token"):
            return _refused(f"Slack refused the sign-in ({token.get('error', 'no token')}).")
        info = (await http.post(api + "openid.connect.userInfo",
                                headers={"Authorization": f"Bearer {token['access_token']}"})).json()
        user = info.get("https://slack.com/user_id") or info.get("sub")
        team = info.get("https://slack.com/team_id")
        if not info.get("ok") or not user or not team:
            return _refused("Slack did not say who you are.")
        admin = user in {u.strip() for u in s.slack_admin_user_ids.split(",") if u.strip()}
        if s.slack_bot_token is not None:
            bot = {"Authorization": f"Bearer {s.slack_bot_token.get_secret_value()}"}
            served = (await http.post(api + "auth.test", headers=bot)).json()
            if served.get("ok") and served.get("team_id") and served["team_id"] != team:
                return _refused("This bot does not serve your Slack workspace.")
            if not admin:
                member = ((await http.get(api + "users.info", params={"user": user}, headers=bot)).json()
                          .get("user") or {})
                admin = bool(member.get("is_admin") or member.get("is_owner") or member.get("is_primary_owner"))
    response = redirect(workspace_url("slack", team) + "/gallery")
    start_session(response, ctx.secret, s, ctx.clock(), platform="slack", user_id=user,
                  name=str(info.get("name") or user), workspaces={f"slack/{team}": admin})
    response.del_cookie(STATE_COOKIE, path="/auth/")
    return response


async def discord_begin(request: web.Request) -> web.Response:
    """Send the browser to Discord's OAuth2 authorization page."""
    ctx = request.app[WEB]
    if not ctx.settings.discord_client_id:
        raise web.HTTPNotFound()
    return _begin(ctx, request, "discord", ctx.settings.discord_authorize_url,
                  {"scope": "identify guilds", "client_id": ctx.settings.discord_client_id, "prompt": "none"})


async def discord_callback(request: web.Request) -> web.Response:
    """Trade Discord's code for the member and their servers that the bot serves; admin with Manage Server."""
    ctx = request.app[WEB]
    s = ctx.settings
    if not s.discord_client_id or s.discord_client_secret is None or not _state_ok(ctx, request, "discord"):
        return _refused("The sign-in could not be verified (it expired or did not start here).")
    api = s.discord_api_base_url.rstrip("/")
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(f"{api}/oauth2/token", data={
            "grant_type": "authorization_code", "code": request.query.get("code", ""),
            "redirect_uri": _redirect_uri(ctx, request, "discord"), "client_id": s.discord_client_id,
            "client_secret": s.discord_client_secret.get_secret_value()})
        access = answer.json().get("access_token") if answer.status_code == 200 else None
        if not access:
            return _refused("Discord refused the sign-in.")
        bearer = {"Authorization": f"Bearer {access}"}
        me = (await http.get(f"{api}/users/@me", headers=bearer)).json()
        guilds = (await http.get(f"{api}/users/@me/guilds", headers=bearer)).json()
        served = set(map(str, s.guild_ids))
        if s.discord_token is not None:
            bot = await http.get(f"{api}/users/@me/guilds",
                                 headers={"Authorization": f"Bot {s.discord_token.get_secret_value()}"})
            if bot.status_code == 200:
                served |= {str(g["id"]) for g in bot.json()}
    mine = {f"discord/{g['id']}": bool(g.get("owner")) or bool(int(g.get("permissions") or 0)
                                                                   & (MANAGE_GUILD | ADMINISTRATOR))
            for g in guilds if str(g.get("id")) in served}
    if not me.get("id") or not mine:
        return _refused("You are in no Discord server this bot serves.")
    first = next(iter(mine)).split("/", 1)[1]
    response = redirect(workspace_url("discord", first) + "/gallery")
    start_session(response, ctx.secret, s, ctx.clock(), platform="discord", user_id=str(me["id"]),
                  name=str(me.get("global_name") or me.get("username") or me["id"]), workspaces=mine)
    response.del_cookie(STATE_COOKIE, path="/auth/")
    return response


async def link_page(request: web.Request) -> web.Response:
    """A one-time link asks for one click: a link previewer fetching the URL must not spend it."""
    token = escape(request.match_info["token"])
    return page("Sign in", f'<form method="post" action="/auth/link/{token}">'
                           '<button type="submit" id="use-link">Sign in with this one-time link</button></form>')


async def link_use(request: web.Request) -> web.Response:
    """Spend a one-time link (once, before it expires) and sign in as whom `web-login` named."""
    ctx = request.app[WEB]
    login = await ctx.store.take_web_login(token_hash(request.match_info["token"]), ctx.clock())
    if login is None:
        return _refused("This link is unknown, already used or expired; run hailuo-bot web-login for a new one.")
    response = redirect(workspace_url(login.platform, login.workspace_id) + "/gallery")
    start_session(response, ctx.secret, ctx.settings, ctx.clock(), platform=login.platform, user_id=login.user_id,
                  name=login.user_id, workspaces={f"{login.platform}/{login.workspace_id}": login.is_admin})
    return response


async def logout(request: web.Request) -> web.Response:
    """Sign out (a POST with the CSRF token)."""
    ctx = request.app[WEB]
    session = ctx.session(request)
    if session is None or not csrf_ok(session, (await request.post()).get("csrf")):
        raise web.HTTPForbidden(text="missing or wrong CSRF token")
    response = redirect("/login")
    end_session(response)
    return response


def add_routes(app: web.Application) -> None:
    """The sign-in routes."""
    app.router.add_get("/login", login_page)
    app.router.add_get("/auth/slack", slack_begin)
    app.router.add_get("/auth/slack/callback", _guarded("slack", slack_callback))
    app.router.add_get("/auth/discord", discord_begin)
    app.router.add_get("/auth/discord/callback", _guarded("discord", discord_callback))
    app.router.add_get("/auth/link/{token}", link_page)
    app.router.add_post("/auth/link/{token}", link_use)
    app.router.add_post("/logout", logout)
