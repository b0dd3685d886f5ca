"""Keys and tokens pasted with a stray newline: trimmed on load; ones no HTTP header can carry refused by name."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from bot.__main__ import config_problem
from bot.cli.checks import check_provider
from bot.config import Settings
from tests.fakes.minimax import FakeMiniMax
from tests.test_cli import env_for

SECRETS = ["minimax_api_key", "cloudflare_api_token", "callback_secret", "discord_token", "slack_bot_token",
           "slack_app_token", "slack_signing_secret"]
MARK = "sekrit-VALUE-7731"  # searched for in everything printed: a refused value must never be echoed


@pytest.fixture
async def fake():
    server = await FakeMiniMax().start()
    yield server
    await server.stop()


async def check_provider_cli(tmp_path: Path, **env: str) -> tuple[int, str, str]:
    """`python -m bot check-provider` in a subprocess: exit code, stdout, stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "check-provider", cwd=tmp_path, env=env_for(tmp_path, **env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.mark.parametrize("name", SECRETS)
@pytest.mark.parametrize("pasted", ["abc-123\n", "abc-123\r\n", "  abc-123\t", "\nabc-123\r"])
def test_whitespace_around_every_secret_is_trimmed(name: str, pasted: str) -> None:
    settings = Settings(_env_file=None, **{name: pasted})  # type: ignore[call-arg]
    assert getattr(settings, name).get_secret_value() == "abc-123"
    passed = Settings(_env_file=None, **{name: SecretStr(pasted)})  # type: ignore[call-arg]
    assert getattr(passed, name).get_secret_value() == "abc-123"


@pytest.mark.parametrize("tail", ["\n", "\r\n", "\r", " \n"])
async def test_a_key_with_a_trailing_newline_works_against_the_provider(tmp_path: Path, fake: FakeMiniMax,
                                                                        tail: str) -> None:
    code, out, err = await check_provider_cli(tmp_path, HAILUO_PROVIDER="minimax", MINIMAX_BASE_URL=fake.base_url,
                                              MINIMAX_API_KEY=fake.api_key + tail)
    assert code == 0, err
    assert "accepted the API key" in out and "network" not in err
    assert ("query" in [what for what, _ in fake.requests])  # it really reached the provider


@pytest.mark.parametrize("bad", [f"{MARK}\ntail-9X4Q", f"{MARK}\x00tail-9X4Q", f"{MARK}\rtail-9X4Q",
                                 f"{MARK}\x1btail-9X4Q", f"{MARK}-kéy-tail-9X4Q"])
async def test_a_key_no_header_can_carry_stops_start_up_naming_the_setting(tmp_path: Path, bad: str) -> None:
    # Through .env, since an environment variable cannot hold a NUL byte.
    (tmp_path / ".env").write_bytes(f'MINIMAX_API_KEY="{bad}"\n'.encode())
    code, out, err = await check_provider_cli(tmp_path, HAILUO_PROVIDER="minimax", MINIMAX_BASE_URL="http://127.0.0.1:9")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("configuration error: MINIMAX_API_KEY"), err
    assert "Traceback" not in err and "network" not in err and "Value error" not in err
    assert MARK not in out + err and "tail-9X4Q" not in out + err


def test_a_validation_error_never_carries_the_value() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, minimax_api_key=f"{MARK}\ntail-9X4Q", slack_port="x")  # type: ignore[call-arg]
    assert MARK not in str(caught.value) and MARK not in repr(caught.value)  # however it gets printed
    line = config_problem(caught.value)
    assert "\n" not in line and line.startswith("MINIMAX_API_KEY: contains a line break") and "SLACK_PORT" in line
    assert MARK not in line


@pytest.mark.parametrize("name", ["DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET",
                                  "CLOUDFLARE_API_TOKEN", "CALLBACK_SECRET"])
async def test_every_secret_is_checked_at_start_up(tmp_path: Path, name: str) -> None:
    code, out, err = await check_provider_cli(tmp_path, **{name: f"{MARK}\ntail-9X4Q"})
    assert code == 2 and err.strip().splitlines() == [err.strip()] and name in err
    assert MARK not in out + err


@pytest.mark.parametrize("key", [f"{MARK}\ntail-9X4Q", f"{MARK}-kéy"])
async def test_check_provider_blames_the_key_not_the_network(fake: FakeMiniMax, key: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    # Settings built around validation, as if a key had slipped past it: httpx refuses the header.
    settings = Settings.model_construct(hailuo_provider="minimax", minimax_base_url=fake.base_url,
                                        minimax_api_key=SecretStr(key))
    assert await check_provider(settings, argparse.Namespace()) == 1
    printed = capsys.readouterr()
    assert "contains characters an HTTP header cannot carry" in printed.err and "MINIMAX_API_KEY" in printed.err
    assert "check the base URL and the network" not in printed.err
    assert MARK not in printed.out + printed.err and "\\xe9" not in printed.err
