"""`hailuo-bot doctor` against healthy and broken setups, through local fake servers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapters.slack.doctor import BOT_SCOPES
from bot.cli.checks import diagnose_configured as diagnose
from tests.conftest import make_settings
from tests.fakes.discord import FakeDiscord
from tests.fakes.minimax import FakeMiniMax
from tests.fakes.slack import FakeSlack


@pytest.fixture
async def fakes(sample_mp4: bytes):
    discord, slack, minimax = FakeDiscord(), FakeSlack(), FakeMiniMax(video=sample_mp4)
    for server in (discord, slack, minimax):
        await server.start()
    yield discord, slack, minimax
    for server in (discord, slack, minimax):
        await server.stop()


def settings_for(tmp_path: Path, discord: FakeDiscord, slack: FakeSlack, minimax: FakeMiniMax, **overrides):
    values = dict(hailuo_provider="minimax", minimax_api_key=minimax.api_key, minimax_base_url=minimax.base_url,
                  discord_token=discord.token, discord_api_base_url=discord.api_url,
                  slack_bot_token=slack.bot_token, slack_app_token=slack.app_token, slack_api_url=slack.api_url)
    values.update(overrides)
    return make_settings(tmp_path, **values)


def verdicts(findings) -> dict[str, tuple[bool, str]]:
    return {f.part: (f.ok, f.message) for f in findings}


COMMANDS = [{"name": n} for n in ("video", "video-quota", "video-history", "video-admin", "Animate image")]


async def test_healthy_setup(tmp_path: Path, fakes) -> None:
    fakes[0].commands["global"] = COMMANDS
    found = verdicts(await diagnose(settings_for(tmp_path, *fakes)))
    assert set(found) == {"database", "media", "encoder", "provider", "discord", "slack"}
    assert all(ok for ok, _ in found.values()), found
    assert "schema version" in found["database"][1] and "Socket Mode" in found["slack"][1]


async def test_bad_tokens_missing_scopes_and_permissions(tmp_path: Path, fakes) -> None:
    discord, slack, _ = fakes
    slack.scopes = "commands,chat:write"
    found = verdicts(await diagnose(settings_for(tmp_path, *fakes, discord_token="wrong-token",
                                                 minimax_api_key="mm-wrong-key-000000")))
    assert found["discord"] == (False, "Discord refused DISCORD_TOKEN. Reset the token on the Developer Portal's "
                                       "Bot page and set it again.")
    assert not found["slack"][0] and "chat:write.public, channels:join" in found["slack"][1]
    assert not found["provider"][0] and "check MINIMAX_API_KEY" in found["provider"][1]
    for _, message in found.values():
        assert "wrong-token" not in message and "mm-wrong-key" not in message
    found = verdicts(await diagnose(settings_for(tmp_path, *fakes)))
    assert "commands are not registered yet" in found["discord"][1]
    discord.commands["global"] = COMMANDS
    discord.bot_permissions = (1 << 10) | (1 << 11)
    found = verdicts(await diagnose(settings_for(tmp_path, *fakes)))
    assert not found["discord"][0]
    message = found["discord"][1]
    assert "lacks Embed Links, Attach Files" in message and "permissions=309237763072" in message


async def test_unwritable_database_and_media(tmp_path: Path, fakes) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    found = verdicts(await diagnose(settings_for(tmp_path, *fakes, database_url=f"sqlite:///{blocker}/bot.db",
                                                 media_dir=blocker / "videos")))
    assert not found["database"][0] and "point DATABASE_URL at a writable place" in found["database"][1]
    assert not found["media"][0] and "set MEDIA_DIR" in found["media"][1]


def test_doctor_command_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from bot.__main__ import main

    monkeypatch.chdir(tmp_path)
    for name in ("HAILUO_PROVIDER", "DISCORD_TOKEN", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'ok.db'}")
    assert main(["doctor"]) == 0
    assert capsys.readouterr().out.strip().endswith("All is well.")
    monkeypatch.setenv("HAILUO_PROVIDER", "cloudflare")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FIX  provider: HAILUO_PROVIDER=cloudflare needs CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN" in out


def manifest_bot_scopes(text: str) -> list[str]:
    """`oauth_config.scopes.bot` from slack/manifest.yml, parsed strictly: that one block-style list, nothing else.

    Any shape this parser does not know (flow lists, quoting, anchors, a second `bot:` key...) fails the test.
    """
    lines = [line.split(" #", 1)[0].rstrip() for line in text.splitlines()]
    lines = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    path, found = ["oauth_config", "scopes", "bot"], None
    for i, line in enumerate(lines):
        if line == "oauth_config:":
            assert found is None, "oauth_config appears twice"
            found = i
    assert found is not None, "no top-level oauth_config: in the manifest"
    i = found
    for depth, key in enumerate(path[1:], start=1):
        i += 1
        assert lines[i] == "  " * depth + key + ":", f"expected {key}: under {path[depth - 1]}, got {lines[i]!r}"
    indent = "  " * len(path) + "- "
    scopes = []
    for line in lines[i + 1:]:
        if not line.startswith(indent):
            assert len(line) - len(line.lstrip()) < len(indent) - 2, f"unexpected line in the scope list: {line!r}"
            break
        item = line[len(indent):]
        assert re.fullmatch(r"[a-z_]+(:[a-z_.]+)*", item), f"not a plain scope name: {item!r}"
        scopes.append(item)
    assert scopes, "empty scope list"
    return scopes


def test_slack_scopes_match_the_manifest() -> None:
    manifest = (Path(__file__).resolve().parent.parent / "slack" / "manifest.yml").read_text()
    scopes = manifest_bot_scopes(manifest)
    assert len(scopes) == len(set(scopes)), scopes
    assert tuple(scopes) == BOT_SCOPES
    assert "groups:history" in scopes


async def test_slack_doctor_asks_for_every_manifest_scope(tmp_path: Path, fakes) -> None:
    _, slack, _ = fakes
    slack.scopes = ",".join(s for s in BOT_SCOPES if s != "groups:history")
    found = verdicts(await diagnose(settings_for(tmp_path, *fakes)))
    assert found["slack"] == (False, "the bot token lacks the scope(s) groups:history. Add them (or recreate the "
                                     "app from slack/manifest.yml) and reinstall the app.")
