"""A small client for the Confluent Schema Registry REST API (also Apicurio's /apis/ccompat/v7, Karapace).

The worker needs three calls, all at start-up (the schema id is then cached, no call per record):
register a schema under a subject, look it up when registering is off, and ask why a schema is
incompatible. The standard library does that; confluent-kafka's client would pull in authlib, httpx
and attrs for it.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryError(Exception):
    """The registry answered with an error (4xx): `status`, Confluent `code` and its message."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(f"HTTP {status} (error code {code}): {message}")
        self.status, self.code, self.message = status, code, message


class RegistryUnavailable(Exception):
    """The registry could not be reached, or answered 5xx: worth retrying."""


class SchemaRegistryClient:
    """`url` is the API base (e.g. http://host:8081 or http://host:8080/apis/ccompat/v7)."""

    def __init__(
        self,
        url: str,
        *,
        username: str = "",
        password: str = "",
        ca_location: str = "",
        timeout_s: float = 10.0,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.username and not username:  # credentials in the URL: https://user:pass@host
            username = urllib.parse.unquote(parts.username)
            password = urllib.parse.unquote(parts.password or "")
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        self.url = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        self.timeout_s = timeout_s
        self._headers = {"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE}
        if username:
            token = base64.b64encode(f"{username}:{password}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        self._context = (
            ssl.create_default_context(cafile=ca_location or None) if parts.scheme == "https" else None
        )

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=self._headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s, context=self._context) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                err = json.loads(raw)
                code, message = err.get("error_code"), err.get("message") or raw.decode(errors="replace")
            except (ValueError, AttributeError):
                code, message = None, raw.decode(errors="replace")[:500] or exc.reason
            if exc.code >= 500:
                raise RegistryUnavailable(f"{self.url}: HTTP {exc.code}: {message}") from None
            raise RegistryError(exc.code, code, str(message)) from None
        except (urllib.error.URLError, OSError) as exc:  # refused, DNS, TLS, timeout
            reason = getattr(exc, "reason", exc)
            raise RegistryUnavailable(f"{self.url}: {reason}") from None

    @staticmethod
    def _subject(subject: str) -> str:
        return urllib.parse.quote(subject, safe="")

    # `normalize=true` compares schemas, not their text: without it Apicurio finds no match for a
    # schema registered pretty-printed (as `caliper-processor schema` prints it), and registering
    # it again in compact form adds a second, identical version. Confluent's registry takes it too.
    def register(self, subject: str, schema: str) -> int:
        """Register (or find the identical) schema under `subject`; its global id."""
        path = f"/subjects/{self._subject(subject)}/versions?normalize=true"
        return int(self._call("POST", path, {"schema": schema})["id"])

    def lookup(self, subject: str, schema: str) -> int:
        """The id of `schema` already registered under `subject` (RegistryError 404 when it is not)."""
        path = f"/subjects/{self._subject(subject)}?normalize=true"
        return int(self._call("POST", path, {"schema": schema})["id"])

    def incompatibilities(self, subject: str, schema: str) -> list[str]:
        """Why `schema` is incompatible with the latest version of `subject` ([] when it is not)."""
        out = self._call(
            "POST",
            f"/compatibility/subjects/{self._subject(subject)}/versions/latest?verbose=true",
            {"schema": schema},
        )
        if out.get("is_compatible", True):
            return []
        return [str(m) for m in out.get("messages") or []] or ["is_compatible: false"]

    def get_schema(self, schema_id: int) -> str:
        return str(self._call("GET", f"/schemas/ids/{int(schema_id)}")["schema"])
