"""Shared fixtures: settings on a temporary directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config import Settings


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings for a test: a temporary database and media dir, no .env file, fast local provider."""
    values: dict[str, object] = {
        "database_url": f"sqlite:///{tmp_path / 'bot.db'}",
        "media_dir": tmp_path / "videos",
        "hailuo_provider": "local",
        "local_delay_seconds": 0.5,
        "poll_first_seconds": 1.0,
        "poll_max_seconds": 5.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def sample_mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real, small H.264 MP4 for fake providers to serve."""
    from bot.providers.render import render_video

    path = tmp_path_factory.mktemp("sample") / "sample.mp4"
    render_video(path, prompt="sample", duration=6, resolution="768P", fps=8)
    return path.read_bytes()


# -- the store contract runs on every backend ------------------------------------------------------------

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL server for the session; skipped when PostgreSQL is not installed, unless
    HAILUO_TEST_POSTGRES=required (CI), when its absence fails every test that needs it."""
    from tests.postgres import REQUIRED_ENV, SKIP_REASON, PostgresServer, find_bin

    bindir = find_bin()
    if bindir is None:
        if os.environ.get(REQUIRED_ENV) == "required":
            pytest.fail(f"{REQUIRED_ENV}=required, but no PostgreSQL binaries (initdb, pg_ctl) were found",
                        pytrace=False)
        pytest.skip(SKIP_REASON)
    server = PostgresServer(bindir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """DATABASE_URL of a fresh, empty database on the backend under test."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_server").new_database()


@pytest.fixture
async def open_test_store(store_url: str):
    """Open a store on the test's database (several calls: several connections to one database); closed after."""
    from storage import open_store

    opened = []

    async def open_(clock=None, url: str | None = None):
        store = await open_store(url or store_url, **({"clock": clock} if clock else {}))
        opened.append(store)
        return store

    yield open_
    for store in opened:
        try:
            await store.close()
        except Exception:
            pass


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Say plainly, at the end of the run, when the PostgreSQL half of the store tests did not run."""
    from tests.postgres import SKIP_REASON

    skipped = [r for r in terminalreporter.stats.get("skipped", []) if SKIP_REASON in str(r.longrepr)]
    if skipped:
        terminalreporter.write_line(f"{SKIP_REASON} ({len(skipped)} test(s)); install the postgresql package "
                                    "to run them", yellow=True, bold=True)


@pytest.fixture
async def slack_fake():
    """A local fake Slack Web API (tests/fakes/slack.py), stopped after the test."""
    from tests.fakes.slack import FakeSlack

    server = await FakeSlack().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def discord_fake():
    """A local fake Discord REST API and gateway (tests/fakes/discord.py), stopped after the test."""
    from tests.fakes.discord import FakeDiscord

    server = await FakeDiscord().start()
    try:
        yield server
    finally:
        await server.stop()
