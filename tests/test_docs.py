"""The README and .env.example name every setting the bot reads."""

from pathlib import Path

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / ".env.example").read_text()
    for name in Settings.model_fields:
        env = name.upper()
        assert f"`{env}`" in readme, f"{env} missing from the README's settings table"
        assert env + "=" in example, f"{env} missing from .env.example"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    command = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/pytest"
    assert command in readme and command in (ROOT / ".ci" / "run").read_text()
