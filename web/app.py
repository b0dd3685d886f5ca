"""One aiohttp application for the whole port: the page, and the routes of the health and callback apps."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from aiohttp import web

from bot.config import Settings
from bot.store import Store
from web import admin, gallery, oauth, queue, usage
from web.context import WEB, WebContext
from web.sessions import secure, web_secret


def merge_routes(app: web.Application, other: web.Application) -> None:
    """Serve `other`'s routes (plain handlers, no hooks of its own) from `app` too."""
    for route in other.router.routes():
        info = route.resource.canonical if route.resource is not None else None
        if info is not None:
            app.router.add_route(route.method, info, route.handler)


def web_app(settings: Settings, store: Store, *, clock: Callable[[], float] = time.time,
            merge: Sequence[web.Application] = (), queue_interval: float = 1.0) -> web.Application:
    """The page (gallery, queue, usage, admin, sign-in) plus the routes of `merge` (health, metrics, callbacks)."""
    app = web.Application(client_max_size=1024 * 1024)
    ctx = WebContext(settings, store, clock, web_secret(settings), secure(settings), queue_interval)
    app[WEB] = ctx

    async def stop_streams(_: web.Application) -> None:
        ctx.stopping.append(True)  # the live queue's streams end, so shutdown does not wait for them

    app.on_shutdown.append(stop_streams)
    for other in merge:
        merge_routes(app, other)
    for module in (oauth, gallery, queue, usage, admin):
        module.add_routes(app)
    return app
