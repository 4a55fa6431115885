"""Helpers for the receiver's tests: keys and tokens made here, a JWKS server, an ingest subprocess."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jws
from joserfc.jwk import RSAKey

from tests.worker.conftest import metric_values, read_all  # noqa: F401 - re-exported for the tests

REPO = Path(__file__).resolve().parents[2]
ISSUER = "https://live-events.canvas.instructure.com"
URN_USER = "urn:instructure:canvas:user:"  # the worker's Person actor id prefix, written out here


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    def jwk(self) -> dict:
        pub = self.private.public_key().public_numbers()

        def enc(n: int) -> str:
            return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big")).decode()

        return {"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256", "n": enc(pub.n), "e": enc(pub.e)}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: dict | bytes, *, kid: str | None = None) -> bytes:
        """A compact JWS of the claims (a dict, or the payload's exact bytes)."""
        header = {"alg": "RS256", "typ": "JWT", "kid": kid or self.kid}
        payload = claims if isinstance(claims, bytes) else orjson.dumps(claims)
        return jws.serialize_compact(header, payload, RSAKey.import_key(self.private)).encode()


def make_key(kid: str) -> SigningKey:
    return SigningKey(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))


def claims_for(event: dict, *, iat: int | None = None, exp_in: int = 300, iss: str = ISSUER) -> dict:
    now = int(time.time()) if iat is None else iat
    return {**event, "iss": iss, "iat": now, "exp": now + exp_in}


def event(name: str = "logged_in", user_id: str = "10000000000417", **body: object) -> dict:
    """A small Canvas live event (the raw format, as Canvas sends it)."""
    return {
        "metadata": {
            "root_account_id": "10000000000001",
            "root_account_uuid": "qZ3hT8vK1mN5pR7sU9wX2yB4cD6fG0jL",
            "user_id": user_id,
            "user_login": "m.okafor@example.edu",
            "hostname": "canvas.example.edu",
            "request_id": "5b0e6c1e-7a1f-4d0e-9c55-0d3f1a2b3c4d",
            "session_id": "a3f9c2e17b5d4e608f1a2b3c4d5e6f70",
            "producer": "canvas",
            "event_name": name,
            "event_time": "2026-09-14T07:58:02.006Z",
        },
        "body": body or {"redirect_url": "https://canvas.example.edu/"},
    }


class JwksServer:
    """A real HTTP server answering the JWKS it is given; counts its requests."""

    def __init__(self) -> None:
        self.doc = b'{"keys": []}'
        self.requests = 0
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                body = outer.doc if outer.status == 200 else b"unavailable"
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/main/jwks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, *keys: SigningKey, extra: list[dict] | None = None) -> None:
        self.doc = orjson.dumps({"keys": [k.jwk() for k in keys] + (extra or [])})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class IngestProcess:
    proc: subprocess.Popen
    port: int
    log: Path
    scheme: str = "http"
    path: str = "/canvas/live-events"
    extra: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{self.path}"

    def metrics(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
            return metric_values(r.read().decode())

    def count(self, code: int, reason: str) -> float:
        return self.metrics().get(
            ("caliper_ingest_requests_total", (("code", str(code)), ("reason", reason))), 0.0
        )

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def logs(self) -> list[dict]:
        out = []
        for line in self.log.read_bytes().splitlines():
            with contextlib.suppress(orjson.JSONDecodeError):
                out.append(orjson.loads(line))
        return out


def start_ingest(
    bootstrap: str, topic: str, log: Path, *, ready: bool = True, **settings: str
) -> IngestProcess:
    """`caliper-processor ingest` as a subprocess on a free port; settings as CALIPER_INGEST_<KEY>."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALIPER_")}
    env.update(KAFKA_BOOTSTRAP_SERVERS=bootstrap, CALIPER_INPUT_TOPIC=topic)
    env.update({f"CALIPER_INGEST_{k.upper()}": v for k, v in settings.items()})
    out = open(log, "ab")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "processor", "ingest", "--port", str(port), "--log-format", "json"],
        stdout=out,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=REPO,
    )
    out.close()
    ing = IngestProcess(proc, port, log, scheme="https" if settings.get("tls_cert") else "http")
    deadline = time.monotonic() + 60
    probe = f"{ing.scheme}://127.0.0.1:{port}{'/readyz' if ready else '/healthz'}"
    ctx = ssl._create_unverified_context() if ing.scheme == "https" else None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"ingest exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(probe, timeout=2, context=ctx) as r:
                if r.status == 200:
                    return ing
        except (OSError, urllib.error.HTTPError):
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(
        f"ingest not {'ready' if ready else 'healthy'} after 60 s: {log.read_text()[-2000:]}"
    )


def post(
    url: str, body: bytes, headers: dict | None = None, timeout: float = 20, context=None
) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            return r.status, orjson.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, orjson.loads(e.read() or b"{}")


def kafka_value(record_value: bytes) -> dict:
    return orjson.loads(record_value)
