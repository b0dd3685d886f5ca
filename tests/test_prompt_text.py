"""Prompts that are not text, or show nothing, are refused before anything is charged."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot import messages
from bot.contract import InvalidRequest, VideoRequest
from tests.test_cli import env_for

INVISIBLE = [
    "\u200b\u200b",  # zero-width spaces
    "\u200c\u200d",  # zero-width non-joiner and joiner
    "\u2060",  # word joiner
    "\ufeff\ufeff",  # byte order marks
    "\u0301\u0308",  # combining marks with nothing to combine with
    " \u200b\u3000\u00a0\u200b ",  # spaces, wide and narrow, around zero-width ones
    "\u3164\u2800",  # Hangul filler and the blank Braille pattern look like nothing too
]


@pytest.mark.parametrize("prompt", INVISIBLE)
def test_invisible_only_prompt_refused(prompt: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        VideoRequest.build(prompt)
    assert str(err.value) == messages.PROMPT_INVISIBLE


def test_invisible_only_prompt_refused_with_an_image_too() -> None:
    with pytest.raises(InvalidRequest) as err:
        VideoRequest.build("\u200b", has_image=True)
    assert str(err.value) == messages.PROMPT_INVISIBLE


@pytest.mark.parametrize("prompt", ["\udcff\udcfe", "a cat \udcc3", "\ud83d"])
def test_lone_surrogates_refused(prompt: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        VideoRequest.build(prompt)
    assert str(err.value) == messages.PROMPT_NOT_TEXT


@pytest.mark.parametrize(
    "prompt",
    ["a cat", "e\u0301t\u00e9", "\U0001f408\u200d\u2b1b", "\u732b", "a\u200bb", "\u0928\u092e\u0938\u094d\u0924\u0947"],
)
def test_visible_prompts_still_pass(prompt: str) -> None:
    assert VideoRequest.build(prompt).prompt == prompt


def test_no_prompt_with_an_image_still_passes() -> None:
    assert VideoRequest.build("  ", has_image=True).prompt == ""


def _generate(tmp_path: Path, prompt: bytes) -> subprocess.CompletedProcess[bytes]:
    # argv as bytes: the child's Python decodes it with surrogateescape, exactly as from a shell.
    return subprocess.run(
        [sys.executable.encode(), b"-m", b"bot", b"generate", prompt], capture_output=True, timeout=120,
        cwd=tmp_path, env=env_for(tmp_path),
    )


def _charged(tmp_path: Path) -> list[tuple]:
    db = tmp_path / "bot.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT 'job', id FROM jobs UNION ALL SELECT kind, credits FROM quota_ledger").fetchall()


@pytest.mark.parametrize(
    ("prompt", "message"),
    [(b"\xff\xfe", messages.PROMPT_NOT_TEXT), ("\u200b\u200d\u2060".encode(), messages.PROMPT_INVISIBLE)],
)
def test_generate_refuses_plainly_and_charges_nothing(tmp_path: Path, prompt: bytes, message: str) -> None:
    result = _generate(tmp_path, prompt)
    err = result.stderr.decode("utf-8")  # the refusal itself is plain, valid text
    assert result.returncode == 2, err
    assert message in err
    assert "Traceback" not in err
    assert result.stdout == b""
    assert _charged(tmp_path) == []
