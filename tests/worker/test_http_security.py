"""The worker's HTTP port: TLS, basic auth on /metrics, open probes, 404 for everything else, the bind
address, and the start-up refusals of bad settings. A real server on a real socket, real clients
(http.client, ssl, raw sockets); no broker."""

from __future__ import annotations

import base64
import contextlib
import http.client
import re
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from processor.config import DEFAULTS
from processor.health import HealthState, HttpServer
from tests.worker.tls_support import Ca, Pem

from .conftest import REPO

METRICS = b"caliper_inputs_consumed_total 7.0\n"
USER, PASSWORD = "prometheus", "correct horse battery staple"


def _http(**overrides: object) -> dict:
    return {**DEFAULTS["http"], "host": "127.0.0.1", "port": 0, **overrides}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Pem]:
    d = tmp_path_factory.mktemp("pki")
    ca, other = Ca(d, "ca"), Ca(d, "other-ca")
    return {
        "ca": ca.pem,
        "server": ca.issue("worker", server=True),
        "client": ca.issue("prometheus", server=False),
        "stranger": other.issue("prometheus", server=False),
        "encrypted": ca.issue("encrypted", server=True, passphrase=b"pass-phrase"),
    }


@pytest.fixture
def serve() -> Iterator:
    started: list[HttpServer] = []

    def start(**settings: object) -> HttpServer:
        state = HealthState()
        state.assigned, state.broker_up = 2, True
        server = HttpServer.from_settings(_http(**settings), lambda: METRICS, state).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _client_ctx(pki: dict[str, Pem], client: str | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=pki["ca"].cert)
    if client:
        ctx.load_cert_chain(pki[client].cert, pki[client].key)
    return ctx


def _get(
    server: HttpServer,
    path: str,
    *,
    ctx: ssl.SSLContext | None = None,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    conn = (
        http.client.HTTPSConnection("127.0.0.1", server.port, context=ctx, timeout=5)
        if ctx
        else http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    )
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _raw(port: int, data: bytes) -> bytes:
    """Send bytes as they are (no client library tidying them) and read the answer to the end."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


# --- TLS -------------------------------------------------------------------------------------------


def test_tls_serves_all_three_endpoints_to_a_client_that_trusts_the_ca(serve, pki) -> None:
    server = serve(tls_cert=pki["server"].cert, tls_key=pki["server"].key)
    assert server.url == f"https://127.0.0.1:{server.port}"
    ctx = _client_ctx(pki)  # hostname checked: the certificate names 127.0.0.1
    assert _get(server, "/metrics", ctx=ctx)[::2] == (200, METRICS)
    assert _get(server, "/healthz", ctx=ctx)[0] == 200
    assert _get(server, "/readyz", ctx=ctx)[::2] == (200, b"ok: 2 partitions assigned\n")


def test_tls_port_refuses_plain_http_and_untrusting_clients(serve, pki, capfd) -> None:
    server = serve(tls_cert=pki["server"].cert, tls_key=pki["server"].key)
    with pytest.raises((http.client.HTTPException, OSError)):
        _get(server, "/healthz")  # plain HTTP on the TLS port gets no HTTP answer
    with contextlib.suppress(ConnectionResetError):  # a reset during the handshake: no answer either
        assert b"HTTP/" not in _raw(server.port, b"GET /metrics HTTP/1.0\r\n\r\n")
    with pytest.raises(ssl.SSLCertVerificationError):
        _get(server, "/metrics", ctx=ssl.create_default_context())  # the system store lacks our CA
    assert _get(server, "/healthz", ctx=_client_ctx(pki))[0] == 200  # and it still serves
    assert "Traceback" not in capfd.readouterr().err


def test_a_silent_client_does_not_stall_the_tls_accept_loop(serve, pki) -> None:
    server = serve(tls_cert=pki["server"].cert, tls_key=pki["server"].key)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5):  # connects, says nothing
        assert _get(server, "/healthz", ctx=_client_ctx(pki))[0] == 200


def test_client_ca_guards_metrics_and_leaves_the_probes_open(serve, pki) -> None:
    server = serve(tls_cert=pki["server"].cert, tls_key=pki["server"].key, tls_client_ca=pki["ca"].cert)
    anonymous = _client_ctx(pki)
    assert _get(server, "/metrics", ctx=anonymous)[0] == 403
    assert _get(server, "/healthz", ctx=anonymous)[0] == 200
    assert _get(server, "/readyz", ctx=anonymous)[0] == 200
    assert _get(server, "/metrics", ctx=_client_ctx(pki, "client"))[::2] == (200, METRICS)
    # a certificate from another CA fails the handshake (TLS 1.3 reports it on the first read)
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
        _get(server, "/metrics", ctx=_client_ctx(pki, "stranger"))


# --- basic auth ------------------------------------------------------------------------------------


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
def test_basic_auth_on_metrics_only(serve, pki, tls: bool) -> None:
    files = {"tls_cert": pki["server"].cert, "tls_key": pki["server"].key} if tls else {}
    server = serve(auth_username=USER, auth_password=PASSWORD, **files)
    ctx = _client_ctx(pki) if tls else None
    status, headers, body = _get(server, "/metrics", ctx=ctx)
    assert status == 401 and METRICS not in body
    assert headers["www-authenticate"].startswith('Basic realm="caliper-processor"')
    for wrong in (
        _basic(USER, PASSWORD + "x"),
        _basic(USER, PASSWORD[:-1]),
        _basic("admin", PASSWORD),
        _basic("", ""),
        {"Authorization": "Basic " + base64.b64encode(USER.encode()).decode()},  # no colon
        {"Authorization": "Basic %%%not-base64"},
        {"Authorization": "Bearer " + PASSWORD},
    ):
        assert _get(server, "/metrics", ctx=ctx, headers=wrong)[0] == 401, wrong
    assert _get(server, "/metrics", ctx=ctx, headers=_basic(USER, PASSWORD))[::2] == (200, METRICS)
    lower_scheme = {"Authorization": _basic(USER, PASSWORD)["Authorization"].replace("Basic", "basic")}
    assert _get(server, "/metrics", ctx=ctx, headers=lower_scheme)[0] == 200  # RFC 7235: any case
    # probes stay open (Kubernetes cannot send credentials)
    assert _get(server, "/healthz", ctx=ctx)[0] == 200
    assert _get(server, "/readyz", ctx=ctx)[0] == 200


def test_without_auth_settings_metrics_needs_no_credentials(serve) -> None:
    assert _get(serve(), "/metrics")[::2] == (200, METRICS)


# --- only the three endpoints ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    # (not "//metrics": the stdlib folds leading slashes into one, so that is /metrics, auth and all)
    ["/", "/metrics/", "/metrics/../x", "/%2e%2e/metrics", "/%00", "/healthz.php", "/METRICS",
     "/readyz/x", "http://127.0.0.1/metrics", "*"],
)  # fmt: skip
def test_other_paths_are_404(serve, path: str, capfd) -> None:
    server = serve(auth_username=USER, auth_password=PASSWORD)
    status, _, body = _get(server, path, headers=_basic(USER, PASSWORD))
    assert status == 404 and METRICS not in body
    assert "Traceback" not in capfd.readouterr().err


def test_query_strings_and_head_are_served(serve) -> None:
    server = serve()
    assert _get(server, "/metrics?name[]=caliper_inputs_consumed_total")[::2] == (200, METRICS)
    status, headers, body = _get(server, "/metrics", method="HEAD")
    assert (status, body) == (200, b"") and headers["content-length"] == str(len(METRICS))


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "BREW"])
def test_other_methods_are_405_on_the_endpoints_and_404_elsewhere(serve, method: str, capfd) -> None:
    server = serve(auth_username=USER, auth_password=PASSWORD)
    status, headers, body = _get(server, "/metrics", method=method, body=b"x=1")
    assert status == 405 and headers["allow"] == "GET, HEAD" and METRICS not in body
    assert _get(server, "/elsewhere", method=method, body=b"x=1")[0] == 404
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize(
    "garbage",
    [b"garbage\r\n\r\n", b"GET\r\n\r\n", b"GET /metrics HTTP/9.9\r\n\r\n", b"\x16\x03\x01\x00\xff\r\n\r\n",
     b"GET /metrics HTTP/1.1\r\n" + b"X: " + b"a" * 70000 + b"\r\n\r\n", b"\r\n\r\n"],
    ids=["word", "no-path", "http-9.9", "tls-hello-bytes", "huge-header", "empty"],
)  # fmt: skip
def test_a_malformed_request_gets_an_error_status_and_no_traceback(serve, garbage: bytes, capfd) -> None:
    server = serve()
    answer = _raw(server.port, garbage)
    if answer:  # the stdlib may just close on an empty request line
        # a request line without a version is HTTP/0.9 to the stdlib: its answer has no status line
        m = re.match(rb"(?:HTTP/1\.[01] )?(\d{3}) ", answer)
        assert m, answer[:200]
        assert 400 <= int(m[1]) < 600 and b"Traceback" not in answer and METRICS not in answer
    assert _get(server, "/healthz")[0] == 200
    assert "Traceback" not in capfd.readouterr().err


def test_server_header_names_no_python_version(serve) -> None:
    _, headers, _ = _get(serve(), "/healthz")
    assert "python" not in headers["server"].lower()


def test_a_failing_collector_answers_500_without_a_traceback(capfd) -> None:
    def broken() -> bytes:
        raise RuntimeError("collector broke")

    server = HttpServer("127.0.0.1", 0, broken, HealthState()).start()
    try:
        status, _, body = _get(server, "/metrics")
        assert status == 500 and b"collector broke" not in body
        assert _get(server, "/healthz")[0] == 200
    finally:
        server.stop()
    assert "Traceback" not in capfd.readouterr().err


# --- bind address ----------------------------------------------------------------------------------


def _connects(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _other_local_address() -> str:
    """A local address other than 127.0.0.1: the LAN one if any, else 127.0.0.2 (Linux answers all of
    127/8 on the loopback interface)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.254.254.254", 1))  # no packet is sent; picks the outgoing interface
            addr = s.getsockname()[0]
        except OSError:
            addr = "127.0.0.1"
    return addr if addr != "127.0.0.1" else "127.0.0.2"


def test_bind_address_is_honoured(serve) -> None:
    other = _other_local_address()
    wide = serve(host="0.0.0.0")
    if not _connects(other, wide.port):
        pytest.skip(f"{other} does not reach a server bound to 0.0.0.0 here")
    local = serve(host="127.0.0.1")
    assert local._server.server_address[0] == "127.0.0.1"
    assert _connects("127.0.0.1", local.port)
    assert not _connects(other, local.port)


# --- start-up refusals -----------------------------------------------------------------------------


def _run(env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "CALIPER_METRICS_PORT": "0"}
    return subprocess.run(
        [sys.executable, "-m", "processor", "run"],
        capture_output=True,
        text=True,
        env={**base, **env},
        cwd=REPO,
        timeout=60,
    )


def _bad_configs(pki: dict[str, Pem], tmp: Path) -> list[tuple[dict[str, str], str]]:
    (tmp / "not-pem").write_text("not a certificate\n")
    s, c = pki["server"], pki["client"]
    return [
        ({"CALIPER_HTTP_TLS_CERT": s.cert}, "http.tls_key"),
        ({"CALIPER_HTTP_TLS_KEY": s.key}, "http.tls_cert"),
        ({"CALIPER_HTTP_TLS_CERT": str(tmp / "missing.crt"), "CALIPER_HTTP_TLS_KEY": s.key}, "missing.crt"),
        ({"CALIPER_HTTP_TLS_CERT": s.cert, "CALIPER_HTTP_TLS_KEY": str(tmp / "nope.key")}, "nope.key"),
        ({"CALIPER_HTTP_TLS_CERT": s.cert, "CALIPER_HTTP_TLS_KEY": c.key}, "http.tls_key"),  # wrong pair
        ({"CALIPER_HTTP_TLS_CERT": str(tmp / "not-pem"), "CALIPER_HTTP_TLS_KEY": s.key}, "http.tls_cert"),
        ({"CALIPER_HTTP_TLS_CERT": pki["encrypted"].cert, "CALIPER_HTTP_TLS_KEY": pki["encrypted"].key},
         "encrypted"),
        ({"CALIPER_HTTP_TLS_CERT": s.cert, "CALIPER_HTTP_TLS_KEY": s.key,
          "CALIPER_HTTP_TLS_CLIENT_CA": str(tmp / "not-pem")}, "http.tls_client_ca"),
        ({"CALIPER_HTTP_TLS_CLIENT_CA": pki["ca"].cert}, "http.tls_client_ca"),
        ({"CALIPER_HTTP_AUTH_USERNAME": USER}, "http.auth_password"),
        ({"CALIPER_HTTP_AUTH_PASSWORD": PASSWORD}, "http.auth_username"),
        ({"CALIPER_HTTP_AUTH_USERNAME": "a:b", "CALIPER_HTTP_AUTH_PASSWORD": PASSWORD}, "':'"),
        ({"CALIPER_HTTP_AUTH_USERNAME": USER, "CALIPER_HTTP_AUTH_PASSWORD_FILE": str(tmp / "no-such-file")},
         "CALIPER_HTTP_AUTH_PASSWORD_FILE"),
        ({"CALIPER_HTTP_AUTH_USERNAME": USER, "CALIPER_HTTP_AUTH_PASSWORD": PASSWORD,
          "CALIPER_HTTP_AUTH_PASSWORD_FILE": str(tmp / "not-pem")}, "both set"),
    ]  # fmt: skip


def test_bad_settings_exit_2_with_one_line(pki, tmp_path: Path) -> None:
    for env, named in _bad_configs(pki, tmp_path):
        result = _run(env)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2, (env, result.stderr)
        assert len(lines) == 1 and named in lines[0], (env, result.stderr)
        assert lines[0].startswith("caliper-processor: ") and "Traceback" not in result.stderr
        assert PASSWORD not in result.stderr


def test_password_from_a_file_is_masked_in_print_config(tmp_path: Path) -> None:
    (tmp_path / "password").write_text(PASSWORD + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "processor", "run", "--print-config"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "CALIPER_HTTP_AUTH_USERNAME": USER,
             "CALIPER_HTTP_AUTH_PASSWORD_FILE": str(tmp_path / "password")},
        cwd=REPO,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert 'auth_password = "********"' in result.stdout
    assert f'auth_username = "{USER}"' in result.stdout


def test_an_ipv6_bind_address_works(serve) -> None:
    if not socket.has_ipv6 or not _connects_v6():
        pytest.skip("no IPv6 loopback here")
    server = serve(host="::1")
    assert server.url == f"http://[::1]:{server.port}"
    conn = http.client.HTTPConnection("::1", server.port, timeout=5)
    conn.request("GET", "/healthz")
    assert conn.getresponse().status == 200
    conn.close()


def _connects_v6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False
