"""Data care on the shell: `db backup PATH` and `prune --older-than DAYS`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from time import time as now

from bot.config import Settings
from storage import SQLiteStore


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register `db backup` and `prune`."""
    db = sub.add_parser("db", help="database care")
    dsub = db.add_subparsers(dest="db_command", required=True)
    backup = dsub.add_parser("backup", help="copy the database with SQLite's online backup (safe while running)")
    backup.add_argument("path", help="where to write the copy")
    prune = sub.add_parser("prune", help="delete media files of jobs finished long ago (the job rows stay)")
    prune.add_argument("--older-than", type=float, required=True, metavar="DAYS", help="age in days")
    prune.add_argument("--dry-run", action="store_true", help="list what would go, delete nothing")


async def db(settings: Settings, args: argparse.Namespace) -> int:
    """`hailuo-bot db backup PATH`."""
    target = Path(args.path)
    if target.exists():
        print(f"{target} already exists; choose a new file name.", file=sys.stderr)
        return 2
    store = await SQLiteStore.open(settings.database_path)
    try:
        await store.backup(str(target))
    finally:
        await store.close()
    print(f"Backed up {settings.database_path} to {target}.")
    return 0


async def prune(settings: Settings, args: argparse.Namespace) -> int:
    """`hailuo-bot prune --older-than DAYS`: remove finished jobs' videos and first frames."""
    if args.older_than < 0:
        print("--older-than must be zero or more days.", file=sys.stderr)
        return 2
    store = await SQLiteStore.open(settings.database_path)
    try:
        jobs = await store.finished_before(now() - args.older_than * 86400)
        freed = files = 0
        for job in jobs:
            paths = [p for p in (job.video_path, job.request.first_frame and job.request.first_frame.path) if p]
            for path in map(Path, paths):
                if path.is_file():
                    size = path.stat().st_size
                    if not args.dry_run:
                        await asyncio.to_thread(path.unlink)
                    freed += size
                    files += 1
            if job.video_path and not args.dry_run:
                await store.update(job, video_path=None)
            if job.request.first_frame is not None and not args.dry_run:
                await store.drop_frame(Path(job.request.first_frame.path).name)
    finally:
        await store.close()
    verb = "Would delete" if args.dry_run else "Deleted"
    print(f"{verb} {files} file(s), {freed / 1_048_576:.1f} MB, from {len(jobs)} finished job(s).")
    return 0
