"""Sign-in to the web page over plain HTTP: Slack OpenID Connect and Discord OAuth2 against local fakes,
one-time links, the session cookie's protections, and one port for the page, health and metrics."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from storage import open_store
from tests.conftest import make_settings
from tests.fakes.oauth import FakeOAuth, Person
from tests.fakes.oauth_site import start_site
from web.sessions import COOKIE

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def fake():
    server = await FakeOAuth(bot_team="T1", bot_guilds=("G1", "G2")).start()
    yield server
    await server.stop()


@pytest.fixture
async def site(tmp_path: Path, fake: FakeOAuth):
    settings = make_settings(
        tmp_path, web_secret="test-web-secret", slack_client_id="cid", slack_client_secret="csecret",
        slack_authorize_url=fake.slack_authorize_url, slack_api_url=fake.slack_api_url, slack_bot_token="bot-token",
        discord_client_id="cid", discord_client_secret="csecret", discord_authorize_url=fake.discord_authorize_url,
        discord_api_base_url=fake.discord_api_url, discord_token="bot-token")
    store = await open_store(settings.database_url)
    running = await start_site(settings, store)
    yield running
    await running.stop()
    await store.close()


def browser() -> aiohttp.ClientSession:
    """A client that keeps cookies for 127.0.0.1, as a browser does."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def test_slack_sign_in_sees_its_own_workspace_only(site, fake: FakeOAuth) -> None:
    fake.person = Person("U1", "Ada", team_id="T1")
    async with browser() as http:
        async with http.get(site.base + "/auth/slack") as r:
            assert r.status == 200
            assert str(r.url) == site.base + "/w/slack/T1/gallery"
        assert fake.calls[:3] == ["authorize openid profile", "openid.connect.token", "openid.connect.userInfo"]
        async with http.get(site.base + "/w/slack/T2/gallery") as r:
            assert r.status == 404  # another workspace: no such page
        async with http.get(site.base + "/w/slack/T1/admin", allow_redirects=False) as r:
            assert r.status == 403  # a member, not an admin
        async with http.get(site.base + "/w/slack/T1/queue") as r:
            assert r.status == 200 and "Admin</a>" not in await r.text()


async def test_slack_workspace_admins_get_the_admin_page(site, fake: FakeOAuth) -> None:
    fake.person = Person("U9", "Grace", team_id="T1", slack_admin=True)
    async with browser() as http:
        await (await http.get(site.base + "/auth/slack")).release()
        assert "users.info" in fake.calls
        async with http.get(site.base + "/w/slack/T1/admin") as r:
            assert r.status == 200 and "Daily credits" in await r.text()


async def test_slack_sign_in_from_a_workspace_the_bot_does_not_serve_is_refused(site, fake: FakeOAuth) -> None:
    fake.person = Person("U5", "Eve", team_id="TOTHER")
    async with browser() as http:
        async with http.get(site.base + "/auth/slack") as r:
            assert r.status == 403 and "does not serve" in await r.text()
            assert COOKIE not in {c.key for c in http.cookie_jar}


async def test_discord_sign_in_gives_served_guilds_and_admin_by_manage_server(site, fake: FakeOAuth) -> None:
    fake.person = Person("42", "lin", guilds=[
        {"id": "G1", "name": "one", "owner": False, "permissions": str(0x20)},  # Manage Server
        {"id": "G2", "name": "two", "owner": False, "permissions": "1024"},
        {"id": "G3", "name": "not served", "owner": True, "permissions": "8"}])
    async with browser() as http:
        async with http.get(site.base + "/auth/discord") as r:
            assert r.status == 200 and str(r.url) == site.base + "/w/discord/G1/gallery"
        assert fake.calls[:2] == ["authorize identify guilds", "oauth2/token"]
        assert (await http.get(site.base + "/w/discord/G1/admin")).status == 200
        assert (await http.get(site.base + "/w/discord/G2/admin", allow_redirects=False)).status == 403
        assert (await http.get(site.base + "/w/discord/G2/usage")).status == 200
        assert (await http.get(site.base + "/w/discord/G3/gallery")).status == 404  # the bot is not there


async def test_a_callback_without_the_state_it_started_with_is_refused(site, fake: FakeOAuth) -> None:
    fake.person = Person("U1", "Ada", team_id="T1")
    async with browser() as http:
        async with http.get(site.base + "/auth/slack", allow_redirects=False) as r:
            authorize = r.headers["Location"]
        async with http.get(authorize, allow_redirects=False) as r:
            callback = r.headers["Location"]
        forged = re.sub(r"state=[^&]+", "state=forged", callback)
        async with http.get(forged) as r:
            assert r.status == 403
        async with http.get(callback) as r:
            assert r.status == 200  # the real one still works once
        async with browser() as other, other.get(callback) as r:
            assert r.status == 403  # no state cookie in another browser (and the code is spent)


async def test_one_time_link_signs_in_once_with_safe_cookie(site) -> None:
    link = await site.link("console", "local", "operator", admin=True)
    async with browser() as http:
        async with http.post(link, allow_redirects=False) as r:
            assert r.status == 302 and r.headers["Location"] == "/w/console/local/gallery"
            cookie = r.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
        assert (await http.get(site.base + "/w/console/local/admin")).status == 200
    async with browser() as http, http.post(link) as r:
        assert r.status == 403  # single use


async def test_cookies_are_secure_behind_https_and_forged_ones_sign_nobody_in(site) -> None:
    site.settings = site.settings.model_copy(update={"public_base_url": "https://bot.example.com"})
    from web.context import WEB

    ctx = site.runner.app[WEB]
    ctx.settings, ctx.secure = site.settings, True
    link = await site.link("console", "local", "operator", admin=False)
    assert link.startswith(site.base + "/auth/link/")
    async with browser() as http, http.post(link, allow_redirects=False) as r:
        assert "Secure" in r.headers["Set-Cookie"]
        value = r.cookies[COOKIE].value
    payload, _, sig = value.partition(".")
    async with browser() as http:
        http.cookie_jar.update_cookies({COOKIE: payload + "." + sig[::-1]})
        async with http.get(site.base + "/w/console/local/gallery", allow_redirects=False) as r:
            assert r.status == 302 and r.headers["Location"] == "/login"


async def test_an_expired_link_is_refused(site) -> None:
    from bot.store import WebLogin
    from web.login import token_hash

    await site.store.put_web_login(token_hash("old"), WebLogin("console", "local", "op", True), time.time() - 1)
    async with browser() as http, http.post(site.base + "/auth/link/old") as r:
        assert r.status == 403


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_serves_page_health_metrics_on_web_port_and_web_login_links_work(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "MEDIA_DIR": str(tmp_path / "v"),
           "WEB_PORT": str(port), "WEB_SECRET": "s3cret", "HAILUO_PROVIDER": "local"}
    for name in ("DISCORD_TOKEN", "SLACK_BOT_TOKEN", "METRICS_PORT", "PUBLIC_BASE_URL"):
        env.pop(name, None)
    made = subprocess.run([sys.executable, "-m", "bot", "web-login"], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    link = made.stdout.strip()
    assert link.startswith(f"http://localhost:{port}/auth/link/") and "works once" in made.stderr
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env={**env, "PYTHONPATH": str(ROOT)}, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            assert b"hailuo" in r.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as r:
            assert b"web-login" in r.read()
        local = link.replace(f"http://localhost:{port}", f"http://127.0.0.1:{port}")
        request = urllib.request.Request(local, method="POST", data=b"")

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None

        try:
            urllib.request.build_opener(NoRedirect).open(request, timeout=5)
            raise AssertionError("expected a redirect")
        except urllib.error.HTTPError as exc:
            assert exc.code == 302 and exc.headers["Location"] == "/w/console/local/gallery"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def test_a_platform_that_cannot_be_reached_is_said_plainly(site, fake: FakeOAuth) -> None:
    from web.context import WEB

    fake.person = Person("U1", "Ada", team_id="T1")
    ctx = site.runner.app[WEB]
    ctx.settings = ctx.settings.model_copy(update={"slack_api_url": f"http://127.0.0.1:{_free_port()}/api/"})
    async with browser() as http, http.get(site.base + "/auth/slack") as r:
        assert r.status == 403 and "could not be asked" in await r.text()
        assert COOKIE not in {c.key for c in http.cookie_jar}
