"""The inbox drill in its short form: 100 signed commands, SIGKILL during the burst, a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.inbox_drill import drill


@pytest.mark.parametrize("seed", [7, 11])
async def test_every_acknowledged_command_ends_as_one_job_or_one_reply(tmp_path: Path, seed: int) -> None:
    result = await drill(tmp_path, count=150, seed=seed)
    assert result.acknowledged >= result.killed_after > 0
    assert result.lost == [], f"acknowledged, then lost: {result.lost}"
    assert result.twice == [] and result.repeated == [], f"answered twice: {result.twice + result.repeated}"
    assert result.charges == result.jobs  # one reservation per job, never two
    assert result.jobs > 0 and result.replies > 0
