"""How a Job maps to a row of the jobs table and back."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import aiosqlite

from bot.contract import VideoRequest
from bot.jobs import AT_PROVIDER, CANCELLABLE, TERMINAL, Job, JobStatus

JOB_COLUMNS = [f.name for f in fields(Job)]
TERMINAL_SQL = "(" + ",".join(f"'{s.value}'" for s in TERMINAL) + ")"
# At the provider, or being sent to it: what its concurrency limit counts.
IN_FLIGHT = ("submitting", "submitted", "preparing", "queueing", "processing")
IN_FLIGHT_SQL = "(" + ",".join(f"'{s}'" for s in IN_FLIGHT) + ")"
AT_PROVIDER_SQL = "(" + ",".join(sorted(f"'{s.value}'" for s in AT_PROVIDER)) + ")"
# A job whose dollars count as spent: all but those that failed, expired or were cancelled with a refund.
SPENT_SQL = ("status NOT IN ('failed', 'expired') "
             "AND NOT (status = 'cancelled' AND COALESCE(cancel_refunded, 0) = 1)")
CANCELLABLE_SQL = "(" + ",".join(f"'{s.value}'" for s in sorted(CANCELLABLE)) + ")"


def job_row(job: Job) -> dict[str, Any]:
    """The job as column values, in table order."""
    return {name: column(getattr(job, name)) for name in JOB_COLUMNS}


def column(value: Any) -> Any:
    """One field as the database stores it."""
    if isinstance(value, VideoRequest):
        return value.to_json()
    if isinstance(value, JobStatus):
        return value.value
    if isinstance(value, bool):
        return int(value)  # both databases keep a flag as 0 or 1
    if isinstance(value, str) and type(value) is not str:
        return str(value)  # a translatable text (bot.i18n.Text) is stored as its English words
    return value


def to_job(row: aiosqlite.Row) -> Job:
    """A `SELECT *` row of the jobs table as a Job."""
    data = {name: row[name] for name in JOB_COLUMNS}
    data["request"] = VideoRequest.from_json(data["request"])
    data["status"] = JobStatus(data["status"])
    if data["cancel_refunded"] is not None:  # kept as 0 or 1
        data["cancel_refunded"] = bool(data["cancel_refunded"])
    return Job(**data)
