"""The core's one entry point: videos accepted or refused in plain words, quota, history, regenerate."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from bot import messages
from bot.commands import CommandRequest
from bot.core import Core
from bot.ports import AttachmentRef, CannotPost, MessageRef, StatusPlace
from bot.safe_text import plain
from storage import SQLiteStore
from tests.conftest import make_settings
from tests.helpers import FakeChatPort, FakeClock


@pytest.fixture
async def rig(tmp_path: Path):
    clock = FakeClock()
    settings = make_settings(tmp_path, quota_user_daily_credits=3, quota_workspace_daily_credits=4)
    store = await SQLiteStore.open(settings.database_path, clock=clock)
    port = FakeChatPort()
    woken: list[int] = []
    core = Core(settings, store, provider_name="scripted", ports={"fake": port}, wake=lambda: woken.append(1),
                clock=clock)
    yield core, port, store, woken
    await store.close()


def ask(command: str = "video", user: str = "u1", **kw) -> CommandRequest:
    return CommandRequest(platform="fake", workspace_id="w", channel_id="c", user_id=user, command=command, **kw)


def png(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


async def test_video_accepted_with_view_and_wakes_the_poller(rig) -> None:
    core, _, store, woken = rig
    reply = await core.handle(ask(prompt="a cat", duration=10))
    assert reply.ok and reply.job_id and woken
    assert reply.text == messages.ACCEPTED.format(cost=2, left=1)
    assert reply.view.status == "queued" and reply.view.queue_position == 1 and reply.view.credits_left == 1
    job = await store.get_job(reply.job_id)
    assert (job.request.duration, job.cost, job.provider) == (10, 2, "scripted")


async def test_invalid_and_over_quota_requests_cost_nothing(rig) -> None:
    core, _, store, _ = rig
    bad = await core.handle(ask(prompt="a cat", resolution="1080P", duration=10))
    assert (bad.ok, bad.ephemeral, bad.text) == (False, True, messages.HD_ONLY_SHORT)
    assert (await core.handle(ask(prompt="one", duration=10))).ok
    refused = await core.handle(ask(prompt="two", duration=10))
    assert not refused.ok and "you have 1 left today (daily limit 3)" in refused.text
    other = await core.handle(ask(prompt="three", user="u2", duration=10))
    assert other.ok
    pool = await core.handle(ask(prompt="four", user="u3"))
    assert not pool.ok and "this workspace has 0 left today (daily limit 4)" in pool.text
    assert len(await store.active_jobs()) == 2


async def test_image_fetched_through_the_port_and_checked(rig) -> None:
    core, port, store, _ = rig
    port.files["att://ok"] = png(640, 480)
    port.files["att://tiny"] = png(200, 200)
    reply = await core.handle(ask(attachments=(AttachmentRef("att://ok", "ok.png"),)))
    assert reply.ok
    frame = (await store.get_job(reply.job_id)).request.first_frame
    assert (frame.width, frame.height, frame.mime) == (640, 480, "image/png")
    assert Path(frame.path).read_bytes() == port.files["att://ok"]
    tiny = await core.handle(ask(prompt="x", attachments=(AttachmentRef("att://tiny", "t.png"),)))
    assert tiny.text == messages.IMAGE_TOO_SMALL.format(w=200, h=200)
    huge = await core.handle(ask(prompt="x", attachments=(AttachmentRef("att://none", "h.png", size=30_000_000),)))
    assert huge.text.startswith("That image is 28.6 MB")
    two = await core.handle(ask(prompt="x", attachments=(AttachmentRef("a"), AttachmentRef("b"))))
    assert two.text == messages.IMAGE_TOO_MANY
    missing = await core.handle(ask(prompt="x", attachments=(AttachmentRef("att://missing", "m.png"),)))
    assert missing.text == messages.IMAGE_FETCH_FAILED
    assert len(await store.active_jobs()) == 1


async def test_quota_history_status_help(rig) -> None:
    core, _, _, _ = rig
    assert (await core.handle(ask("history"))).text == messages.HISTORY_EMPTY
    job = (await core.handle(ask(prompt="a red kite over hills"))).job_id
    quota = await core.handle(ask("quota"))
    assert "used 0 of 3 credits, 1 held by videos in progress, 2 left" in quota.text
    assert "The workspace has 3 of 4 left" in quota.text
    history = await core.handle(ask("history"))
    # The prompt is marked as the member's own text (bot.safe_text), which each adapter escapes its own way.
    assert job in history.text and "a red kite over hills (6 s, 768P)" in plain(history.text)
    status = await core.handle(ask("status", job_id=job))
    assert status.text.startswith(f"{job} Waiting for a slot")
    assert (await core.handle(ask("status", job_id="nope"))).text == messages.JOB_NOT_FOUND.format(job="nope")
    assert (await core.handle(ask("status", user="u2", job_id=job))).ok is False
    assert "768P 6 s = 1" in (await core.handle(ask("help"))).text
    assert (await core.handle(ask("dance"))).ok is False


async def test_regenerate_only_by_requester_or_admin_and_charged_again(rig) -> None:
    core, _, store, _ = rig
    first = (await core.handle(ask(prompt="waves"))).job_id
    stranger = await core.handle(ask("regenerate", user="u2", job_id=first))
    assert stranger.text == messages.REGENERATE_NOT_YOURS
    again = await core.handle(ask("regenerate", job_id=first))
    admin = await core.handle(ask("regenerate", user="u2", job_id=first, is_admin=True))
    assert again.ok and admin.ok
    regen = await store.get_job(again.job_id)
    assert regen.regenerated_from == first and regen.request.prompt == "waves"
    assert (await store.get_job(admin.job_id)).user_id == "u2"


class RecordingOpener:
    """A StatusOpener that records what the core asked of it, and can refuse to post."""

    def __init__(self, store: SQLiteStore, refuse: str | None = None) -> None:
        self.store = store
        self.refuse = refuse
        self.calls: list[str] = []
        self.seen_while_open: list[object] = []

    async def busy(self) -> None:
        self.calls.append("busy")

    async def open(self, text: str, view) -> StatusPlace:
        self.calls.append("open")
        # While the status is being posted the job exists but is held back from every poller.
        self.seen_while_open.append(await self.store.get_job(view.job_id))
        if self.refuse:
            raise CannotPost(self.refuse)
        return StatusPlace(MessageRef("c", "status-1"), thread_id="thread-1")


async def test_one_call_posts_the_status_and_binds_it_before_the_poller_may_start(rig) -> None:
    core, _, store, woken = rig
    opener = RecordingOpener(store)
    reply = await core.handle(ask(prompt="a lighthouse"), opener)
    assert reply.ok and opener.calls == ["open"] and woken
    (held,) = opener.seen_while_open
    assert held.next_poll_at > core.clock() and held.status_message_id is None
    job = await store.get_job(reply.job_id)
    assert (job.status_message_id, job.thread_id, job.next_poll_at) == ("status-1", "thread-1", core.clock())


async def test_a_status_that_cannot_be_posted_withdraws_the_job_uncharged(rig) -> None:
    core, port, store, _ = rig
    port.files["att://ok"] = png(640, 480)
    opener = RecordingOpener(store, refuse="Invite me first.")
    reply = await core.handle(ask(prompt="drift", attachments=(AttachmentRef("att://ok"),)), opener)
    assert (reply.ok, reply.ephemeral, reply.text) == (False, True, "Invite me first.")
    assert opener.calls == ["busy", "open"]  # acknowledged before the download, then asked to post
    (held,) = opener.seen_while_open
    assert await store.get_job(held.id) is None and await store.ledger(held.id) == []
    assert not Path(held.request.first_frame.path).exists()  # the checked frame is not left behind
    assert (await core.handle(ask("quota"))).text.startswith("Today you have used 0 of 3")


async def test_a_first_frame_is_kept_for_every_process_until_pruned(rig, tmp_path: Path) -> None:
    core, port, store, _ = rig
    port.files["att://ok"] = png(640, 480)
    reply = await core.handle(ask(prompt="drift", attachments=(AttachmentRef("att://ok"),)))
    job = await store.get_job(reply.job_id)
    frame = Path(job.request.first_frame.path)
    kept = frame.read_bytes()
    frame.unlink()  # as seen from another machine: the file is not on this disk
    again = await core.handle(ask("regenerate", job_id=job.id))
    assert again.ok and frame.read_bytes() == kept  # written back from the database
    frame.unlink()
    await store.drop_frame(frame.name)  # pruned
    gone = await core.handle(ask("regenerate", job_id=job.id))
    assert (gone.ok, gone.text) == (False, messages.REGENERATE_IMAGE_GONE)
