"""The SQLite store: jobs, their history and the quota ledger, behind intention-named methods."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from importlib import resources
from typing import Any

import aiosqlite

from bot.contract import VideoRequest
from bot.jobs import TERMINAL, IllegalTransition, Job, JobStatus, check_transition
from storage.admin import AdminQueries

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
_JOB_COLUMNS = [f.name for f in fields(Job)]
_TERMINAL_SQL = "(" + ",".join(f"'{s.value}'" for s in TERMINAL) + ")"
_USED_SQL = "COALESCE(SUM(CASE kind WHEN 'reserve' THEN credits WHEN 'release' THEN -credits ELSE 0 END), 0)"
# One round per turn: the job is its user's turn `ahead`; every user with more waiting jobs than
# that has `ahead` jobs in the earlier rounds and one in this round, served by first arrival.
_POSITION_SQL = """WITH users AS (
  SELECT platform || ':' || user_id AS k, COUNT(*) AS n, MIN(created_at) AS first
  FROM jobs WHERE status = 'queued' GROUP BY platform, user_id),
me AS (SELECT
  (SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND platform = :p AND user_id = :u
     AND (created_at < :at OR (created_at = :at AND id < :id))) AS ahead,
  COALESCE((SELECT first FROM users WHERE k = :k), :at) AS first)
SELECT 1 + COALESCE(SUM(min(users.n, me.ahead) + (users.k != :k AND users.n > me.ahead
  AND (users.first < me.first OR (users.first = me.first AND users.k < :k)))), 0)
FROM users, me"""
_QUOTA_SQL = f"""SELECT
  (SELECT daily_credits FROM quota_limits WHERE platform = :p AND workspace_id = :w AND user_id = :u) AS user_limit,
  (SELECT daily_credits FROM quota_limits WHERE platform = :p AND workspace_id = :w AND user_id = '') AS ws_limit,
  (SELECT {_USED_SQL} FROM quota_ledger WHERE platform = :p AND user_id = :u AND day = :d) AS used,
  (SELECT {_USED_SQL} FROM quota_ledger WHERE platform = :p AND workspace_id = :w AND day = :d) AS ws_used,
  (SELECT COALESCE(SUM(credits), 0) FROM quota_ledger r WHERE kind = 'reserve' AND platform = :p
     AND user_id = :u AND day = :d AND NOT EXISTS (SELECT 1 FROM quota_ledger s
     WHERE s.job_id = r.job_id AND s.kind IN ('capture', 'release'))) AS held"""


@dataclass(frozen=True)
class Reservation:
    """The outcome of trying to reserve credits for a new job."""

    ok: bool
    refused_by: str | None = None  # "user", "workspace", "in_flight" or "budget"
    limit: int = 0
    used: int = 0
    spent_usd: float = 0.0

    @property
    def left(self) -> int:
        """Credits left under the limit that decided."""
        return max(0, self.limit - self.used)


@dataclass(frozen=True)
class QueueEntry:
    """A waiting job as the fair order needs it: who asked, and when."""

    id: str
    platform: str
    user_id: str
    created_at: float
    status_message_id: str | None
    next_poll_at: float


@dataclass(frozen=True)
class QuotaUsage:
    """A user's and their workspace's credits for one day."""

    user_used: int
    user_held: int
    user_limit: int
    workspace_used: int
    workspace_limit: int

    @property
    def user_left(self) -> int:
        """Credits the user can still spend today."""
        return max(0, min(self.user_limit - self.user_used, self.workspace_limit - self.workspace_used))

    @property
    def workspace_left(self) -> int:
        """Credits left in the workspace pool today."""
        return max(0, self.workspace_limit - self.workspace_used)


class Store(AdminQueries):
    """Persistence for jobs and quotas on one aiosqlite connection."""

    def __init__(self, db: aiosqlite.Connection, clock: Any = time.time) -> None:
        self._db = db
        self._lock = asyncio.Lock()
        self._clock = clock

    @classmethod
    async def open(cls, path: str, clock: Any = time.time) -> Store:
        """Open (creating if needed) the database at `path` and bring its schema up to date."""
        db = await aiosqlite.connect(path, isolation_level=None)
        db.row_factory = aiosqlite.Row
        await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("PRAGMA foreign_keys = ON")
        store = cls(db, clock)
        await store.migrate()
        return store

    async def close(self) -> None:
        """Close the connection."""
        await self._db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        # One writer at a time in this process; BEGIN IMMEDIATE also serialises against
        # other processes on the same file, waiting up to the busy timeout.
        async with self._lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        # Every await on the connection is a hop to its thread: one per statement, not two.
        async with self._lock:
            return list(await self._db.execute_fetchall(sql, params))

    async def _write_one(self, sql: str, params: Sequence[Any]) -> None:
        # A single statement is a transaction of its own: no BEGIN/COMMIT round trips. The lock
        # keeps it out of another coroutine's open transaction on this connection.
        async with self._lock:
            await self._db.execute(sql, params)

    # -- schema -------------------------------------------------------------------------

    async def schema_version(self) -> int:
        """The migration number recorded in PRAGMA user_version."""
        rows = await self._read("PRAGMA user_version")
        return int(rows[0][0])

    async def migrate(self) -> int:
        """Apply every numbered migration newer than the database; return the new version."""
        files = sorted(
            (f for f in resources.files("storage.migrations").iterdir() if f.name.endswith(".sql")),
            key=lambda f: f.name,
        )
        version = await self.schema_version()
        for f in files:
            number = int(f.name.split("_", 1)[0])
            if number <= version:
                continue
            script = f.read_text(encoding="utf-8")
            async with self._lock:
                # executescript would commit first; one BEGIN ... COMMIT keeps a migration atomic.
                await self._db.executescript(
                    f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
                )
            log.info("applied migration %s", f.name)
            version = number
        return version

    # -- jobs ---------------------------------------------------------------------------

    async def create_job(
        self,
        job: Job,
        *,
        day: str,
        user_limit: int,
        workspace_limit: int,
        max_in_flight: int | None = None,
        budget_usd: float | None = None,
    ) -> Reservation:
        """Check every limit and, if all hold, reserve the job's cost and record it, in one transaction."""
        async with self._write() as db:
            if max_in_flight is not None:
                (row,) = await db.execute_fetchall(
                    f"SELECT COUNT(*) FROM jobs WHERE platform = ? AND user_id = ? AND status NOT IN {_TERMINAL_SQL} "
                    "AND status NOT IN ('succeeded', 'delivering')",
                    (job.platform, job.user_id),
                )
                running = int(row[0])
                if running >= max_in_flight:
                    return Reservation(False, "in_flight", max_in_flight, running)
            if budget_usd is not None:
                (row,) = await db.execute_fetchall(
                    "SELECT COALESCE(SUM(price_usd), 0) FROM jobs "
                    "WHERE day = ? AND status NOT IN ('failed', 'expired')",
                    (day,),
                )
                spent = float(row[0])
                if spent + job.price_usd > budget_usd + 1e-9:
                    return Reservation(False, "budget", 0, 0, spent)
            quota = await self._quota(db, job.platform, job.workspace_id, job.user_id, day,
                                      user_limit, workspace_limit)
            if quota.user_used + job.cost > quota.user_limit:
                return Reservation(False, "user", quota.user_limit, quota.user_used)
            if quota.workspace_used + job.cost > quota.workspace_limit:
                return Reservation(False, "workspace", quota.workspace_limit, quota.workspace_used)
            row = self._job_row(job)
            await db.execute(
                f"INSERT INTO jobs ({','.join(row)}) VALUES ({','.join('?' * len(row))})", list(row.values())
            )
            await self._ledger(db, job, "reserve", day)
            await db.execute(
                "INSERT INTO job_events (job_id, status, at) VALUES (?, ?, ?)",
                (job.id, job.status.value, job.created_at),
            )
            return Reservation(True, None, quota.user_limit, quota.user_used + job.cost)

    async def get_job(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
        rows = await self._read("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _to_job(rows[0]) if rows else None

    async def job_by_task(self, task_id: str) -> Job | None:
        """The job the provider knows by this task id."""
        rows = await self._read("SELECT * FROM jobs WHERE task_id = ? ORDER BY created_at DESC LIMIT 1", (task_id,))
        return _to_job(rows[0]) if rows else None

    async def transition(self, job: Job, new: JobStatus, *, detail: str | None = None, **changes: Any) -> Job:
        """Move a job from its current status to `new`, guarded at the database; settle quota at the end.

        Raises IllegalTransition when the table forbids it or the row is no longer in `job.status`.
        """
        check_transition(job.status, new)
        now = self._clock()
        updated = job.advance(new, updated_at=now, **changes)
        sets = {"status": new.value, "updated_at": now, **{k: _column(v) for k, v in changes.items()}}
        async with self._write() as db:
            cur = await db.execute(
                f"UPDATE jobs SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ? AND status = ?",
                [*sets.values(), job.id, job.status.value],
            )
            if cur.rowcount != 1:
                raise IllegalTransition(f"job {job.id} is no longer {job.status}")
            await db.execute(
                "INSERT INTO job_events (job_id, status, at, detail) VALUES (?, ?, ?, ?)",
                (job.id, new.value, now, detail),
            )
            if new in (JobStatus.FAILED, JobStatus.EXPIRED):
                await self._settle(db, job, "release")
            elif new is JobStatus.DELIVERED:
                await self._settle(db, job, "capture")
        return updated

    async def update(self, job: Job, **changes: Any) -> Job:
        """Change a job's non-status fields (poll schedule, refs, video file)."""
        if not changes:
            return job
        changes["updated_at"] = self._clock()
        await self._write_one(f"UPDATE jobs SET {', '.join(f'{k} = ?' for k in changes)} WHERE id = ?",
                              [*(_column(v) for v in changes.values()), job.id])
        return job.replace(**changes)

    async def active_jobs(self, platforms: Iterable[str] | None = None) -> list[Job]:
        """Every job not yet delivered, failed or expired, oldest first."""
        sql = f"SELECT * FROM jobs WHERE status NOT IN {_TERMINAL_SQL}"
        params: list[Any] = []
        if platforms is not None:
            names = list(platforms)
            sql += f" AND platform IN ({','.join('?' * len(names))})"
            params += names
        rows = await self._read(sql + " ORDER BY created_at, id", params)
        return [_to_job(r) for r in rows]

    async def due_jobs(self, now: float, platforms: Iterable[str], expire_before: float, limit: int = 500) -> list[Job]:
        """Unfinished jobs of these platforms whose next step is due, most overdue first.

        Jobs waiting for a provider slot are left out (the poller takes them from `queued_keys`, as
        many as there are slots), except those that arrived before `expire_before` and must expire.
        """
        names = list(platforms)
        if not names:
            return []
        rows = await self._read(
            f"SELECT * FROM jobs WHERE status NOT IN {_TERMINAL_SQL} AND next_poll_at <= ? "
            "AND (status != 'queued' OR created_at < ?) "
            f"AND platform IN ({','.join('?' * len(names))}) ORDER BY next_poll_at, created_at LIMIT ?",
            [now, expire_before, *names, limit],
        )
        return [_to_job(r) for r in rows]

    async def queued_keys(self) -> list[QueueEntry]:
        """Every waiting job's id, user and arrival, in arrival order (cheap: no request parsing)."""
        rows = await self._read(
            "SELECT id, platform, user_id, created_at, status_message_id, next_poll_at FROM jobs "
            "WHERE status = 'queued' ORDER BY created_at, id"
        )
        return [QueueEntry(*r) for r in rows]

    async def queued_jobs(self) -> list[Job]:
        """Every job waiting for a provider slot, in arrival order."""
        rows = await self._read("SELECT * FROM jobs WHERE status = 'queued' ORDER BY created_at, id")
        return [_to_job(r) for r in rows]

    async def queue_position(self, job: Job) -> int:
        """A waiting job's place in the fair order (bot.fairness), counted in the database: no queue to load."""
        key = f"{job.platform}:{job.user_id}"
        params = {"p": job.platform, "u": job.user_id, "k": key, "at": job.created_at, "id": job.id}
        rows = await self._read(_POSITION_SQL, params)
        return int(rows[0][0])

    async def count_in_flight(self) -> int:
        """Jobs the provider is working on (or being sent to it), across every platform."""
        rows = await self._read(
            "SELECT COUNT(*) FROM jobs WHERE status IN ('submitting', 'submitted', 'preparing', 'queueing', "
            "'processing')"
        )
        return int(rows[0][0])

    async def next_due_at(self, platforms: Iterable[str]) -> tuple[float | None, bool]:
        """When the earliest unfinished, non-waiting job of these platforms is due; and whether any wait."""
        names = list(platforms)
        if not names:
            return None, False
        rows = await self._read(
            "SELECT MIN(CASE WHEN status != 'queued' THEN next_poll_at END), "
            f"MAX(status = 'queued') FROM jobs WHERE status NOT IN {_TERMINAL_SQL} "
            f"AND platform IN ({','.join('?' * len(names))})",
            names,
        )
        return rows[0][0], bool(rows[0][1])

    async def snapshot(self) -> dict[str, object]:
        """Counts for metrics: jobs by status, jobs at the provider, credits by ledger step, dollars."""
        jobs = {r[0]: r[1] for r in await self._read("SELECT status, COUNT(*) FROM jobs GROUP BY status")}
        credits = {r[0]: r[1] for r in await self._read("SELECT kind, SUM(credits) FROM quota_ledger GROUP BY kind")}
        usd = (await self._read("SELECT COALESCE(SUM(price_usd), 0) FROM jobs WHERE status = 'delivered'"))[0][0]
        in_flight = sum(jobs.get(s, 0) for s in ("submitting", "submitted", "preparing", "queueing", "processing"))
        return {"jobs": jobs, "credits": credits, "usd": float(usd), "in_flight": in_flight}

    async def finished_before(self, cutoff: float) -> list[Job]:
        """Jobs that ended (delivered, failed, expired) before `cutoff`, oldest first."""
        rows = await self._read(
            f"SELECT * FROM jobs WHERE status IN {_TERMINAL_SQL} AND updated_at < ? ORDER BY updated_at", (cutoff,)
        )
        return [_to_job(r) for r in rows]

    async def backup(self, path: str) -> None:
        """Copy the whole database to `path` with SQLite's online backup (safe while the bot runs)."""
        target = await aiosqlite.connect(path)
        try:
            async with self._lock:
                await self._db.backup(target)
        finally:
            await target.close()

    async def history(self, platform: str, user_id: str, limit: int = 10) -> list[Job]:
        """A user's newest jobs."""
        rows = await self._read(
            "SELECT * FROM jobs WHERE platform = ? AND user_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
            (platform, user_id, limit),
        )
        return [_to_job(r) for r in rows]

    async def events(self, job_id: str) -> list[tuple[str, float, str | None]]:
        """A job's status history: (status, time, detail), in order."""
        rows = await self._read(
            "SELECT status, at, detail FROM job_events WHERE job_id = ? ORDER BY id", (job_id,)
        )
        return [(r["status"], r["at"], r["detail"]) for r in rows]

    # -- quota --------------------------------------------------------------------------

    async def usage(
        self, platform: str, workspace_id: str, user_id: str, *, day: str, user_limit: int, workspace_limit: int
    ) -> QuotaUsage:
        """A user's and their workspace's credits for `day`."""
        async with self._lock:
            return await self._quota(self._db, platform, workspace_id, user_id, day, user_limit, workspace_limit)

    async def ledger(self, job_id: str) -> list[tuple[str, int, str]]:
        """A job's ledger rows: (kind, credits, day)."""
        rows = await self._read("SELECT kind, credits, day FROM quota_ledger WHERE job_id = ? ORDER BY id", (job_id,))
        return [(r["kind"], r["credits"], r["day"]) for r in rows]

    async def _quota(self, db: aiosqlite.Connection, platform: str, ws: str, user: str, day: str,
                     user_default: int, ws_default: int) -> QuotaUsage:
        # Limits (an override, else the default), credits used and credits on hold, in one statement.
        (row,) = await db.execute_fetchall(_QUOTA_SQL, {"p": platform, "w": ws, "u": user, "d": day})
        user_limit = user_default if row["user_limit"] is None else int(row["user_limit"])
        ws_limit = ws_default if row["ws_limit"] is None else int(row["ws_limit"])
        return QuotaUsage(int(row["used"]), int(row["held"]), user_limit, int(row["ws_used"]), ws_limit)

    async def _ledger(self, db: aiosqlite.Connection, job: Job, kind: str, day: str) -> None:
        await db.execute(
            "INSERT INTO quota_ledger (job_id, platform, workspace_id, user_id, day, kind, credits, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (job.id, job.platform, job.workspace_id, job.user_id, day, kind, job.cost, self._clock()),
        )

    async def _settle(self, db: aiosqlite.Connection, job: Job, kind: str) -> None:
        # A hold ends exactly once: captured or released against the day it was reserved.
        await db.execute(
            "INSERT INTO quota_ledger (job_id, platform, workspace_id, user_id, day, kind, credits, at) "
            "SELECT job_id, platform, workspace_id, user_id, day, ?, credits, ? FROM quota_ledger r "
            "WHERE job_id = ? AND kind = 'reserve' AND NOT EXISTS (SELECT 1 FROM quota_ledger s "
            "WHERE s.job_id = r.job_id AND s.kind IN ('capture', 'release'))",
            (kind, self._clock(), job.id),
        )

    @staticmethod
    def _job_row(job: Job) -> dict[str, Any]:
        return {name: _column(getattr(job, name)) for name in _JOB_COLUMNS}


def _column(value: Any) -> Any:
    if isinstance(value, VideoRequest):
        return value.to_json()
    if isinstance(value, JobStatus):
        return value.value
    return value


def _to_job(row: aiosqlite.Row) -> Job:
    data = {name: row[name] for name in _JOB_COLUMNS}
    data["request"] = VideoRequest.from_json(data["request"])
    data["status"] = JobStatus(data["status"])
    return Job(**data)
