"""Data care on the shell: `db backup PATH`, `db copy SOURCE_URL TARGET_URL` and `prune --older-than DAYS`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from time import time as now

from bot.config import Settings, database_kind, sqlite_path
from bot.store import StoreUnavailable
from storage import open_store
from storage.copy import TABLES, CopyFailed, CopyRefused, copy_database, scrub, shown

PG_BACKUP = ("db backup copies a SQLite file, and DATABASE_URL names PostgreSQL: back it up with pg_dump "
             "(pg_dump --format=custom --file=bot.dump \"$DATABASE_URL\"; restore with pg_restore).")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register `db backup`, `db copy` and `prune`."""
    db = sub.add_parser("db", help="database care")
    dsub = db.add_subparsers(dest="db_command", required=True)
    backup = dsub.add_parser("backup", help="copy the database with SQLite's online backup (safe while running)")
    backup.add_argument("path", help="where to write the copy")
    copy = dsub.add_parser("copy", help="copy every job, ledger row, limit and admin record into an empty database")
    copy.add_argument("source", metavar="SOURCE_URL", help="the database to copy from (e.g. sqlite:///data/bot.db)")
    copy.add_argument("target", metavar="TARGET_URL", help="an empty database to copy into (e.g. postgresql://...)")
    prune = sub.add_parser("prune", help="delete media files of jobs finished long ago (the job rows stay)")
    prune.add_argument("--older-than", type=float, required=True, metavar="DAYS", help="age in days")
    prune.add_argument("--dry-run", action="store_true", help="list what would go, delete nothing")


async def db(settings: Settings, args: argparse.Namespace) -> int:
    """`hailuo-bot db backup PATH` or `hailuo-bot db copy SOURCE_URL TARGET_URL`."""
    if args.db_command == "copy":
        return await copy(args.source, args.target)
    if settings.database_kind == "postgresql":
        print(PG_BACKUP, file=sys.stderr)
        return 2
    target = Path(args.path)
    if target.exists():
        print(f"{target} already exists; choose a new file name.", file=sys.stderr)
        return 2
    store = await open_store(settings.database_url)
    try:
        await store.backup(str(target))  # type: ignore[attr-defined]  # SQLite's online backup
    finally:
        await store.close()
    print(f"Backed up {settings.database_path} to {target}.")
    return 0


async def prune(settings: Settings, args: argparse.Namespace) -> int:
    """`hailuo-bot prune --older-than DAYS`: remove finished jobs' videos and first frames."""
    if args.older_than < 0:
        print("--older-than must be zero or more days.", file=sys.stderr)
        return 2
    store = await open_store(settings.database_url)
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
        # Joined chains are made again on each press, so an old one is only a cache: gone by its age.
        for path in _older_joined(Path(settings.media_dir), now() - args.older_than * 86400):
            size = path.stat().st_size
            if not args.dry_run:
                await asyncio.to_thread(path.unlink, missing_ok=True)
            freed += size
            files += 1
    finally:
        await store.close()
    verb = "Would delete" if args.dry_run else "Deleted"
    print(f"{verb} {files} file(s), {freed / 1_048_576:.1f} MB, from {len(jobs)} finished job(s).")
    return 0


def _older_joined(media: Path, cutoff: float) -> list[Path]:
    """The joined chain videos under MEDIA_DIR/chains last written before `cutoff`."""
    folder = media / "chains"
    return [p for p in sorted(folder.glob("*.mp4")) if p.stat().st_mtime < cutoff] if folder.is_dir() else []


async def copy(source_url: str, target_url: str) -> int:
    """`hailuo-bot db copy`: exit 0 copied, 2 refused or unusable (nothing changed), 1 failed (target left empty)."""
    for role, url in (("SOURCE_URL", source_url), ("TARGET_URL", target_url)):
        try:
            database_kind(url)
        except ValueError as exc:
            print(f"db copy: {str(exc).replace('DATABASE_URL', role)}", file=sys.stderr)
            return 2
    if database_kind(source_url) == "sqlite" and not Path(sqlite_path(source_url)).is_file():
        print(f"db copy: SOURCE_URL: there is no SQLite database at {sqlite_path(source_url)}", file=sys.stderr)
        return 2
    stores = []
    try:
        for role, url in (("SOURCE_URL", source_url), ("TARGET_URL", target_url)):
            try:
                stores.append(await open_store(url))
            except StoreUnavailable as exc:
                print(f"db copy: {str(exc).replace('DATABASE_URL', role)}", file=sys.stderr)
                return 2
        try:
            counts = await copy_database(*stores)
        except CopyRefused as exc:
            print(f"db copy: {exc}.", file=sys.stderr)
            return 2
        except Exception as exc:  # the target's transaction was rolled back: say why in one line, no traceback
            text = str(exc) if isinstance(exc, CopyFailed) else f"({type(exc).__name__}: {exc})"
            print(f"db copy failed {scrub(text, source_url, target_url)}; the target was left as it was, "
                  "nothing copied.", file=sys.stderr)
            return 1
    finally:
        for store in stores:
            await store.close()
    rows = ", ".join(f"{counts[t]} {t}" for t in TABLES)
    print(f"Copied {shown(source_url)} to {shown(target_url)}: {rows}.")
    return 0
