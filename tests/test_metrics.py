"""`/healthz` and `/metrics` scraped while a job runs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from bot.cli.health import serve
from bot.cli.runtime import open_runtime
from bot.commands import CommandRequest
from tests.conftest import make_settings
from tests.helpers import FakeChatPort


async def test_health_and_metrics_during_a_job(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, local_delay_seconds=3, poll_first_seconds=0.2, poll_max_seconds=0.3)
    port = FakeChatPort()
    async with open_runtime(settings, {"fake": port}) as rt:
        runner = await serve(rt, 0, host="127.0.0.1")
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            reply = await rt.core.handle(CommandRequest("fake", "w", "c", "u1", "video", prompt="fireworks"))
            assert reply.ok
            async with httpx.AsyncClient(base_url=base) as http:
                for _ in range(100):
                    job = await rt.store.get_job(reply.job_id)
                    if job.status.at_provider:
                        break
                    await asyncio.sleep(0.05)
                text = (await http.get("/metrics")).text
                assert f'hailuo_jobs{{status="{job.status.value}"}} 1.0' in text
                assert "hailuo_jobs_in_flight 1.0" in text and "hailuo_queue_depth 0.0" in text
                assert 'hailuo_credits_total{kind="reserve"} 1.0' in text
                assert 'hailuo_provider_request_seconds_count{operation="submit"} 1.0' in text
                health = await http.get("/healthz")
                assert health.status_code == 200
                assert health.json() == {"database": "ok", "poller": "ok", "adapters": {"fake": "connected"},
                                         "ok": True}
                port.connected = False  # type: ignore[attr-defined]
                down = await http.get("/healthz")
                assert down.status_code == 503 and down.json()["adapters"] == {"fake": "disconnected"}
                port.connected = True  # type: ignore[attr-defined]
                for _ in range(200):
                    if (await rt.store.get_job(reply.job_id)).status.terminal:
                        break
                    await asyncio.sleep(0.05)
                text = (await http.get("/metrics")).text
                assert 'hailuo_jobs{status="delivered"} 1.0' in text
                assert "hailuo_spend_usd_total 0.28" in text
        finally:
            await runner.cleanup()
