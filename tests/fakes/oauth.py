"""Local fakes of Slack's "Sign in with Slack" (OpenID Connect) and Discord's OAuth2 endpoints.

Both keep to the real wire formats and refuse what the real services refuse: a wrong client id or
secret, a redirect URI other than the one authorized, a code used twice, a token that is not theirs.
The "browser" part (the authorize page) signs in whoever the test named and redirects straight back.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web


@dataclass
class Person:
    """Who signs in at the fake's authorize page."""

    user_id: str
    name: str
    team_id: str = ""  # Slack
    guilds: list[dict[str, Any]] = field(default_factory=list)  # Discord: [{"id", "name", "owner", "permissions"}]
    slack_admin: bool = False


class FakeOAuth:
    """Slack OIDC at /slack (authorize) and /slack/api/ (Web API); Discord at /discord and /discord/api/v10."""

    def __init__(self, client_id: str = "cid", client_secret: str = "csecret", bot_token: str = "bot-token",
                 bot_team: str = "T1", bot_guilds: tuple[str, ...] = ()) -> None:
        self.client_id, self.client_secret, self.bot_token = client_id, client_secret, bot_token
        self.bot_team, self.bot_guilds = bot_team, list(bot_guilds)
        self.person: Person | None = None
        self._codes: dict[str, tuple[Person, str]] = {}  # code -> (person, redirect_uri)
        self._tokens: dict[str, Person] = {}
        self.calls: list[str] = []
        app = web.Application()
        app.router.add_get("/slack/openid/connect/authorize", self._authorize_slack)
        app.router.add_post("/slack/api/openid.connect.token", self._slack_token)
        app.router.add_post("/slack/api/openid.connect.userInfo", self._slack_userinfo)
        app.router.add_post("/slack/api/auth.test", self._slack_auth_test)
        app.router.add_get("/slack/api/users.info", self._slack_users_info)
        app.router.add_get("/discord/oauth2/authorize", self._authorize_discord)
        app.router.add_post("/discord/api/v10/oauth2/token", self._discord_token)
        app.router.add_get("/discord/api/v10/users/@me", self._discord_me)
        app.router.add_get("/discord/api/v10/users/@me/guilds", self._discord_guilds)
        self._runner = web.AppRunner(app)

    async def start(self) -> FakeOAuth:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.base = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self.slack_authorize_url = f"{self.base}/slack/openid/connect/authorize"
        self.slack_api_url = f"{self.base}/slack/api/"
        self.discord_authorize_url = f"{self.base}/discord/oauth2/authorize"
        self.discord_api_url = f"{self.base}/discord/api/v10"
        return self

    async def stop(self) -> None:
        await self._runner.cleanup()

    # -- the browser's part --------------------------------------------------------------------

    def _authorize(self, request: web.Request, scopes: set[str]) -> web.Response:
        q = request.query
        self.calls.append(f"authorize {q.get('scope')}")
        if q.get("client_id") != self.client_id or q.get("response_type") != "code" or not q.get("state"):
            return web.Response(status=400, text="invalid_request")
        if set(q.get("scope", "").split()) != scopes or not q.get("redirect_uri"):
            return web.Response(status=400, text="invalid_scope")
        if self.person is None:
            return web.Response(status=302, headers={"Location": q["redirect_uri"] + "?" + urlencode(
                {"error": "access_denied", "state": q["state"]})})
        code = secrets.token_urlsafe(12)
        self._codes[code] = (self.person, q["redirect_uri"])
        return web.Response(status=302, headers={"Location": q["redirect_uri"] + "?" + urlencode(
            {"code": code, "state": q["state"]})})

    async def _authorize_slack(self, request: web.Request) -> web.Response:
        return self._authorize(request, {"openid", "profile"})

    async def _authorize_discord(self, request: web.Request) -> web.Response:
        return self._authorize(request, {"identify", "guilds"})

    def _exchange(self, form: Any) -> Person | None:
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return None
        person, redirect = self._codes.pop(form.get("code", ""), (None, ""))
        return person if person is not None and form.get("redirect_uri") == redirect else None

    def _bearer(self, request: web.Request) -> Person | None:
        auth = request.headers.get("Authorization", "")
        return self._tokens.get(auth[7:]) if auth.startswith("Bearer ") else None

    # -- Slack ---------------------------------------------------------------------------------

    async def _slack_token(self, request: web.Request) -> web.Response:
        self.calls.append("openid.connect.token")
        person = self._exchange(await request.post())
        if person is None:
            return web.json_response({"ok": False, "error": "invalid_code"})
        token = "xoxp-" + secrets.token_urlsafe(12)
        self._tokens[token] = person
        return web.json_response({"ok": True, "access_token": token, "token_type": "Bearer",
                                  "id_token": "header.payload.signature"})

    async def _slack_userinfo(self, request: web.Request) -> web.Response:
        self.calls.append("openid.connect.userInfo")
        person = self._bearer(request)
        if person is None:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response({"ok": True, "sub": person.user_id, "https://slack.com/user_id": person.user_id,
                                  "https://slack.com/team_id": person.team_id, "name": person.name,
                                  "email_verified": False})

    async def _slack_auth_test(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.bot_token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response({"ok": True, "team_id": self.bot_team, "user_id": "UBOT"})

    async def _slack_users_info(self, request: web.Request) -> web.Response:
        self.calls.append("users.info")
        if request.headers.get("Authorization") != f"Bearer {self.bot_token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        person = self.person
        if person is None or request.query.get("user") != person.user_id:
            return web.json_response({"ok": False, "error": "user_not_found"})
        return web.json_response({"ok": True, "user": {"id": person.user_id, "is_admin": person.slack_admin,
                                                       "is_owner": False, "is_primary_owner": False}})

    # -- Discord -------------------------------------------------------------------------------

    async def _discord_token(self, request: web.Request) -> web.Response:
        self.calls.append("oauth2/token")
        form = await request.post()
        person = self._exchange(form) if form.get("grant_type") == "authorization_code" else None
        if person is None:
            return web.json_response({"error": "invalid_grant"}, status=400)
        token = secrets.token_urlsafe(12)
        self._tokens[token] = person
        return web.json_response({"access_token": token, "token_type": "Bearer", "expires_in": 604800,
                                  "refresh_token": "r", "scope": "identify guilds"})

    async def _discord_me(self, request: web.Request) -> web.Response:
        person = self._bearer(request)
        if person is None:
            return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        return web.json_response({"id": person.user_id, "username": person.name, "global_name": person.name,
                                  "discriminator": "0", "avatar": None})

    async def _discord_guilds(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") == f"Bot {self.bot_token}":
            return web.json_response([{"id": g, "name": f"guild {g}", "owner": False, "permissions": "0"}
                                      for g in self.bot_guilds])
        person = self._bearer(request)
        if person is None:
            return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        return web.json_response(person.guilds)
