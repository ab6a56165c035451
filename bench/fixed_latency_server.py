"""An OpenAI-compatible completions server that answers every request in exactly LATENCY seconds.

    python bench/fixed_latency_server.py --latency 0.05 [--port 0]

Standard library only, 127.0.0.1 only. It prints `listening on http://127.0.0.1:PORT/v1` once it
accepts connections, then serves until killed. Every POST to `/v1/completions` (and
`/v1/chat/completions`) is answered ` Yes` with log probabilities, LATENCY seconds after its body
has arrived.

Why asyncio and not `http.server`: one event loop holds every connection (64 clients = 64 sleeping
timers, not 64 threads contending for the GIL), so on a loaded 2-core machine the server's own CPU
stays far below the client's and the latency stays the one asked for. Each answer (headers and
body) goes out in one write with TCP_NODELAY set: a response split in two sends meets Nagle's
algorithm on one side and a delayed ACK on the other, which adds ~40 ms to every request.
"""

import argparse
import asyncio
import json
import socket
import time

ANSWER = " Yes"


def completion_body(path: str, request: dict) -> bytes:
    model = request.get("model", "fixed-latency")
    created = int(time.time())
    if path.endswith("/chat/completions"):
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": ANSWER},
            "logprobs": {"content": [{"token": ANSWER, "logprob": -0.1, "bytes": None, "top_logprobs": []}]},
            "finish_reason": "stop",
        }
        body = {"id": "chatcmpl-fixed", "object": "chat.completion", "created": created, "model": model}
    else:
        choice = {
            "index": 0,
            "text": ANSWER,
            "logprobs": {
                "tokens": [ANSWER],
                "token_logprobs": [-0.1],
                "top_logprobs": [{ANSWER: -0.1}],
                "text_offset": [0],
            },
            "finish_reason": "stop",
        }
        body = {"id": "cmpl-fixed", "object": "text_completion", "created": created, "model": model}
    body["choices"] = [choice] * int(request.get("n") or 1)
    body["usage"] = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    return json.dumps(body).encode()


def response_bytes(status: str, payload: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        "Connection: keep-alive\r\n\r\n"
    )
    return head.encode() + payload


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {
                name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])
            }
            body = await reader.readexactly(int(headers.get("content-length") or 0))
            arrived = time.monotonic()
            if method == "POST" and path.rstrip("/").endswith("completions"):
                payload, status = completion_body(path, json.loads(body or b"{}")), "200 OK"
            else:
                payload, status = (
                    json.dumps({"error": {"message": f"no route {method} {path}"}}).encode(),
                    "404 Not Found",
                )
            await asyncio.sleep(max(0.0, latency - (time.monotonic() - arrived)))
            writer.write(response_bytes(status, payload))  # headers and body in one send
            await writer.drain()
    finally:
        writer.close()


async def main_async(latency: float, port: int) -> None:
    server = await asyncio.start_server(
        lambda reader, writer: serve_connection(reader, writer, latency), "127.0.0.1", port, backlog=1024
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"listening on http://127.0.0.1:{bound}/v1 (latency {latency * 1000:.1f} ms)", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds from a request's arrival to its answer")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    args = parser.parse_args()
    try:
        asyncio.run(main_async(args.latency, args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
