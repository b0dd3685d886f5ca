"""What every handler of the page shares: settings, store, clock and the cookie secret; who is asking."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from bot.config import Settings
from bot.store import Store
from web.sessions import Session, read_session


@dataclass
class WebContext:
    """The page's collaborators, kept on the app under WEB."""

    settings: Settings
    store: Store
    clock: Callable[[], float]
    secret: bytes
    secure: bool = False
    queue_interval: float = 1.0  # how often the live queue looks for changes
    stopping: list[bool] = field(default_factory=list)  # set on shutdown: live streams end

    def session(self, request: web.Request) -> Session | None:
        """The signed-in person, or None."""
        return read_session(request, self.secret, self.clock())

    def scope(self, request: web.Request) -> tuple[Session, str, str]:
        """The person and the workspace the URL names; sign-in when nobody is signed in, 404 for others' workspaces."""
        session = self.session(request)
        if session is None:
            raise web.HTTPFound("/login")
        platform, workspace = request.match_info["platform"], request.match_info["workspace"]
        if not session.may_see(platform, workspace):
            raise web.HTTPNotFound(text="no such page")
        return session, platform, workspace


WEB = web.AppKey("web", WebContext)


def redirect(location: str) -> web.Response:
    """A 302 to `location` (a response, so cookies can be set on it)."""
    return web.Response(status=302, headers={"Location": location})
