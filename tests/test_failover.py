"""HAILUO_FALLBACK_PROVIDER: new jobs move to the fallback when the primary is out; a job stays where it is."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.jobs import JobStatus
from bot.providers.failover import ProviderSet
from bot.providers.minimax import MiniMaxProvider
from bot.providers.replicate import ReplicateProvider
from tests.fakes.minimax import FakeMiniMax
from tests.fakes.replicate import FakeReplicate
from tests.provider_rig import ProviderRig


@pytest.fixture
async def hosts(sample_mp4: bytes):
    minimax = await FakeMiniMax(video=sample_mp4).start()
    replicate = await FakeReplicate(video=sample_mp4).start()
    yield minimax, replicate
    await minimax.stop()
    await replicate.stop()


async def rig_for(tmp_path: Path, minimax: FakeMiniMax, replicate: FakeReplicate, *, key: str | None = None,
                  **settings: object) -> ProviderRig:
    primary = MiniMaxProvider(key or minimax.api_key, minimax.base_url)
    fallback = ReplicateProvider(replicate.token, replicate.base_url)
    rig = ProviderRig(tmp_path, None, per_minute=100, **settings)
    rig.provider = ProviderSet(primary, fallback, out_after=60, clock=rig.clock)
    return await rig.open()


async def test_a_refused_key_moves_new_jobs_to_the_fallback_and_tells_the_operator_once(
        tmp_path: Path, hosts, caplog) -> None:
    minimax, replicate = hosts
    rig = await rig_for(tmp_path, minimax, replicate, key="not-the-key",
                        provider_prices="replicate:768P_6S=0.31")
    try:
        with caplog.at_level(logging.ERROR):
            jobs = [await rig.ask(f"scene {i}", user=f"u{i}") for i in range(3)]
            assert await rig.until_done(*jobs) == [JobStatus.DELIVERED] * 3
        for job_id in jobs:
            job = await rig.store.get_job(job_id)
            assert job.provider == "replicate" and job.price_usd == pytest.approx(0.31)
            assert await rig.ledger(job_id) == ["reserve", "capture"]  # nobody paid for the outage
        assert len(replicate.predictions) == 3  # each job made once, on the fallback only
        told = [r for r in caplog.records if "is out" in r.getMessage()]
        assert len(told) == 1 and "not-the-key" not in caplog.text
    finally:
        await rig.close()


async def test_sustained_server_errors_fail_over_but_a_job_at_the_primary_stays_there(tmp_path: Path, hosts) -> None:
    minimax, replicate = hosts
    rig = await rig_for(tmp_path, minimax, replicate)
    try:
        first = await rig.ask("already at minimax", user="u1")
        await rig.step(1)
        assert (await rig.store.get_job(first)).task_id is not None  # submitted to the primary
        minimax.fail_next("create", *[("http", 503)] * 50)
        second = await rig.ask("made during the outage", user="u2")
        await rig.step(1)
        job = await rig.store.get_job(second)
        assert job.status is JobStatus.QUEUED and job.provider == "minimax"  # a passing error: retried there
        assert await rig.until_done(first, second) == [JobStatus.DELIVERED] * 2
        assert (await rig.store.get_job(first)).provider == "minimax"  # polled and fetched where it was made
        assert (await rig.store.get_job(second)).provider == "replicate"  # moved once the outage lasted
        assert len(replicate.predictions) == 1
    finally:
        await rig.close()


async def test_the_same_provider_twice_is_refused() -> None:
    provider = MiniMaxProvider("k", "http://127.0.0.1:9")
    with pytest.raises(ValueError, match="HAILUO_FALLBACK_PROVIDER"):
        ProviderSet(provider, MiniMaxProvider("k", "http://127.0.0.1:9"))
    await provider.aclose()


async def test_a_primary_that_goes_down_mid_burst_finishes_every_job_once(tmp_path: Path, hosts) -> None:
    minimax, replicate = hosts
    rig = await rig_for(tmp_path, minimax, replicate, provider_max_in_flight=5)
    try:
        jobs = [await rig.ask(f"scene {i}", user=f"u{i}") for i in range(20)]
        await rig.step(1)  # the first five go to MiniMax
        assert len(minimax.tasks) == 5
        minimax.fail_next("create", *[("code", 1008)] * 100)  # then its balance runs out
        assert await rig.until_done(*jobs) == [JobStatus.DELIVERED] * 20
        made = [await rig.store.get_job(j) for j in jobs]
        assert sorted(j.provider for j in made).count("minimax") == 5
        assert len(minimax.tasks) == 5 and len(replicate.predictions) == 15  # each job made exactly once
        for job in made:
            assert await rig.ledger(job.id) == ["reserve", "capture"]  # each charged once
        assert len({j.task_id for j in made}) == 20
    finally:
        await rig.close()
