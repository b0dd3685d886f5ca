"""`hailuo-bot doctor`: check every configured part and say in plain words what is wrong and how to fix it."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.config import Settings
from bot.providers.base import ProviderError
from bot.providers.factory import make_provider
from bot.providers.render import render_video
from bot.tasks import TaskSupervisor
from storage import Store

SLACK_SCOPES = ("commands", "chat:write", "chat:write.public", "channels:join", "files:write", "files:read",
                "app_mentions:read", "channels:history", "users:read")


@dataclass(frozen=True)
class Finding:
    """One check's verdict."""

    part: str
    ok: bool
    message: str


async def diagnose(settings: Settings) -> list[Finding]:
    """Run every check that applies to these settings."""
    findings = [await _database(settings), await _media(settings), await _encoder(), await _provider(settings)]
    if settings.discord_token is not None:
        findings.append(await _discord(settings))
    if settings.slack_bot_token is not None:
        findings.append(await _slack(settings))
    return findings


async def _database(settings: Settings) -> Finding:
    path = settings.database_path
    try:
        if path != ":memory:":
            Path(path).resolve().parent.mkdir(parents=True, exist_ok=True)
        store = await Store.open(path)
        try:
            version = await store.migrate()
            await store.backup(":memory:")  # reads every page: a corrupt file fails here
        finally:
            await store.close()
    except (sqlite3.Error, OSError) as exc:
        return Finding("database", False, f"cannot open and write {path} ({exc}). Check the file's and its "
                                          "folder's permissions, or point DATABASE_URL at a writable place.")
    return Finding("database", True, f"{path} is writable, schema version {version}")


async def _media(settings: Settings) -> Finding:
    media = Path(settings.media_dir)
    try:
        media.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=media):
            pass
    except OSError as exc:
        return Finding("media", False, f"cannot write videos to {media} ({exc.strerror}). Fix its permissions "
                                       "or set MEDIA_DIR.")
    return Finding("media", True, f"{media} is writable")


async def _encoder() -> Finding:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "check.mp4"
        try:
            await asyncio.to_thread(render_video, out, prompt="check", duration=6, resolution="768P", fps=1)
        except Exception as exc:
            return Finding("encoder", False, f"PyAV cannot encode H.264 ({exc}); reinstall the `av` package.")
    return Finding("encoder", True, "PyAV encodes H.264")


async def _provider(settings: Settings) -> Finding:
    supervisor = TaskSupervisor()
    try:
        provider = make_provider(settings, supervisor=supervisor, state_dir=Path(tempfile.gettempdir()))
    except ValueError as exc:
        return Finding("provider", False, f"{exc}.")
    try:
        check = getattr(provider, "check", None)
        if check is None:
            return Finding("provider", True, "local (renders on this machine; not an AI model)")
        return Finding("provider", True, await check())
    except ProviderError as exc:
        from bot.cli.commands import provider_problem

        return Finding("provider", False, provider_problem(settings, exc))
    finally:
        await provider.aclose()
        await supervisor.aclose()


async def _discord(settings: Settings) -> Finding:
    from adapters.discord.invite import invite_url
    from adapters.discord.translate import PERMISSIONS, PERMISSIONS_INTEGER

    token = settings.discord_token.get_secret_value()  # type: ignore[union-attr]
    async with httpx.AsyncClient(base_url=settings.discord_api_base_url.rstrip("/") + "/",
                                 headers={"Authorization": f"Bot {token}"}, timeout=15) as http:
        try:
            me = await http.get("users/@me")
            if me.status_code == 401:
                return Finding("discord", False, "Discord refused DISCORD_TOKEN. Reset the token on the Developer "
                                                 "Portal's Bot page and set it again.")
            me.raise_for_status()
            bot_id = me.json()["id"]
            invite = invite_url(bot_id)
            guilds = (await http.get("users/@me/guilds")).json()
            if not guilds:
                return Finding("discord", False, f"the bot is in no server yet. Invite it: {invite}")
            problems = []
            for guild in guilds:
                have = await _guild_permissions(http, guild["id"], bot_id)
                if have & (1 << 3):  # Administrator has every permission
                    continue
                missing = [name.replace("_", " ").title() for name, bit in PERMISSIONS.items() if not have & bit]
                if missing:
                    problems.append(f"in {guild.get('name', guild['id'])} it lacks {', '.join(missing)}")
            scopes = [f"applications/{bot_id}/guilds/{g}/commands" for g in settings.guild_ids] or \
                [f"applications/{bot_id}/commands"]
            for path in scopes:
                names = {c.get("name") for c in (await http.get(path)).json()}
                if not {"video", "video-quota", "video-history", "video-admin", "Animate image"} <= names:
                    problems.append("its commands are not registered yet (`hailuo-bot run` registers them when it "
                                    "starts)")
                    break
            wanted = [str(g) for g in settings.guild_ids]
            absent = [g for g in wanted if g not in {str(x["id"]) for x in guilds}]
            if absent:
                problems.append(f"it is not in the DISCORD_GUILD_IDS server(s) {', '.join(absent)}")
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            return Finding("discord", False, f"could not reach Discord at {settings.discord_api_base_url} "
                                             f"({type(exc).__name__}).")
    if problems:
        return Finding("discord", False, "; ".join(problems) + f". Fix it by inviting it again: {invite} "
                       f"(permissions {PERMISSIONS_INTEGER})")
    return Finding("discord", True, f"logged in as {me.json().get('username')}, in {len(guilds)} server(s) with the "
                                    "permissions it needs")


async def _guild_permissions(http: httpx.AsyncClient, guild_id: str, bot_id: str) -> int:
    roles = {r["id"]: int(r["permissions"]) for r in (await http.get(f"guilds/{guild_id}/roles")).json()}
    member = (await http.get(f"guilds/{guild_id}/members/{bot_id}")).json()
    value = roles.get(guild_id, 0)  # @everyone has the guild's id
    for role in member.get("roles", []):
        value |= roles.get(role, 0)
    return value


async def _slack(settings: Settings) -> Finding:
    token = settings.slack_bot_token.get_secret_value()  # type: ignore[union-attr]
    async with httpx.AsyncClient(base_url=settings.slack_api_url, timeout=15) as http:
        try:
            auth = await http.post("auth.test", headers={"Authorization": f"Bearer {token}"})
            data = auth.json()
            if not data.get("ok"):
                return Finding("slack", False, f"Slack refused SLACK_BOT_TOKEN ({data.get('error')}). Copy the Bot "
                                               "User OAuth Token (xoxb-...) from the app's OAuth & Permissions page.")
            scopes = {s.strip() for s in auth.headers.get("x-oauth-scopes", "").split(",") if s.strip()}
            missing = [s for s in SLACK_SCOPES if s not in scopes]
            if missing:
                return Finding("slack", False, f"the bot token lacks the scope(s) {', '.join(missing)}. Add them "
                                               "(or recreate the app from slack/manifest.yml) and reinstall the app.")
            if settings.slack_app_token is not None:
                app = await http.post("apps.connections.open", headers={
                    "Authorization": f"Bearer {settings.slack_app_token.get_secret_value()}"})
                if not app.json().get("ok"):
                    return Finding("slack", False, f"Slack refused SLACK_APP_TOKEN ({app.json().get('error')}). "
                                                   "Create an app-level token with connections:write.")
            elif settings.slack_signing_secret is None:
                return Finding("slack", False, "set SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP).")
        except (httpx.HTTPError, ValueError) as exc:
            return Finding("slack", False, f"could not reach Slack at {settings.slack_api_url} ({type(exc).__name__}).")
    mode = "Socket Mode" if settings.slack_app_token is not None else f"HTTP on port {settings.slack_port}"
    return Finding("slack", True, f"workspace {data.get('team')} as {data.get('user')}, {mode}, scopes complete")
