"""One small HTTP server for /metrics, /healthz and /readyz (a daemon thread beside the loop).

/healthz answers 200 while the loop is alive: it made progress (consumed or committed) within
`stall_s`, or it has nothing pending and is still polling. /readyz answers 200 when partitions are
assigned and a broker is reachable, so a load balancer or Kubernetes can tell a worker that waits
for a rebalance from one that works.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)


class HealthState:
    """What the loop reports, read by the HTTP thread (plain attribute writes are atomic enough)."""

    def __init__(self, stall_s: float = 60.0) -> None:
        self.stall_s = stall_s
        now = time.monotonic()
        self.last_poll = now
        self.last_progress = now
        self.pending = 0
        self.assigned = 0
        self.broker_up = False
        self.failed: str | None = None
        self.waiting_for: str | None = None  # e.g. the Schema Registry at start-up

    def healthy(self) -> tuple[bool, str]:
        now = time.monotonic()
        if self.failed:
            return False, f"failed: {self.failed}"
        if now - self.last_poll > self.stall_s:
            return False, f"loop has not polled for {now - self.last_poll:.0f}s"
        if self.pending and now - self.last_progress > self.stall_s:
            return False, f"{self.pending} inputs pending and no progress for {now - self.last_progress:.0f}s"
        return True, "ok"

    def ready(self) -> tuple[bool, str]:
        if self.waiting_for:
            return False, self.waiting_for
        if not self.assigned:
            return False, "no partitions assigned"
        if not self.broker_up:
            return False, "broker unreachable"
        return True, f"ok: {self.assigned} partitions assigned"


class HttpServer:
    """Serve the endpoints on host:port (port 0 picks a free one; see `.port`)."""

    def __init__(self, host: str, port: int, render: Callable[[], bytes], state: HealthState) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, render(), CONTENT_TYPE_LATEST)
                elif path in ("/healthz", "/readyz"):
                    ok, why = state.healthy() if path == "/healthz" else state.ready()
                    self._send(200 if ok else 503, (why + "\n").encode(), "text/plain; charset=utf-8")
                else:
                    self._send(404, b"not found: try /metrics, /healthz, /readyz\n", "text/plain")

            def _send(self, code: int, body: bytes, ctype: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # scrapes are not news
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)

    def start(self) -> HttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        return f"http://{host}:{self.port}"
