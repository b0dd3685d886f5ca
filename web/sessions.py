"""Signed session cookies and CSRF tokens: who is signed in, and to which workspaces."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import asdict, dataclass, field

from aiohttp import web

from bot.config import Settings

log = logging.getLogger(__name__)

COOKIE = "hailuo_session"
SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Session:
    """A signed-in person: their platform identity and the workspaces they may see (and administer)."""

    platform: str
    user_id: str
    name: str
    workspaces: dict[str, bool] = field(default_factory=dict)  # "platform/workspace" -> is admin there
    csrf: str = ""
    expires: float = 0.0

    def may_see(self, platform: str, workspace_id: str) -> bool:
        """True when the workspace is one of this person's."""
        return f"{platform}/{workspace_id}" in self.workspaces

    def is_admin(self, platform: str, workspace_id: str) -> bool:
        """True when this person may use admin commands in the workspace."""
        return self.workspaces.get(f"{platform}/{workspace_id}", False)


def web_secret(settings: Settings) -> bytes:
    """WEB_SECRET, or one derived from the other secrets; a random one (sessions end on restart) when none is set."""
    if settings.web_secret is not None:
        return settings.web_secret.get_secret_value().encode()
    parts = [s.get_secret_value() for s in (settings.slack_client_secret, settings.discord_client_secret,
                                            settings.slack_signing_secret, settings.discord_token,
                                            settings.callback_secret, settings.minimax_api_key) if s is not None]
    if parts:
        return hashlib.sha256(("hailuo-web\0" + "\0".join(parts)).encode()).digest()
    log.warning("WEB_SECRET is not set and there is no other secret to derive it from: web sessions end when this "
                "process stops and are not shared between processes; set WEB_SECRET")
    return secrets.token_bytes(32)


def _sign(secret: bytes, payload: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(secret, payload, hashlib.sha256).digest()).decode().rstrip("=")


def encode(secret: bytes, data: dict[str, object]) -> str:
    """`data` as a cookie value: base64 JSON, a dot, and its HMAC-SHA256."""
    payload = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{payload}.{_sign(secret, payload.encode())}"


def decode(secret: bytes, value: str) -> dict[str, object] | None:
    """The data `encode` signed, or None when the value was not signed with `secret`."""
    payload, _, signature = value.partition(".")
    if not signature or not hmac.compare_digest(signature, _sign(secret, payload.encode())):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def secure(settings: Settings) -> bool:
    """Cookies are marked Secure when the page is served over https."""
    return (settings.public_base_url or "").lower().startswith("https://")


def read_session(request: web.Request, secret: bytes, now: float) -> Session | None:
    """The request's session, or None when there is none, it is forged or it has expired."""
    data = decode(secret, request.cookies.get(COOKIE, ""))
    if data is None:
        return None
    try:
        session = Session(**data)  # type: ignore[arg-type]
    except TypeError:
        return None
    return session if session.expires > now else None


def start_session(response: web.StreamResponse, secret: bytes, settings: Settings, now: float, *, platform: str,
                  user_id: str, name: str, workspaces: dict[str, bool]) -> Session:
    """Sign a new session (with a fresh CSRF token) into the response's cookie."""
    session = Session(platform, user_id, name, workspaces, secrets.token_urlsafe(24), now + SESSION_SECONDS)
    response.set_cookie(COOKIE, encode(secret, asdict(session)), max_age=SESSION_SECONDS, httponly=True,
                        samesite="Lax", secure=secure(settings), path="/")
    return session


def end_session(response: web.StreamResponse) -> None:
    """Forget the session cookie."""
    response.del_cookie(COOKIE, path="/")


def csrf_ok(session: Session, form_token: object) -> bool:
    """True when a POST carries this session's CSRF token."""
    return isinstance(form_token, str) and bool(session.csrf) and hmac.compare_digest(form_token, session.csrf)
