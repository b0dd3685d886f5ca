"""One-time login links (`hailuo-bot web-login`): made here, kept in the database, honoured by any process."""

from __future__ import annotations

import argparse
import getpass
import hashlib
import secrets

from bot.config import Settings
from bot.store import Store, WebLogin


def token_hash(token: str) -> str:
    """What the database keeps of a link's token: a leaked table signs nobody in."""
    return hashlib.sha256(token.encode()).hexdigest()


def base_url(settings: Settings) -> str:
    """Where the page is reached: PUBLIC_BASE_URL, else this machine on WEB_PORT."""
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    return f"http://localhost:{settings.web_port or 8080}"


async def issue_link(store: Store, settings: Settings, login: WebLogin, now: float) -> str:
    """A new single-use link that signs in as `login`, valid for WEB_LOGIN_MINUTES."""
    token = secrets.token_urlsafe(32)
    await store.put_web_login(token_hash(token), login, now + settings.web_login_minutes * 60)
    return f"{base_url(settings)}/auth/link/{token}"


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `web-login` on the main parser."""
    p = sub.add_parser("web-login", help="print a one-time link that signs the operator in to the web page")
    p.add_argument("--platform", default="console", help="discord, slack or console (default console)")
    p.add_argument("--workspace", default="local", help="the guild id, Slack team id, or `local` (the default)")
    p.add_argument("--user", default=None, help="the user id to act as (default: your OS user name)")


def login_of(args: argparse.Namespace) -> WebLogin:
    """The operator `web-login`'s options name, with admin rights over that workspace."""
    return WebLogin(args.platform, args.workspace, args.user or getpass.getuser(), is_admin=True)
