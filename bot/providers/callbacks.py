"""MiniMax's optional push notifications: `POST /callbacks/minimax/<secret>` (providers.md 1.5)."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.providers.base import TaskState, TaskStatus

log = logging.getLogger(__name__)

# Pushes spell statuses in lower case; accept the query's spelling too.
_PUSHED = {
    "preparing": TaskStatus.PREPARING,
    "queueing": TaskStatus.QUEUEING,
    "processing": TaskStatus.PROCESSING,
    "success": TaskStatus.SUCCESS,
    "fail": TaskStatus.FAIL,
    "failed": TaskStatus.FAIL,
}

OnPush = Callable[[str, TaskState], Awaitable[bool]]


def callback_app(secret: str, on_push: OnPush) -> web.Application:
    """The aiohttp app: echo the challenge at once, apply pushes for tasks we know, refuse the rest."""

    async def receive(request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.match_info["secret"].encode(), secret.encode()):
            return web.json_response({"error": "not found"}, status=404)
        try:
            data = json.loads(await request.read())
        except ValueError:
            return web.json_response({"error": "bad json"}, status=400)
        if not isinstance(data, dict):
            return web.json_response({"error": "bad json"}, status=400)
        if "challenge" in data:
            return web.json_response({"challenge": data["challenge"]})
        task_id = str(data.get("task_id") or "")
        status = _PUSHED.get(str(data.get("status") or "").lower())
        if not task_id or status is None:
            return web.json_response({"error": "unknown status"}, status=400)
        file_id = str(data.get("file_id") or "") or None
        known = await on_push(task_id, TaskState(task_id, status, file_id=file_id))
        if not known:
            return web.json_response({"error": "unknown task"}, status=404)
        return web.json_response({"status": "success"})

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/callbacks/minimax/{secret}", receive)
    return app
