"""The real worker (`caliper-processor run` against the real broker) with TLS and basic auth on its
HTTP port: Prometheus's view (HTTPS + credentials) sees the counts, probes' view (HTTPS, no
credentials) sees health, nobody else sees metrics, and the password never reaches the log."""

from __future__ import annotations

import base64
import http.client
import signal
import ssl
import uuid
from pathlib import Path

import orjson
import pytest

from tests.worker.tls_support import Ca

from .conftest import metric_values, produce, sample_events, total, wait_for

pytestmark = [pytest.mark.kafka]


def _get(port: int, path: str, ctx: ssl.SSLContext, auth: tuple[str, str] | None = None) -> tuple[int, str]:
    headers = {}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5)
    try:
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def test_worker_serves_metrics_over_https_with_basic_auth(stack, tmp_path: Path) -> None:
    s = stack(partitions=2)
    ca = Ca(tmp_path, "ca")
    server = ca.issue("worker", server=True)
    user, password = "prometheus", f"scrape-{uuid.uuid4().hex}"
    wrong = f"wrong-{uuid.uuid4().hex}"
    (tmp_path / "password").write_text(password + "\n")
    events = sample_events()
    produce(s.bootstrap, s.input, [(None, e, None) for e in events])

    log = tmp_path / "worker.log"
    proc, port = s.start(
        "--log-level",
        "DEBUG",
        log=log,
        CALIPER_HTTP_HOST="127.0.0.1",
        CALIPER_HTTP_TLS_CERT=server.cert,
        CALIPER_HTTP_TLS_KEY=server.key,
        CALIPER_HTTP_AUTH_USERNAME=user,
        CALIPER_HTTP_AUTH_PASSWORD_FILE=str(tmp_path / "password"),
    )
    ctx = ssl.create_default_context(cafile=ca.pem.cert)

    def scraped() -> dict | None:
        try:
            status, text = _get(port, "/metrics", ctx, (user, password))
        except OSError:
            return None
        assert status == 200, text
        values = metric_values(text)
        consumed = total(values, "caliper_inputs_consumed_total")
        produced = total(values, "caliper_envelopes_produced_total")  # counted on acknowledgement
        return values if consumed == len(events) and produced > 0 else None

    try:
        wait_for(scraped, 90, f"the worker to consume every input (log: {log.read_text()[-2000:]})")
        assert _get(port, "/metrics", ctx)[0] == 401
        assert _get(port, "/metrics", ctx, (user, wrong))[0] == 401
        assert _get(port, "/healthz", ctx)[0] == 200  # probes need no credentials
        wait_for(lambda: _get(port, "/readyz", ctx)[0] == 200, 30, "/readyz over HTTPS")
        with pytest.raises((http.client.HTTPException, OSError)):  # plain HTTP gets no answer
            plain = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            plain.request("GET", "/healthz")
            plain.getresponse()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0

    text = log.read_text()
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    for leak in (password, wrong, token):
        assert leak not in text
    assert "Traceback" not in text
    served = [orjson.loads(line) for line in text.splitlines() if '"metrics and health served"' in line]
    assert served and served[0]["metrics"] == f"https://127.0.0.1:{port}/metrics"
    assert served[0]["tls"] is True and served[0]["basic_auth"] is True
