"""The Discord part of `hailuo-bot doctor`: token, servers, permissions, registered commands."""

from __future__ import annotations

import httpx

from adapters.discord.invite import invite_url
from adapters.discord.translate import PERMISSIONS, PERMISSIONS_INTEGER
from bot.config import Settings
from bot.doctor import Finding


async def check(settings: Settings) -> Finding:
    """Log in with DISCORD_TOKEN and check the servers, the permissions and the registered commands."""
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
