"""Prometheus counters and gauges the bot keeps as it works (served by the wiring on METRICS_PORT)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """Counters the bot updates as it works; gauges filled from the database at each scrape."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.provider_seconds = Histogram(
            "hailuo_provider_request_seconds", "Provider call latency", ["operation"], registry=r,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
        )
        self.provider_errors = Counter(
            "hailuo_provider_errors_total", "Provider errors by code and whose fault", ["operation", "code", "fault"],
            registry=r,
        )
        self.delivery_failures = Counter("hailuo_delivery_failures_total", "Failed attempts to post a video",
                                         registry=r)
        self.platform_rate_limited = Counter(
            "hailuo_platform_rate_limited_total", "429 answers from a chat platform (waited out, not failures)",
            ["platform", "action"], registry=r)
        self.status_edits = Counter("hailuo_status_edits_total", "Status edits by outcome (sent, skipped, collapsed)",
                                    ["outcome"], registry=r)
        self.jobs = Gauge("hailuo_jobs", "Jobs by status", ["status"], registry=r)
        self.queue_depth = Gauge("hailuo_queue_depth", "Jobs waiting for a provider slot", registry=r)
        self.in_flight = Gauge("hailuo_jobs_in_flight", "Jobs at the provider", registry=r)
        self.credits = Gauge("hailuo_credits_total", "Credits by ledger step", ["kind"], registry=r)
        self.spend = Gauge("hailuo_spend_usd_total", "Estimated dollars spent on delivered videos", registry=r)
        self.heartbeat_age = Gauge("hailuo_poller_heartbeat_age_seconds", "Seconds since the poller last ran",
                                   registry=r)
        self.connected = Gauge("hailuo_adapter_connected", "1 when the adapter is connected", ["platform"],
                               registry=r)

    @contextmanager
    def provider_call(self, operation: str) -> Iterator[None]:
        """Time a provider call and count its failure by code."""
        start = time.perf_counter()
        try:
            yield
        except Exception as exc:
            code = getattr(exc, "code", None) or type(exc).__name__
            fault = getattr(getattr(exc, "fault", None), "value", "unknown")
            self.provider_errors.labels(operation, str(code), fault).inc()
            raise
        finally:
            self.provider_seconds.labels(operation).observe(time.perf_counter() - start)
