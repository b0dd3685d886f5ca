"""A small burst of `/video` interactions through the fake gateway to the bot as its own process (issue 14).

The benchmark (`python -m benchmarks discord`) times 1,000; this checks the behaviour on 100:
every interaction gets a first answer and exactly one job with one status message, whatever the timing.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.discord_burst import BotProcess, jobs_per_user, status_messages, video
from tests.fakes.discord import FakeDiscord
from tests.fakes.minimax import FakeMiniMax

COUNT = 100


async def test_every_interaction_of_a_burst_is_answered_and_makes_one_job(tmp_path: Path) -> None:
    fake, minimax = await FakeDiscord().start(), await FakeMiniMax(video=b"0").start()
    try:
        async with BotProcess(tmp_path, fake, minimax) as bot:
            payloads = [video(fake, i) for i in range(COUNT)]
            await fake.burst(payloads)
            await fake.wait_for(lambda: all(p["id"] in fake.answered for p in payloads), 120)
            await fake.wait_for(lambda: status_messages(fake) >= COUNT, 120)
            jobs = jobs_per_user(bot.database)
    finally:
        await fake.stop()
        await minimax.stop()
    # The first answer is the public status itself (type 4) or a private defer (type 5), never a refusal.
    firsts = [fake.answered[p["id"]][1] for p in payloads]
    assert all(body["type"] == 5 or (body["type"] == 4 and body["data"]["embeds"]) for body in firsts)
    # Each member once: one job each, one status message each, nobody else.
    assert jobs == {str(10**17 + i): 1 for i in range(COUNT)}
    assert status_messages(fake) == COUNT
