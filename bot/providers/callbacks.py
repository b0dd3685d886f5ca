"""Providers' optional push notifications: `POST /callbacks/<provider>/<secret>`.

MiniMax's own protocol (providers.md 1.5, with its challenge) and, for Replicate and fal, their
webhooks: each a hint that makes the bot poll that task at once, never a verdict.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping

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
# A provider's webhook reader: the task id of an authentic push (headers and raw body), else None.
ReadPush = Callable[[Mapping[str, str], bytes], Awaitable[str | None]]
# Ids as MiniMax writes them (digits); anything else (nested values, NUL, lone surrogates) could
# break a repr or a database query further on, so it is refused here with a 400.
_IDENT = re.compile(r"[A-Za-z0-9_-]{1,128}")


def callback_app(secret: str, on_push: OnPush, webhooks: Mapping[str, ReadPush] | None = None) -> web.Application:
    """The aiohttp app: echo the challenge at once, hand pushes for tasks we know to `on_push`, refuse the rest.

    A push proves nothing (anyone with the URL can send one): `on_push` only polls the provider sooner.
    """

    async def receive(request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.match_info["secret"].encode(), secret.encode()):
            return web.json_response({"error": "not found"}, status=404)
        data = _parse(await request.read())
        if not isinstance(data, dict):
            return web.json_response({"error": "bad json"}, status=400)
        if "challenge" in data:
            challenge = data["challenge"]
            if not isinstance(challenge, str):
                return web.json_response({"error": "bad challenge"}, status=400)
            return web.json_response({"challenge": challenge})
        task_id, file_id = _ident(data.get("task_id")), _ident(data.get("file_id"))
        raw_status = data.get("status")
        status = _PUSHED.get(raw_status.lower()) if isinstance(raw_status, str) else None
        if task_id is None or status is None:
            return web.json_response({"error": "unknown status"}, status=400)
        known = await on_push(task_id, TaskState(task_id, status, file_id=file_id))
        if not known:
            return web.json_response({"error": "unknown task"}, status=404)
        return web.json_response({"status": "success"})

    def webhook(read: ReadPush) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def receive_webhook(request: web.Request) -> web.Response:
            if not hmac.compare_digest(request.match_info["secret"].encode(), secret.encode()):
                return web.json_response({"error": "not found"}, status=404)
            task_id = _ident(await read(request.headers, await request.read()))
            if task_id is None:
                return web.json_response({"error": "not a push this bot can verify"}, status=400)
            if not await on_push(task_id, TaskState(task_id, TaskStatus.PROCESSING)):
                return web.json_response({"error": "unknown task"}, status=404)
            return web.json_response({"status": "ok"})

        return receive_webhook

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/callbacks/minimax/{secret}", receive)
    for provider, read in (webhooks or {}).items():
        app.router.add_post(f"/callbacks/{provider}/{{secret}}", webhook(read))
    return app


def _parse(body: bytes) -> object:
    """The JSON object of a request body, or None when it is not JSON this receiver can read."""
    try:
        return json.loads(body)
    except ValueError:  # not JSON, not UTF-8, or an integer too long to convert
        return None
    except RecursionError:
        # Nested deeper than the parser's stack (e.g. '[' * 100000): junk, not a crash.
        log.warning("callback body nested too deeply (%d bytes); refused", len(body))
        return None


def _ident(value: object) -> str | None:
    """A task or file id from a push (a string or an integer), or None when it is missing or malformed."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and _IDENT.fullmatch(value):
        return value
    return None
