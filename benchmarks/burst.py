"""A lean load generator, run as its own process: send prepared HTTP requests all at once, time each answer.

`python -m benchmarks.burst PORT REQUESTS.json [--fresh]` reads a JSON list of raw HTTP/1.1 requests
(strings) and prints a JSON list of [status, seconds] in the same order. By default every connection
is opened first and the requests are then written back to back (warm connections, like a proxy
keeping connections to the bot open); with --fresh each request opens its own connection at the
start of the burst, and its time includes the TCP handshake.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time


class Exchange(asyncio.Protocol):
    """One request on one connection: resolves with (status, time the whole answer arrived)."""

    def __init__(self, done: asyncio.Future[tuple[int, float]]) -> None:
        self.done = done
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head, sep, body = self.buffer.partition(b"\r\n\r\n")
        if not sep or self.done.done():
            return
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(body) >= length:
            self.done.set_result((int(head[9:12]), time.perf_counter()))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result((0, time.perf_counter()))


async def burst(port: int, requests: list[bytes], fresh: bool) -> list[tuple[int, float]]:
    """Send every request at once; the seconds from sending each to its whole answer."""
    loop = asyncio.get_running_loop()
    futures = [loop.create_future() for _ in requests]
    starts: list[float] = []
    if fresh:
        async def one(request: bytes, done: asyncio.Future[tuple[int, float]]) -> None:
            transport, _ = await loop.create_connection(lambda: Exchange(done), "127.0.0.1", port)
            transport.write(request)

        start = time.perf_counter()
        starts = [start] * len(requests)
        await asyncio.gather(*(one(r, f) for r, f in zip(requests, futures, strict=True)))
    else:
        connections = [await loop.create_connection(lambda f=f: Exchange(f), "127.0.0.1", port) for f in futures]
        await asyncio.sleep(0.5)  # let the server settle every accepted connection
        for (transport, _), request in zip(connections, requests, strict=True):
            starts.append(time.perf_counter())
            transport.write(request)
    answers = await asyncio.wait_for(asyncio.gather(*futures), 120)
    return [(status, end - begin) for (status, end), begin in zip(answers, starts, strict=True)]


def main() -> int:
    """Entry point for the separate sender process."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.burst")
    parser.add_argument("port", type=int)
    parser.add_argument("requests")
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    with open(args.requests) as source:
        requests = [r.encode() for r in json.load(source)]
    json.dump(asyncio.run(burst(args.port, requests, args.fresh)), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
