"""What the tests' fake HTTP servers share: a threaded server on 127.0.0.1 for the life of a `with`,
and a handler that answers with one body and says nothing on the console."""

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class QuietHandler(http.server.BaseHTTPRequestHandler):
    def send_body(self, status: int, payload: bytes, content_type: str, headers: dict[str, str]) -> None:
        """Status, Content-Type, Content-Length, `headers`, then `payload`."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """`http://127.0.0.1:PORT` of a server (a free port) answering with `handler`, until the block ends."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True  # a handler still sleeping (a hung answer) does not hold up the test
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
