"""Run the benchmarks and print a table; `--json FILE` also writes every figure with its unit."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time

from benchmarks import (
    ack,
    discord_burst,
    discord_limits,
    inbox_drill,
    platform_limits,
    poller,
    polling,
    quota,
    relay,
    scale,
)

BENCHMARKS = {"ack": ack.run, "quota": quota.run, "poller": poller.run, "relay": relay.run, "scale": scale.run,
              "inbox": inbox_drill.run, "discord": discord_burst.run, "limits": platform_limits.run,
              "discord-limits": discord_limits.run, "polling": polling.run}


def main(argv: list[str] | None = None) -> int:
    """Entry point: `python -m benchmarks [NAME ...] [--json FILE]`."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"one or more of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    logging.basicConfig(level=logging.ERROR)
    names = args.names or list(BENCHMARKS)
    results: dict[str, dict[str, dict[str, object]]] = {}
    for name in names:
        started = time.perf_counter()
        if len(names) == 1:
            figures = asyncio.run(BENCHMARKS[name]())
            results[name] = {f.name: {"value": round(f.value, 4), "unit": f.unit, "target": f.target}
                             for f in figures}
        else:
            # Each in a process of its own: peak memory and warm caches must not carry over.
            results[name] = _in_own_process(name)
        print(f"\n{name} ({time.perf_counter() - started:.0f} s)")
        for figure, v in results[name].items():
            print(f"  {figure:<38} {v['value']:>12.3f} {v['unit']:<10} {v['target']}")
        sys.stdout.flush()
    if args.json:
        machine = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
        with open(args.json, "w") as out:
            json.dump({"machine": machine, "results": results}, out, indent=2)
    return 0


def _in_own_process(name: str) -> dict[str, dict[str, object]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "figures.json")
        subprocess.run([sys.executable, "-m", "benchmarks", name, "--json", out], check=True,
                       stdout=subprocess.DEVNULL)
        with open(out) as source:
            return json.load(source)["results"][name]


if __name__ == "__main__":
    sys.exit(main())
