"""One small HTTP server for /metrics, /healthz and /readyz (a daemon thread beside the loop).

/healthz answers 200 while the loop is alive: it made progress (consumed or committed) within
`stall_s`, or it has nothing pending and is still polling. /readyz answers 200 when partitions are
assigned and a broker is reachable, so a load balancer or Kubernetes can tell a worker that waits
for a rebalance from one that works.

Optional TLS (all three) and basic auth (only /metrics, so probes stay open): processor/http_security.py.
"""

from __future__ import annotations

import logging
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from processor.http_security import BasicAuth, tls_context

log = logging.getLogger(__name__)

ENDPOINTS = ("/metrics", "/healthz", "/readyz")
NOT_FOUND = b"not found: try /metrics, /healthz, /readyz\n"


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


class _Handler(BaseHTTPRequestHandler):
    """GET and HEAD on the three endpoints; 404 for any other path, 405 for other methods on them.

    Nothing here answers with or logs a traceback: a request line that does not parse gets the
    stdlib's 400, a failed handshake or a reset connection is one DEBUG line.
    """

    server: _Server
    server_version = "caliper-processor"
    sys_version = ""  # no Python version in the Server header
    # a client that connects and sends nothing holds its thread this long, not forever
    timeout = 10
    error_content_type = "text/plain; charset=utf-8"
    error_message_format = "%(code)d %(explain)s\n"

    def do_GET(self) -> None:
        self._route(body=True)

    def do_HEAD(self) -> None:
        self._route(body=False)

    def __getattr__(self, name: str) -> Any:
        # BaseHTTPRequestHandler looks up do_<METHOD>; every method but GET and HEAD lands here
        # (instead of the stdlib's 501), whatever its name.
        if name.startswith("do_"):
            return self._other_method
        raise AttributeError(name)

    def _route(self, *, body: bool) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            if not self._may_scrape(body):
                return
            try:
                page = self.server.render()
            except Exception as exc:  # a collector that fails must not cost a traceback per scrape
                log.warning("metrics could not be rendered", extra={"fields": {"error": repr(exc)}})
                self._send(500, b"metrics could not be rendered\n", body=body)
                return
            self._send(200, page, CONTENT_TYPE_LATEST, body=body)
        elif path in ("/healthz", "/readyz"):
            state = self.server.state
            ok, why = state.healthy() if path == "/healthz" else state.ready()
            self._send(200 if ok else 503, (why + "\n").encode(), body=body)
        else:
            self._send(404, NOT_FOUND, body=body)

    def _may_scrape(self, body: bool) -> bool:
        """/metrics needs the client certificate (http.tls_client_ca) and credentials, when set."""
        srv = self.server
        if srv.client_certs and not self.connection.getpeercert():  # type: ignore[attr-defined]
            self._send(403, b"a client certificate is required for /metrics\n", body=body)
            return False
        if srv.auth and not srv.auth.allows(self.headers.get("Authorization")):
            self._send(401, b"unauthorized\n", body=body, headers={"WWW-Authenticate": srv.auth.challenge})
            return False
        return True

    def _other_method(self) -> None:
        self._drain()
        path = self.path.split("?", 1)[0]
        if path in ENDPOINTS:
            self._send(405, b"method not allowed: GET or HEAD\n", headers={"Allow": "GET, HEAD"})
        else:
            self._send(404, NOT_FOUND)

    def _drain(self) -> None:
        """Read a small request body first: closing on unread data resets the connection, and the
        client might lose the answer."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return
        if 0 < length <= 65536:
            self.rfile.read(length)

    def _send(
        self,
        code: int,
        payload: bytes,
        ctype: str = "text/plain; charset=utf-8",
        *,
        body: bool = True,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:  # scrapes are not news
        pass


class _Server(ThreadingHTTPServer):
    """Accepts on the serving thread; the TLS handshake runs in the request's own thread, so a
    client that connects and never speaks TLS cannot stall the accept loop."""

    daemon_threads = True

    def __init__(
        self,
        host: str,
        port: int,
        render: Callable[[], bytes],
        state: HealthState,
        tls: ssl.SSLContext | None,
        auth: BasicAuth | None,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.render, self.state, self.tls, self.auth = render, state, tls, auth
        self.client_certs = tls is not None and tls.verify_mode != ssl.CERT_NONE
        super().__init__((host, port), _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(_Handler.timeout)
        conn = self.tls.wrap_socket(request, server_side=True)  # failures go to handle_error
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            conn.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One DEBUG line instead of socketserver's traceback on stderr (handshake failures,
        plain HTTP on the TLS port, resets); never the request's headers."""
        exc = sys.exc_info()[1]
        log.debug(
            "http connection failed",
            extra={"fields": {"peer": str(client_address[0]), "error": f"{type(exc).__name__}: {exc}"}},
        )


class HttpServer:
    """Serve the endpoints on host:port (port 0 picks a free one; see `.port`), plain or TLS."""

    def __init__(
        self,
        host: str,
        port: int,
        render: Callable[[], bytes],
        state: HealthState,
        *,
        tls: ssl.SSLContext | None = None,
        auth: BasicAuth | None = None,
    ) -> None:
        self._server = _Server(host, port, render, state, tls, auth)
        self.host = host
        self.port = self._server.server_address[1]
        self.tls = tls is not None
        self.auth = auth is not None
        self._thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)

    @classmethod
    def from_settings(
        cls, http: dict[str, Any], render: Callable[[], bytes], state: HealthState
    ) -> HttpServer:
        """The server the [http] section describes; a TLS file that does not load is a ConfigError."""
        return cls(
            http["host"],
            http["port"],
            render,
            state,
            tls=tls_context(http),
            auth=BasicAuth.from_settings(http),
        )

    def start(self) -> HttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else "[::1]" if self.host == "::" else self.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"
