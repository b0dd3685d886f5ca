"""The health check and Prometheus scrape, and the small aiohttp server that carries them."""

from __future__ import annotations

import json
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.cli.runtime import Runtime

log = logging.getLogger(__name__)

HEARTBEAT_STALE_SECONDS = 60.0


async def refresh(rt: Runtime) -> dict[str, object]:
    """Read the database into the gauges; return the health verdict."""
    m = rt.metrics
    health: dict[str, object] = {}
    try:
        snapshot = await rt.store.snapshot()
        health["database"] = "ok"
    except Exception as exc:
        snapshot = None
        health["database"] = f"error: {type(exc).__name__}"
    if snapshot is not None:
        m.jobs.clear()
        for status, count in snapshot["jobs"].items():
            m.jobs.labels(status).set(count)
        m.queue_depth.set(snapshot["jobs"].get("queued", 0))
        m.in_flight.set(snapshot["in_flight"])
        for kind, credits in snapshot["credits"].items():
            m.credits.labels(kind).set(credits)
        m.spend.set(snapshot["usd"])
    age = rt.poller.clock() - rt.poller.heartbeat if rt.poller.heartbeat else float("inf")
    m.heartbeat_age.set(age if age != float("inf") else -1)
    health["poller"] = "ok" if age < HEARTBEAT_STALE_SECONDS else "stalled"
    adapters = {}
    for name, port in rt.ports.items():
        up = bool(getattr(port, "connected", True))
        m.connected.labels(name).set(1 if up else 0)
        adapters[name] = "connected" if up else "disconnected"
    health["adapters"] = adapters
    health["ok"] = (health["database"] == "ok" and health["poller"] == "ok"
                    and all(v == "connected" for v in adapters.values()))
    return health


def health_app(rt: Runtime) -> web.Application:
    """`GET /healthz` (200 or 503, JSON) and `GET /metrics` (Prometheus text)."""

    async def healthz(request: web.Request) -> web.Response:
        verdict = await refresh(rt)
        return web.Response(status=200 if verdict["ok"] else 503, text=json.dumps(verdict),
                            content_type="application/json")

    async def metrics(request: web.Request) -> web.Response:
        await refresh(rt)
        body = generate_latest(rt.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


async def serve(rt: Runtime, port: int, host: str = "0.0.0.0") -> web.AppRunner:
    """Start the health and metrics server; the caller cleans the runner up."""
    runner = await serve_app(health_app(rt), port, host)
    log.info("health and metrics on port %d", port)
    return runner


async def serve_app(app: web.Application, port: int, host: str = "0.0.0.0") -> web.AppRunner:
    """Serve an aiohttp app on `port`; the caller cleans the runner up."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
