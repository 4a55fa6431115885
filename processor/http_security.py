"""TLS and basic auth for the worker's HTTP port (/metrics, /healthz, /readyz).

TLS, when on, covers all three endpoints. Basic auth and the client-certificate check guard only
/metrics: Kubernetes probes can speak HTTPS but cannot send credentials or a client certificate, and
/healthz and /readyz say no more than one line of state ("ok: 3 partitions assigned"). So the TLS
context asks for a client certificate without requiring one (a certificate that is sent must verify),
and the handler refuses /metrics to a connection that sent none.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ssl
from typing import Any

from processor.config import ConfigError

REALM = "caliper-processor"


def _readable(setting: str, path: str) -> None:
    """Name the setting and the path: ssl's own FileNotFoundError names neither."""
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as exc:
        raise ConfigError(f"http.{setting}: cannot read {path}: {exc.strerror or exc}") from None


def _no_passphrase() -> bytes:
    # Without a callback OpenSSL would prompt on the terminal and the worker would hang at start.
    raise ConfigError("http.tls_key: the key is encrypted; use an unencrypted PEM key")


def tls_context(http: dict[str, Any]) -> ssl.SSLContext | None:
    """The server context for http.tls_cert/tls_key (and tls_client_ca), or None for plain HTTP."""
    cert, key, client_ca = http["tls_cert"], http["tls_key"], http["tls_client_ca"]
    if not cert:
        return None
    for setting, path in (("tls_cert", cert), ("tls_key", key), ("tls_client_ca", client_ca)):
        if path:
            _readable(setting, path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key, password=_no_passphrase)
    except ssl.SSLError as exc:
        raise ConfigError(
            f"http.tls_cert, http.tls_key: cannot load {cert} with {key}: {exc.reason or exc}"
        ) from None
    if client_ca:
        try:
            ctx.load_verify_locations(cafile=client_ca)
        except ssl.SSLError as exc:
            raise ConfigError(
                f"http.tls_client_ca: {client_ca} is not a PEM CA bundle: {exc.reason or exc}"
            ) from None
        ctx.verify_mode = ssl.CERT_OPTIONAL  # probes send none; /metrics then refuses (see above)
    return ctx


class BasicAuth:
    """The one user allowed to scrape /metrics (RFC 7617), compared in constant time."""

    __slots__ = ("_password", "_username")
    challenge = f'Basic realm="{REALM}", charset="UTF-8"'

    def __init__(self, username: str, password: str) -> None:
        self._username = username.encode()
        self._password = password.encode()

    @classmethod
    def from_settings(cls, http: dict[str, Any]) -> BasicAuth | None:
        return cls(http["auth_username"], http["auth_password"]) if http["auth_username"] else None

    def allows(self, authorization: str | None) -> bool:
        """True when the Authorization header carries this user and password."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, sep, password = decoded.partition(b":")
        # both compared every time, so the answer's timing says nothing about which one was wrong
        user_ok = hmac.compare_digest(user, self._username)
        password_ok = hmac.compare_digest(password, self._password)
        return bool(sep) and user_ok and password_ok

    def __repr__(self) -> str:
        return f"BasicAuth(username={self._username.decode()!r}, password='********')"
