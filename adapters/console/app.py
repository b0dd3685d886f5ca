"""The console's loop: lines typed in a terminal go to the core; replies and progress come back as text."""

from __future__ import annotations

import asyncio
from typing import TextIO

from adapters.console.translate import render_reply, to_request
from bot.commands import Reply
from bot.contract import InvalidRequest
from bot.core import Core
from bot.i18n import from_environment, render, said
from bot.ports import MessageRef, StatusPlace, StatusView


class TerminalStatus:
    """The core's StatusOpener for the terminal: status lines are printed as they come, under the job's id."""

    def __init__(self, channel: str = "terminal") -> None:
        self.channel = channel

    async def busy(self) -> None:
        """A terminal waits as long as it takes."""

    async def open(self, text: str, view: StatusView) -> StatusPlace:
        """The status "message" is the job's line in the terminal."""
        return StatusPlace(MessageRef(self.channel, view.job_id))


async def chat(core: Core, lines: TextIO, out: TextIO, *, user: str, prompt: bool,
               locale: str | None = None) -> list[str]:
    """Answer each line until end of input (in LANG's language); return the ids of the jobs this session started."""
    locale = locale or from_environment()
    started: list[str] = []
    print(render(core.help_text(), locale), file=out, flush=True)
    while True:
        if prompt:
            print("> ", end="", file=out, flush=True)
        line = await asyncio.to_thread(lines.readline)
        if not line:
            return started
        try:
            req = to_request(line, user_id=user, locale=locale)
        except InvalidRequest as exc:  # an unknown option, say: refused in plain words, like the core's refusals
            print(render_reply(Reply(said(exc), ok=False), locale), file=out, flush=True)
            continue
        if req is None:
            continue
        reply = await core.handle(req, TerminalStatus())
        print(render_reply(reply, locale), file=out, flush=True)
        if reply.job_id:
            started.append(reply.job_id)
