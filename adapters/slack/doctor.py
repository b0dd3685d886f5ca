"""The Slack part of `hailuo-bot doctor`: bot token and its scopes, app token or signing secret."""

from __future__ import annotations

import httpx

from bot.config import Settings
from bot.doctor import Finding

# The bot token scopes the app needs: exactly `oauth_config.scopes.bot` in slack/manifest.yml
# (tests/test_doctor.py holds the two equal).
BOT_SCOPES = ("commands", "chat:write", "chat:write.public", "channels:join", "files:write", "files:read",
              "app_mentions:read", "channels:history", "groups:history", "users:read")


async def check(settings: Settings) -> Finding:
    """Check SLACK_BOT_TOKEN and its scopes, then SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP)."""
    token = settings.slack_bot_token.get_secret_value()  # type: ignore[union-attr]
    async with httpx.AsyncClient(base_url=settings.slack_api_url, timeout=15) as http:
        try:
            auth = await http.post("auth.test", headers={"Authorization": f"Bearer {token}"})
            data = auth.json()
            if not data.get("ok"):
                return Finding("slack", False, f"Slack refused SLACK_BOT_TOKEN ({data.get('error')}). Copy the Bot "
                                               "User OAuth Token (xoxb-...) from the app's OAuth & Permissions page.")
            scopes = {s.strip() for s in auth.headers.get("x-oauth-scopes", "").split(",") if s.strip()}
            missing = [s for s in BOT_SCOPES if s not in scopes]
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
