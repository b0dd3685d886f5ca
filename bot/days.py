"""Quota days (reset at 00:00 UTC) and how long until the next one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.messages import duration_text


def utc_day(now: float) -> str:
    """The quota day (YYYY-MM-DD, UTC) that `now` falls in."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


def seconds_until_reset(now: float) -> float:
    """Seconds from `now` until the next 00:00 UTC."""
    moment = datetime.fromtimestamp(now, UTC)
    midnight = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - moment).total_seconds()


def human_duration(seconds: float) -> str:
    """`3 h 12 min`, `4 min`, `25 s`: short and plain (a Text, rendered in the reader's language)."""
    return duration_text(seconds)
