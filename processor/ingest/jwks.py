"""Instructure's signing keys: a JWKS fetched once, cached, and refreshed when it must be.

Canvas signs with one of three keys (previous, current, next) that rotate monthly, so a token with
an unknown `kid` usually means the set moved on: fetch it again. But a flood of forged tokens with
made-up kids must not become a flood of requests to the JWKS host, so a refresh triggered by an
unknown kid happens at most once per `min_interval_s`, and concurrent requests share one fetch.
A refresh replaces the whole set, which is how a retired key stops being accepted.
"""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.request
from typing import Any

import orjson
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

log = logging.getLogger(__name__)

ALGORITHM = "RS256"  # the only algorithm Canvas uses; never taken from a token


class JwksUnavailable(Exception):
    """No key set could be fetched (the JWKS host is down or answers garbage)."""


def parse_jwks(data: bytes) -> dict[str, Any]:
    """kid -> RSA public key for the RS256 signing keys of a JWKS document; others are skipped."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise JwksUnavailable(f"JWKS is not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise JwksUnavailable('JWKS has no "keys" list')
    keys: dict[str, Any] = {}
    for jwk in doc["keys"]:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        if (
            jwk.get("kty") != "RSA"
            or jwk.get("use", "sig") != "sig"
            or jwk.get("alg", ALGORITHM) != ALGORITHM
        ):
            continue
        try:
            keys[jwk["kid"]] = RSAKey.import_key(jwk)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            log.warning("JWKS key skipped", extra={"fields": {"kid": jwk["kid"], "error": str(exc)}})
    return keys


class KeySet:
    """The cached keys; `await key(kid)` returns the key, or None when the kid is unknown."""

    def __init__(
        self,
        url: str,
        *,
        cache_s: float = 3600.0,
        min_interval_s: float = 30.0,
        timeout_s: float = 5.0,
        metrics: Any = None,
    ) -> None:
        self.url = url
        self.cache_s = cache_s
        self.min_interval_s = min_interval_s
        self.timeout_s = timeout_s
        self.metrics = metrics
        self.keys: dict[str, Any] = {}
        self.fetched_at = 0.0  # monotonic time of the last successful fetch (0: never)
        self.attempted_at = -float("inf")  # monotonic time of the last fetch attempt
        self.last_error: str | None = None
        self._lock = asyncio.Lock()
        self._background: asyncio.Task | None = None

    @property
    def loaded(self) -> bool:
        return bool(self.fetched_at)

    def _fetch(self) -> bytes:
        req = urllib.request.Request(self.url, headers={"Accept": "application/json"})
        with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
            return resp.read(1_000_000)

    async def refresh(self) -> bool:
        """Fetch the set now (one fetch at a time); False when it failed (the old keys stay)."""
        async with self._lock:
            self.attempted_at = time.monotonic()
            try:
                data = await asyncio.to_thread(self._fetch)
                keys = parse_jwks(data)
                if not keys:
                    raise JwksUnavailable("JWKS holds no RS256 signing key")
            except Exception as exc:  # network, HTTP status, JSON: all mean "no usable set now"
                self.last_error = f"{type(exc).__name__}: {exc}"
                if self.metrics:
                    self.metrics.jwks_fetches.labels("error").inc()
                log.warning(
                    "JWKS fetch failed", extra={"fields": {"url": self.url, "error": self.last_error}}
                )
                return False
            added = sorted(set(keys) - set(self.keys))
            retired = sorted(set(self.keys) - set(keys))
            self.keys = keys
            self.fetched_at = time.monotonic()
            self.last_error = None
            if self.metrics:
                self.metrics.jwks_fetches.labels("ok").inc()
                self.metrics.jwks_keys.set(len(keys))
            if added or retired:
                log.info(
                    "JWKS loaded",
                    extra={
                        "fields": {"url": self.url, "kids": sorted(keys), "added": added, "retired": retired}
                    },
                )
            return True

    async def key(self, kid: str) -> Any:
        """The key of `kid`; refreshes (rate-limited) when it is unknown. JwksUnavailable when no
        set could ever be fetched, or the refresh this unknown kid triggered failed."""
        now = time.monotonic()
        if self.fetched_at and now - self.fetched_at > self.cache_s and not self._refreshing():
            # Stale: refresh in the background; the cached set keeps answering meanwhile.
            self.attempted_at = now
            self._background = asyncio.create_task(self.refresh())
        found = self.keys.get(kid)
        if found is not None:
            return found
        if self._lock.locked():  # a fetch is under way: wait for it rather than start another
            async with self._lock:
                pass
            found = self.keys.get(kid)
            if found is not None or self.loaded:
                return found
        if now - self.attempted_at < self.min_interval_s:
            if not self.loaded:
                raise JwksUnavailable(self.last_error or "JWKS not fetched yet")
            return None
        ok = await self.refresh()
        if not ok:
            raise JwksUnavailable(self.last_error or "JWKS fetch failed")
        return self.keys.get(kid)

    def _refreshing(self) -> bool:
        return self._background is not None and not self._background.done()
