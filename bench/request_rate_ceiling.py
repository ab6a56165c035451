"""What the smallest possible client reaches against bench/fixed_latency_server.py: the ceiling that
the machine and the server leave to any client, beside which bench/request_rate.py's figures read.

    python bench/request_rate_ceiling.py [--base-url URL] [--latency 0.05] [--requests 1000] [--concurrency 4 16 64]

One asyncio event loop, N keep-alive connections, each sending a fixed 3 KB completions request
as soon as its last answer has been read (raw HTTP/1.1 bytes, the body only parsed as JSON):
no adaptation, no cache, no metrics, no threads. Whatever keeps it below N / LATENCY (the server's
own time per request, the loopback, the scheduler of a 2-core machine, the last round of a run
whose requests do not divide by N) keeps crfm_eval below it too. Starts its own server unless
`--base-url` is given.
"""

import argparse
import asyncio
import json
import os
import time
from urllib.parse import urlsplit

from bench_common import load
from request_rate import start_server


async def _connection(host: str, port: int, request: bytes, left: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while left[0] > 0:
            left[0] -= 1
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            json.loads(await reader.readexactly(length))
    finally:
        writer.close()


async def _run(base_url: str, requests: int, concurrency: int) -> float:
    parts = urlsplit(base_url)
    body = json.dumps({"model": "m", "prompt": "x" * 3000, "max_tokens": 5, "logprobs": 1}).encode()
    request = (
        f"POST {parts.path}/completions HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    left = [requests]
    start = time.perf_counter()
    await asyncio.gather(
        *(_connection(parts.hostname or "", parts.port or 80, request, left) for _ in range(concurrency))
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", help="a running fixed-latency server's /v1 address (default: start one)")
    parser.add_argument("--latency", type=float, default=0.05, help="the server's latency (to start it, and the limit)")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4, 16, 64])
    args = parser.parse_args()
    server = None
    base_url = args.base_url
    if base_url is None:
        server, base_url = start_server(args.latency)
    print(f"fixed-latency server at {base_url}, latency {args.latency * 1000:.0f} ms; {os.cpu_count()} cores")
    try:
        for concurrency in args.concurrency:
            limit = concurrency / args.latency
            before, cpu = load(), time.process_time()
            wall = asyncio.run(_run(base_url, args.requests, concurrency))
            cpu_per_request = (time.process_time() - cpu) / args.requests
            rate = args.requests / wall
            print(
                f"{concurrency:3d} connections: limit {limit:.0f} req/s | minimal client {rate:.0f} req/s = "
                f"{rate / limit:.3f} of the limit ({wall:.2f} s, {cpu_per_request * 1000:.2f} ms CPU/request) | "
                f"{before}; after: {load()}",
                flush=True,
            )
    finally:
        if server is not None:
            server.kill()
            server.wait()
    print(
        f"reproduce: python bench/request_rate_ceiling.py --latency {args.latency} --requests {args.requests} "
        f"--concurrency {' '.join(map(str, args.concurrency))}"
    )


if __name__ == "__main__":
    main()
