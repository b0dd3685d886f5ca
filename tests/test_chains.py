"""Remix and Extend through the core and the console: a chain continued from its last frame, joined, capped."""

from __future__ import annotations

import io
from pathlib import Path

import av
import pytest
from PIL import Image, ImageChops, ImageStat

from adapters.console.app import TerminalStatus
from adapters.console.port import ConsolePort
from adapters.console.translate import to_request
from bot import messages
from bot.chains import lineage
from bot.cli.local import wait_until_done
from bot.cli.runtime import open_runtime
from bot.commands import CommandRequest
from bot.jobs import Job, JobStatus
from bot.messages import chains as words
from bot.video_files import duration_of, frame_count, join_clips, last_frame_png
from tests.conftest import make_settings

S = JobStatus
ME, OTHER = "me", "someone-else"


def first_frame(path: str | Path) -> Image.Image:
    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_image()


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel value (0-255) of two same-sized pictures."""
    assert a.size == b.size
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


class Console:
    """The console's requests through a runtime on a temporary directory."""

    def __init__(self, tmp_path: Path, **settings: object) -> None:
        values = {"local_delay_seconds": 0.2, "poll_first_seconds": 0.1, "poll_max_seconds": 0.3, "local_fps": 8,
                  **settings}
        self.settings = make_settings(tmp_path, **values)
        self.port = ConsolePort(io.StringIO())

    async def __aenter__(self) -> Console:
        self._rt = open_runtime(self.settings, {"console": self.port})
        self.rt = await self._rt.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._rt.__aexit__(None, None, None)

    async def say(self, line: str, user: str = ME):
        return await self.rt.core.handle(to_request(line, user_id=user), TerminalStatus())

    async def made(self, line: str, user: str = ME):
        reply = await self.say(line, user)
        assert reply.ok and reply.job_id, reply.text
        (job,) = await wait_until_done(self.rt, [reply.job_id], every=0.05)
        assert job.status is S.DELIVERED, job.error
        return job

    async def ledger(self, job_id: str) -> list[str]:
        return [kind for kind, _, _ in await self.rt.store.ledger(job_id)]


async def test_extend_starts_from_the_last_frame_and_the_chain_joins_into_one_video(tmp_path: Path) -> None:
    async with Console(tmp_path) as bot:
        first = await bot.made("/video a lighthouse at dusk --duration 6")
        second = await bot.made(f"/extend {first.id} the beam sweeps across the sea --duration 10")
        # Recorded in the database: any process can continue the chain or join it.
        assert (second.chain_parent, second.chain_root, second.chain_index) == (first.id, first.id, 2)
        assert second.request.prompt == "the beam sweeps across the sea" and second.request.duration == 10
        assert second.request.first_frame is not None
        assert await bot.rt.store.get_frame(Path(second.request.first_frame.path).name) is not None
        # The new clip's first frame is the previous clip's last frame (within the encoder's loss).
        last = Image.open(io.BytesIO(last_frame_png(Path(first.video_path))))
        assert mean_difference(first_frame(second.video_path), last) < 6
        assert mean_difference(first_frame(first.video_path), last) > 8  # the clip itself moved: not a trivial match
        # No prompt: the previous clip's own is kept.
        third = await bot.made(f"/extend {second.id}")
        assert third.request.prompt == second.request.prompt and third.chain_index == 3
        assert third.chain_root == first.id and third.chain_parent == second.id
        for job in (first, second, third):
            assert await bot.ledger(job.id) == ["reserve", "capture"]  # each clip charged once, as any video

        reply = await bot.say(f"/extend {third.id} --joined")
        assert reply.ok, reply.text
        joined = tmp_path / "videos" / "chains" / f"{first.id}-{third.id}.mp4"
        assert str(joined) in bot.port.out.getvalue()
        # It plays for the clips' summed duration, every frame of each clip in it.
        assert duration_of(joined) == pytest.approx(6 + 10 + 10, abs=0.15)
        assert frame_count(joined) == sum(frame_count(Path(j.video_path)) for j in (first, second, third))
        assert reply.text == words.JOINED_POSTED.format(count=3, seconds=26)
        assert len(await bot.rt.store.history("console", ME, 50)) == 3  # the joined video is no job, and free


async def test_remix_keeps_the_settings_and_the_first_frame_and_charges_a_new_job(tmp_path: Path) -> None:
    async with Console(tmp_path) as bot:
        first = await bot.made("/video a red kite --duration 10")
        clip = await bot.made(f"/extend {first.id} the kite climbs")
        remix = await bot.made(f"/remix {clip.id} the kite dives")
        assert remix.request.prompt == "the kite dives" and remix.request.duration == clip.request.duration
        assert remix.request.resolution == clip.request.resolution
        # Its own copy of the clip's first frame, and its place in the chain beside the clip it remixes.
        assert remix.request.first_frame.path != clip.request.first_frame.path
        assert Path(remix.request.first_frame.path).read_bytes() == Path(clip.request.first_frame.path).read_bytes()
        assert (remix.chain_parent, remix.chain_root, remix.chain_index) == (first.id, first.id, 2)
        assert await bot.ledger(remix.id) == ["reserve", "capture"]
        plain = await bot.made(f"/remix {first.id}")  # no prompt: the same words again
        assert plain.request.prompt == "a red kite" and plain.request.first_frame is None
        assert plain.chain_root is None and plain.chain_index == 1


async def test_a_regenerated_clip_keeps_its_place_in_the_chain(tmp_path: Path) -> None:
    async with Console(tmp_path) as bot:

        async def regenerate(job: Job) -> Job:
            again = CommandRequest(platform="console", workspace_id=job.workspace_id, channel_id=job.channel_id,
                                   user_id=ME, command="regenerate", job_id=job.id)
            reply = await bot.rt.core.handle(again, TerminalStatus())
            assert reply.ok and reply.job_id, reply.text
            (made,) = await wait_until_done(bot.rt, [reply.job_id], every=0.05)
            assert made.status is S.DELIVERED and made.regenerated_from == job.id
            return made

        first = await bot.made("/video a red kite --duration 10")
        clip = await bot.made(f"/extend {first.id} the kite climbs")
        redo = await regenerate(clip)
        assert (redo.chain_parent, redo.chain_root, redo.chain_index) == (first.id, first.id, 2)
        assert [c.id for c in await lineage(bot.rt.core, redo)] == [first.id, redo.id]  # it joins from the first
        redo_first = await regenerate(first)
        assert redo_first.chain_root is None and redo_first.chain_index == 1  # a first clip stays a first clip


async def test_a_chain_past_its_cap_is_refused_uncharged(tmp_path: Path) -> None:
    async with Console(tmp_path, extend_max_clips=2) as bot:
        first = await bot.made("/video a paper boat")
        second = await bot.made(f"/extend {first.id} it drifts")
        before = await bot.rt.store.usage_report()
        reply = await bot.say(f"/extend {second.id} it sinks")
        assert not reply.ok and reply.text == words.EXTEND_CAP.format(count=2, limit=2)
        assert len(await bot.rt.store.history("console", ME, 50)) == 2
        assert await bot.rt.store.usage_report() == before  # nothing held, nothing charged
        branch = await bot.made(f"/extend {first.id} it turns")  # the first clip may still branch
        assert branch.chain_index == 2


async def test_other_members_jobs_and_unfinished_jobs_get_a_plain_answer(tmp_path: Path) -> None:
    async with Console(tmp_path, local_delay_seconds=30.0) as bot:
        mine = await bot.say("/video a slow one")
        for line in (f"/extend {mine.job_id} more", f"/remix {mine.job_id} other", f"/extend {mine.job_id} --joined"):
            reply = await bot.say(line)
            assert not reply.ok
            # The job moves on meanwhile (sending, at the provider): the answer names where it was.
            assert reply.text in {words.CHAIN_NOT_DELIVERED.format(job=mine.job_id, status=messages.STATUS_LABELS[s])
                                  for s in ("queued", "submitting", "submitted", "preparing", "queueing", "processing")}
            assert (await bot.say(line, user=OTHER)).text == words.CHAIN_NOT_YOURS
        assert (await bot.say("/extend nosuchjob")).text == messages.JOB_NOT_FOUND.format(job="nosuchjob")
        assert (await bot.say("/remix")).text == words.CHAIN_WHICH
        assert len(await bot.rt.store.history("console", ME, 50)) == 1
        assert await bot.rt.store.history("console", OTHER, 50) == []


def test_clips_that_differ_are_joined_by_re_encoding(tmp_path: Path) -> None:
    from bot.providers.render import render_video

    wide, hd = tmp_path / "wide.mp4", tmp_path / "hd.mp4"
    render_video(wide, prompt="a", duration=6, resolution="768P", fps=8)
    render_video(hd, prompt="b", duration=6, resolution="1080P", fps=8)
    joined = join_clips([wide, hd], tmp_path / "joined.mp4")
    assert not joined.remuxed  # not the same size: the frames are encoded again
    assert joined.frames == frame_count(wide) + frame_count(hd) == frame_count(joined.path)
    assert duration_of(joined.path) == pytest.approx(12, abs=0.15)
    with av.open(str(joined.path)) as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == (1366, 768)
    same = join_clips([wide, wide], tmp_path / "same.mp4")
    assert same.remuxed and duration_of(same.path) == pytest.approx(12, abs=0.15)


def test_generate_extend_writes_the_next_clip(tmp_path: Path) -> None:
    from tests.test_cli import hailuo, ledger_rows

    first = hailuo(tmp_path, "generate", "a harbour at dawn", LOCAL_FPS="8")
    assert first.returncode == 0, first.stderr
    clip = Path(first.stdout.strip())
    out = tmp_path / "next.mp4"
    job_id = clip.stem
    nxt = hailuo(tmp_path, "generate", "--extend", job_id, "the boats leave", "--out", str(out), LOCAL_FPS="8")
    assert nxt.returncode == 0, nxt.stderr
    assert Path(nxt.stdout.strip()) == out.resolve()
    last = Image.open(io.BytesIO(last_frame_png(clip)))
    assert mean_difference(first_frame(out), last) < 6
    assert ledger_rows(tmp_path) == [("reserve", 1), ("capture", 1)] * 2
    refused = hailuo(tmp_path, "generate", "--extend", "nosuchjob", LOCAL_FPS="8")
    assert refused.returncode == 2 and messages.JOB_NOT_FOUND.format(job="nosuchjob") in refused.stderr
    assert len(ledger_rows(tmp_path)) == 4
    with_image = hailuo(tmp_path, "generate", "--extend", job_id, "--image", str(clip), LOCAL_FPS="8")
    assert with_image.returncode == 2 and words.EXTEND_NO_IMAGE in with_image.stderr
    assert len(ledger_rows(tmp_path)) == 4


async def test_a_clip_missing_here_is_fetched_again_from_its_provider_else_refused_uncharged(tmp_path: Path) -> None:
    async with Console(tmp_path) as bot:
        first = await bot.made("/video a tram in the rain")
        Path(first.video_path).unlink()  # delivered by a process on another machine, say
        second = await bot.made(f"/extend {first.id} it turns the corner")
        assert Path(first.video_path).is_file()  # the provider's copy, fetched again into MEDIA_DIR
        last = Image.open(io.BytesIO(last_frame_png(Path(first.video_path))))
        assert mean_difference(first_frame(second.video_path), last) < 6
        # Gone here and at the provider (its address expired, the file was pruned): a plain answer, nothing held.
        Path(second.video_path).unlink()
        for render in (tmp_path / "videos" / ".local-provider").glob(f"{second.task_id}.mp4"):
            render.unlink()
        reply = await bot.say(f"/extend {second.id} and stops")
        assert not reply.ok and reply.text == words.CHAIN_FILE_GONE.format(job=second.id)
        assert not (await bot.say(f"/extend {second.id} --joined")).ok
        assert len(await bot.rt.store.history("console", ME, 50)) == 2
        assert await bot.ledger(second.id) == ["reserve", "capture"]
