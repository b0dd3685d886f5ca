"""Operator commands on the shell: `quota show|set` and `usage [--since DATE] [--csv]`."""

from __future__ import annotations

import argparse
import csv
import getpass
import sqlite3
import sys
from dataclasses import astuple, fields

from bot.config import Settings
from bot.days import utc_day
from bot.store import Store, StoreUnavailable, UsageRow
from storage import open_store
from storage.copy import shown


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register `quota` and `usage` on the main parser."""
    quota = sub.add_parser("quota", help="show or set daily credit limits (operators)")
    qsub = quota.add_subparsers(dest="quota_command", required=True)
    show = qsub.add_parser("show", help="a user's or a workspace's credits today")
    set_ = qsub.add_parser("set", help="override a user's or a workspace's daily credits")
    for p in (show, set_):
        p.add_argument("--platform", required=True, help="discord, slack or console")
        p.add_argument("--workspace", required=True, help="the guild id, Slack team id, or `local`")
        p.add_argument("--user", default="", help="a user id; omit for the whole workspace")
    set_.add_argument("credits", type=int, help="daily credits")
    usage = sub.add_parser("usage", help="credits and dollars per day, user and workspace")
    usage.add_argument("--since", default="", help="first day to include, YYYY-MM-DD")
    usage.add_argument("--csv", action="store_true", help="write CSV instead of a table")


async def quota(settings: Settings, args: argparse.Namespace) -> int:
    """`hailuo-bot quota show|set`."""
    store = await _open(settings)
    if store is None:
        return 1
    try:
        if args.quota_command == "set":
            if args.credits < 0:
                print("Credits must be zero or more.", file=sys.stderr)
                return 2
            try:
                await store.set_limit(args.platform, args.workspace, args.user, args.credits,
                                      set_by=f"shell:{_operator()}")
            except _write_errors(settings) as exc:
                print(_no_write(settings, exc), file=sys.stderr)
                return 1
            who = f"user {args.user}" if args.user else "the workspace"
            print(f"Daily credits for {who} in {args.platform}/{args.workspace} set to {args.credits}.")
            return 0
        from time import time as now

        u = await store.usage(args.platform, args.workspace, args.user or "-", day=utc_day(now()),
                              user_limit=settings.quota_user_daily_credits,
                              workspace_limit=settings.quota_workspace_daily_credits)
        if args.user:
            print(f"user {args.user}: {u.user_used - u.user_held} used, {u.user_held} held, "
                  f"{u.user_left} left of {u.user_limit} today")
        print(f"workspace {args.platform}/{args.workspace}: {u.workspace_used} used or held, "
              f"{u.workspace_left} left of {u.workspace_limit} today")
        return 0
    finally:
        await store.close()


async def usage(settings: Settings, args: argparse.Namespace) -> int:
    """`hailuo-bot usage`: one row per day, user, workspace and provider, with totals."""
    store = await _open(settings)
    if store is None:
        return 1
    try:
        rows = await store.usage_report(args.since)
    finally:
        await store.close()
    names = [f.name for f in fields(UsageRow)]
    if args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(names)
        writer.writerows(astuple(r) for r in rows)
        return 0
    table = [names] + [[str(v) for v in astuple(r)] for r in rows]
    total = ["total", "", "", "", *(str(sum(getattr(r, n) for r in rows)) for n in names[4:10]),
             f"{sum(r.usd for r in rows):.2f}", ""]
    table.append(total)
    widths = [max(len(row[i]) for row in table) for i in range(len(names))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


async def _open(settings: Settings) -> Store | None:
    try:
        return await open_store(settings.database_url)
    except (sqlite3.OperationalError, StoreUnavailable) as exc:
        if settings.database_kind == "postgresql":
            print(exc, file=sys.stderr)  # one plain line naming DATABASE_URL, the password masked
        else:
            print(_no_write(settings, exc), file=sys.stderr)
        return None


def _write_errors(settings: Settings) -> tuple[type[Exception], ...]:
    """What a refused write raises on this backend (asyncpg is loaded only when a server is named)."""
    if settings.database_kind == "postgresql":
        import asyncpg

        return (asyncpg.PostgresError,)
    return (sqlite3.OperationalError,)


def _no_write(settings: Settings, exc: Exception) -> str:
    if settings.database_kind == "postgresql":
        return (f"Cannot change the database at {shown(settings.database_url)} ({exc}). Operator commands need "
                "write access to it: use the DATABASE_URL the bot runs with.")
    return (f"Cannot change the database at {settings.database_path} ({exc}). Operator commands need "
            "write access to it: run them as the user the bot runs as.")


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"
