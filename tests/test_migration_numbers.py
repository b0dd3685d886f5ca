"""Migration numbers: unique, the same in both dialects, and a database made by an earlier release gets every newer one.

Numbers are given out per feature before the features land, so one may land after a higher one: the runner
applies only numbers above the database's version, so a late low number would never reach a database
already past it. The released schema stood at 13 (Cancel); every migration since must be numbered above it.
"""

import sqlite3
from pathlib import Path

from storage import open_store

ROOT = Path(__file__).resolve().parent.parent / "storage"
RELEASED = 13  # the schema version of main before the migrations of the chains, presets and job times
RELEASED_FILES = {*range(1, 12), 13}  # the migrations that release had (12 was given out and not landed)


def _numbers(folder: str) -> list[int]:
    return sorted(int(f.name.split("_", 1)[0]) for f in (ROOT / folder).glob("*.sql"))


def test_numbers_are_unique_and_alike_in_both_dialects() -> None:
    sqlite_numbers, pg_numbers = _numbers("migrations"), _numbers("migrations_pg")
    assert len(set(sqlite_numbers)) == len(sqlite_numbers)
    assert sqlite_numbers == pg_numbers


async def test_a_database_at_the_released_version_gets_every_newer_migration(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the schema an earlier release left: migrations up to RELEASED only
        for f in sorted((ROOT / "migrations").glob("*.sql")):
            if int(f.name.split("_", 1)[0]) in RELEASED_FILES:
                db.executescript(f.read_text(encoding="utf-8"))
        db.execute(f"PRAGMA user_version = {RELEASED}")
    store = await open_store(f"sqlite:///{path}")
    try:
        assert await store.schema_version() == max(_numbers("migrations"))
    finally:
        await store.close()
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        columns = {r[1] for r in db.execute("PRAGMA table_info(jobs)")}
    assert {"job_times", "presets", "preset_defaults"} <= tables
    assert {"chain_parent", "chain_root", "chain_index"} <= columns
