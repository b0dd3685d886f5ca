"""Cancel through the real discord.py client against the fake Discord: the status message's button and /video-cancel."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot import messages
from bot.jobs import JobStatus
from tests.fakes.discord import CHANNEL_ID, FakeDiscord, snowflake
from tests.test_discord_e2e import ALICE, BOB, Bot, private

S = JobStatus
MANAGE_SERVER = str(1 << 5)


@pytest.fixture
async def fake():
    server = await FakeDiscord().start()
    yield server
    await server.stop()


def status_message(fake: FakeDiscord, job) -> dict:
    return next(m for m in fake.messages_in(CHANNEL_ID) if m["id"] == job.status_message_id.partition(":")[2])


def buttons(message: dict) -> list[str]:
    return [c["custom_id"] for row in message.get("components") or [] for c in row["components"]]


async def test_the_cancel_button_and_command_for_the_requester_or_an_admin(tmp_path: Path, fake: FakeDiscord) -> None:
    # One provider slot, taken by a slow first video: the second waits in the bot's own line.
    async with Bot(tmp_path, fake, provider_max_in_flight=1, local_delay_seconds=4.0) as bot:
        await bot.video(prompt="a long first video")
        await bot.until(lambda jobs: len(jobs) == 1 and jobs[0].status.at_provider)
        await bot.video(prompt="a paper boat")
        jobs = await bot.until(lambda jobs: len(jobs) == 2 and all(j.status_message_id for j in jobs))
        running = next(j for j in jobs if j.status.at_provider)
        waiting = next(j for j in jobs if j.status is S.QUEUED)
        status = status_message(fake, waiting)
        assert buttons(status) == [f"hailuo:cancel:{waiting.id}"]

        def press(user: str, permissions: str = "0") -> dict:
            data = {"custom_id": f"hailuo:cancel:{waiting.id}", "component_type": 2}
            return fake.interaction(3, data, user_id=user, permissions=permissions, message=status)

        await bot.send(press(BOB))
        await fake.wait_for(lambda: any(m["content"] == messages.CANCEL_NOT_YOURS for m in private(fake)))
        assert (await bot.rt.store.get_job(waiting.id)).status is S.QUEUED
        await bot.send(press(ALICE))
        done = messages.CANCEL_DONE_REFUNDED.format(job=waiting.id, cost=waiting.cost)
        await fake.wait_for(lambda: any(m["content"] == done for m in private(fake)))
        job = await bot.rt.store.get_job(waiting.id)
        assert job.status is S.CANCELLED and job.cancel_refunded is True
        assert [k for k, _, _ in await bot.rt.store.ledger(job.id)] == ["reserve", "release"]
        # The status message says so, and its button is gone.
        await fake.wait_for(lambda: status_message(fake, job)["embeds"][0]["title"] == "Cancelled")
        assert buttons(status_message(fake, job)) == []
        assert buttons(status_message(fake, running)) == [f"hailuo:cancel:{running.id}"]
        # Edited at once, outside the poller's queue of edits: the final status stays owed, to be sent again.
        assert waiting.id in await bot.rt.store.final_statuses_owed(["discord"], before=time.time() + 1)

        # An admin (Manage Server) cancels someone else's running video with the command.
        data = {"id": snowflake(), "name": "video-cancel", "type": 1,
                "options": [{"name": "job", "type": 3, "value": running.id}]}
        await bot.send(fake.interaction(2, data, user_id=BOB, permissions="0"))
        await fake.wait_for(lambda: sum(m["content"] == messages.CANCEL_NOT_YOURS for m in private(fake)) == 2)
        await bot.send(fake.interaction(2, dict(data, id=snowflake()), user_id=BOB, permissions=MANAGE_SERVER))
        asked = messages.CANCEL_ASKED.format(job=running.id)
        await fake.wait_for(lambda: any(m["content"] == asked for m in private(fake)))
        (ended,) = [j for j in await bot.until(lambda jobs: all(j.status.terminal for j in jobs)) if j.id == running.id]
        assert ended.status is S.CANCELLED and ended.cancel_requested_by == BOB
        # The offline renderer costs nothing, so this one is refunded too; no video is ever posted.
        assert [k for k, _, _ in await bot.rt.store.ledger(ended.id)] == ["reserve", "release"]
        await fake.wait_for(lambda: status_message(fake, ended)["embeds"][0]["title"] == "Cancelled")
        assert buttons(status_message(fake, ended)) == []
    assert not any(m["attachments"] for c in fake.channels for m in fake.messages_in(c))
