"""Load the receiver with real HTTP load generators and write a JSON report.

For each server (the product's aiohttp server, the same with uvloop, and uvicorn + Starlette over
the same service), pinned to one core (taskset), with a real broker and a real JWKS server:
  - throughput: wrk (pinned to another core), BENCH_INGEST_CONNECTIONS connections for
    BENCH_INGEST_SECONDS, cycling through signed 1-2 KB deliveries; accepted events/s counted by
    the server's own metrics (only 200s, each acknowledged by Kafka) and checked against the topic;
  - latency: hey at a fixed BENCH_INGEST_RATE requests/s (10 workers), p50/p90/p99.
Environment: KAFKA_BOOTSTRAP_SERVERS, BENCH_INGEST_SECONDS (10), BENCH_INGEST_CONNECTIONS (64),
BENCH_INGEST_RATE (1000), BENCH_INGEST_SERVERS (aiohttp,aiohttp_uvloop,uvicorn_starlette),
BENCH_INGEST_REPORT (bench-results/ingest.json).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import RSAKey

from bench.generator import EventGenerator
from bench.templates import build_templates, load_samples

REPO = Path(__file__).resolve().parents[2]
SERVERS = {
    "aiohttp": [sys.executable, "-m", "processor", "ingest", "--log-format", "json", "--port"],
    "aiohttp_uvloop": [
        sys.executable,
        "-c",
        "import sys, uvloop; uvloop.install(); from processor.cli import main; "
        "sys.exit(main(['ingest', '--log-format', 'json', '--port', sys.argv[1]]))",
    ],
    "uvicorn_starlette": [sys.executable, "-m", "bench.ingest.asgi_app"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwks_server(private_key, kid: str) -> ThreadingHTTPServer:
    pub = private_key.public_key().public_numbers()
    doc = orjson.dumps(
        {"keys": [{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64(pub.n), "e": b64(pub.e)}]}
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(doc)))
            self.end_headers()
            self.wfile.write(doc)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def signed_bodies(count: int) -> tuple[list[bytes], object, str]:
    """`count` signed deliveries of 1-2 KB from the bench's own event generator."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = "bench-" + uuid.uuid4().hex[:8]
    now = int(time.time())
    signer = RSAKey.import_key(key)
    out: list[bytes] = []
    for ev in EventGenerator(build_templates(load_samples()), seed=7).events(count * 6):
        claims = orjson.loads(ev.value)
        claims.update(iss="https://live-events.canvas.instructure.com", iat=now, exp=now + 86400)
        token = jwt.encode({"alg": "RS256", "kid": kid}, claims, signer).encode()
        if 1024 <= len(token) <= 2048:
            out.append(token)
            if len(out) == count:
                break
    return out, key, kid


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("server not ready")


def accepted(port: int) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    m = re.search(r'caliper_ingest_requests_total\{code="200",reason="accepted"\} (\S+)', text)
    return float(m.group(1)) if m else 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def topic_total(bootstrap: str, topic: str) -> int:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-ingest-count"})
    parts = c.list_topics(topic, timeout=10).topics[topic].partitions
    total = sum(c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts)
    c.close()
    return total


def pinned(cmd: list[str], core: int) -> list[str]:
    return ["taskset", "-c", str(core), *cmd] if shutil.which("taskset") and os.cpu_count() > 1 else cmd


def parse_wrk(text: str) -> dict:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    total = re.search(r"(\d+) requests in", text)
    return {
        "requests_per_s": float(rps.group(1)) if rps else None,
        "requests": int(total.group(1)) if total else None,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def parse_hey(text: str) -> dict:
    out: dict = {}
    for pct in ("50", "90", "99"):
        m = re.search(rf"\s{pct}% in ([\d.]+) secs", text)
        out[f"p{pct}_ms"] = round(float(m.group(1)) * 1000, 2) if m else None
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["requests_per_s"] = float(rps.group(1)) if rps else None
    codes = dict(re.findall(r"\[(\d{3})\]\s+(\d+) responses", text))
    out["status_codes"] = {k: int(v) for k, v in codes.items()}
    return out


def run_one(
    name: str,
    bootstrap: str,
    jwks_url: str,
    bodies_file: Path,
    one_body: Path,
    seconds: int,
    conns: int,
    rate: int,
) -> dict:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = f"bench-ingest-{name}-{uuid.uuid4().hex[:6]}"
    for f in admin.create_topics([NewTopic(topic, 6, 1)]).values():
        f.result(30)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALIPER_")}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=bootstrap,
        CALIPER_INPUT_TOPIC=topic,
        CALIPER_INGEST_JWKS_URL=jwks_url,
        CALIPER_INGEST_REQUIRE_SIGNATURE="true",
        CALIPER_LOGGING_LEVEL="WARNING",
    )
    log = open(REPO / "bench-results" / f"ingest-{name}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        pinned([*SERVERS[name], str(port)], 0), env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/canvas/live-events"
    result: dict = {"server": name}
    try:
        wait_ready(port, proc)
        wrk = ["wrk", "-t1", f"-c{conns}", "-s", str(REPO / "bench" / "ingest" / "rotate.lua"), url]
        wenv = {**os.environ, "BODIES": str(bodies_file)}
        subprocess.run(pinned([*wrk, "-d2s"], 1), env=wenv, capture_output=True, check=True)  # warm-up
        a0, c0, t0 = accepted(port), cpu_seconds(proc.pid), time.monotonic()
        out = subprocess.run(
            pinned([*wrk, f"-d{seconds}s", "--latency"], 1),
            env=wenv,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        a1, c1, t1 = accepted(port), cpu_seconds(proc.pid), time.monotonic()
        result["throughput"] = {
            **parse_wrk(out),
            "accepted_per_s": round((a1 - a0) / (t1 - t0), 1),
            "server_cpu_cores": round((c1 - c0) / (t1 - t0), 2),
            "connections": conns,
            "seconds": seconds,
        }
        workers = 10
        hey = [
            "hey",
            "-z",
            f"{seconds}s",
            "-c",
            str(workers),
            "-q",
            str(rate // workers),
            "-m",
            "POST",
            "-T",
            "application/jwt",
            "-D",
            str(one_body),
            url,
        ]
        out = subprocess.run(pinned(hey, 1), capture_output=True, text=True, check=True).stdout
        result["latency"] = {**parse_hey(out), "target_rate": rate}
        total_accepted = accepted(port)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            result["exit_status"] = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            result["exit_status"] = "killed"
        log.close()
    in_topic = topic_total(bootstrap, topic)
    result["accepted_total"] = int(total_accepted)
    result["records_in_topic"] = in_topic
    for f in admin.delete_topics([topic]).values():
        with contextlib.suppress(Exception):
            f.result(30)
    return result


def main() -> int:
    for tool in ("wrk", "hey"):
        if not shutil.which(tool):
            print(f"bench-ingest: {tool} is needed (Debian: apt-get install -y wrk hey)", file=sys.stderr)
            return 2
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    seconds = int(os.environ.get("BENCH_INGEST_SECONDS", "10"))
    conns = int(os.environ.get("BENCH_INGEST_CONNECTIONS", "64"))
    rate = int(os.environ.get("BENCH_INGEST_RATE", "1000"))
    names = [n for n in os.environ.get("BENCH_INGEST_SERVERS", ",".join(SERVERS)).split(",") if n]
    report_path = Path(os.environ.get("BENCH_INGEST_REPORT", REPO / "bench-results" / "ingest.json"))
    (REPO / "bench-results").mkdir(exist_ok=True)
    bodies, key, kid = signed_bodies(1000)
    server = jwks_server(key, kid)
    jwks_url = f"http://127.0.0.1:{server.server_address[1]}/jwks"
    with tempfile.TemporaryDirectory() as tmp:
        bodies_file = Path(tmp) / "bodies.txt"
        bodies_file.write_bytes(b"\n".join(bodies) + b"\n")
        one_body = Path(tmp) / "one.jwt"
        one_body.write_bytes(bodies[0])
        report = {
            "bodies": len(bodies),
            "body_bytes_mean": round(sum(map(len, bodies)) / len(bodies)),
            "body_bytes_min": min(map(len, bodies)),
            "body_bytes_max": max(map(len, bodies)),
            "cores": os.cpu_count(),
            "loadavg_at_start": os.getloadavg(),
            "servers": {},
        }
        for name in names:
            print(f"bench-ingest: {name} ...", file=sys.stderr, flush=True)
            report["servers"][name] = run_one(
                name, bootstrap, jwks_url, bodies_file, one_body, seconds, conns, rate
            )
            print(json.dumps(report["servers"][name]), file=sys.stderr, flush=True)
    server.shutdown()
    report_path.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(f"bench-ingest: report in {report_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
