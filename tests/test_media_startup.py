"""`run` write-tests MEDIA_DIR before it starts: an unusable one stops it in one line, not every job later."""

from __future__ import annotations

from pathlib import Path

from bot import messages
from tests.test_startup import one_line_naming, start


def test_media_dir_under_a_regular_file_stops_run_at_once(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder")
    media = tmp_path / "afile" / "media"  # mkdir fails even for root: a file is in the way
    line = one_line_naming(start(tmp_path, "run", MEDIA_DIR=str(media)), "MEDIA_DIR")
    reason = "Not a directory"
    assert line == "configuration error: " + messages.LOCAL_MEDIA_UNWRITABLE.format(path=media, reason=reason)
    assert not (tmp_path / "bot.db").exists()  # refused before the database was touched
