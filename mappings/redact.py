"""The value-level operations of the privacy policy: keyed hash, IP truncation, URL cleaning.

Each is a pure function of a string (and the key), so the policy in `mappings.privacy` only has to
decide where to apply them. They never raise on odd input: a value that cannot be truncated or
parsed is reported as None, and the policy drops it (a field it cannot make safe does not pass).
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import unquote_plus

# Query parameters that carry credentials, cut from every URL by every policy (lower case; matched
# case-insensitively after percent-decoding the name). `verifier` is Canvas's file-access token;
# the X-Amz-* names are the signature of the pre-signed S3 URLs Canvas redirects file downloads to.
CREDENTIAL_PARAMS = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "token",
        "auth_token",
        "id_token",
        "refresh_token",
        "session_token",
        "password",
        "passwd",
        "signature",
        "sig",
        "secret",
        "client_secret",
        "verifier",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
    }
)

# A cheap first look at a query string (lowered): only one that holds one of these words, which
# every credential name contains, or a percent-escape, is split and decoded. Substring tests run
# in C; a case-insensitive regex alternation took 10 us on a 200-character query.
CREDENTIAL_NEEDLES = ("token", "key", "pass", "sig", "secret", "verifier", "amz", "%")


def needles_for(names: frozenset[str]) -> tuple[str, ...]:
    """The first-look words for a set of names: the defaults when they cover it, else every name."""
    if names <= CREDENTIAL_PARAMS:
        return CREDENTIAL_NEEDLES
    return (*CREDENTIAL_NEEDLES, *sorted(names - CREDENTIAL_PARAMS))


class Hasher:
    """HMAC-SHA256 of a value under the deployment's key, as 64 hex digits.

    The same key gives the same output on every worker and after every restart, so analytics can
    still join on a hashed id; without the key the hash cannot be reversed by trying the (small)
    space of Canvas ids. The HMAC's inner and outer pads are hashed once and copied per value (a
    third less than `hmac.new(...).copy()`), and results are remembered: a user's id is hashed once
    for all the places of an event, and once per cache generation for all their events.
    """

    __slots__ = ("_cache", "_inner", "_max", "_outer")

    def __init__(self, key: bytes, *, cache_size: int = 100_000) -> None:
        if not key:
            raise ValueError("empty key")
        if len(key) > 64:  # RFC 2104: a key longer than the block is hashed first
            key = hashlib.sha256(key).digest()
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
        self._cache: dict[str, str] = {}
        self._max = cache_size

    def __call__(self, value: str) -> str:
        cached = self._cache.get(value)
        if cached is not None:
            return cached
        inner = self._inner.copy()
        inner.update(value.encode("utf-8", "surrogatepass"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        digest = outer.hexdigest()
        if len(self._cache) >= self._max:
            self._cache.clear()  # a new generation: cheaper than an LRU, and as good for ids
        self._cache[value] = digest
        return digest


def keyed_hash(key: bytes, value: str) -> str:
    """The hash the policy writes, for checking it elsewhere (`openssl dgst -sha256 -hmac KEY`)."""
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def truncate_ip(value: str) -> str | None:
    """IPv4 to its /24 (`198.51.100.23` -> `198.51.100.0`), IPv6 to its /48; None if not an address."""
    parts = value.split(".")
    if len(parts) == 4:
        a, b, c, d = parts
        if value.isascii() and _octet(a) and _octet(b) and _octet(c) and _octet(d):
            return f"{a}.{b}.{c}.0"
        return None
    if ":" in value:
        import ipaddress

        try:
            net = ipaddress.IPv6Network(f"{value.split('%', 1)[0]}/48", strict=False)
        except ValueError:
            return None
        return str(net.network_address)
    return None


def _octet(part: str) -> bool:
    """0-255 in decimal, without a leading zero (which some readers take for octal)."""
    return part.isdigit() and (part[0] != "0" or len(part) == 1) and int(part) < 256


def clean_url(
    url: str,
    *,
    remove: frozenset[str] = CREDENTIAL_PARAMS,
    strip_query: bool = False,
    needles: tuple[str, ...] = CREDENTIAL_NEEDLES,
) -> str:
    """`url` without the query parameters named in `remove` (or without any query with `strip_query`).

    Everything else is kept byte for byte (order, encoding, separators), so a URL without such a
    parameter comes back unchanged. The fragment is dropped along with a stripped query; when only
    some parameters go, it is kept.
    """
    q = url.find("?")
    if q < 0:
        return url
    if strip_query:
        return url[:q]
    end = url.find("#", q)
    query = url[q + 1 :] if end < 0 else url[q + 1 : end]
    if not query:
        return url
    lowered = query.lower()
    for needle in needles:
        if needle in lowered:
            break
    else:
        return url
    kept = []
    changed = False
    for part in query.split("&"):
        name = part.split("=", 1)[0]
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if name.lower() in remove:
            changed = True
        else:
            kept.append(part)
    if not changed:
        return url
    fragment = "" if end < 0 else url[end:]
    return url[:q] + ("?" + "&".join(kept) if kept else "") + fragment


def looks_like_url(value: str) -> bool:
    """Worth cleaning: an absolute http(s) URL or a relative one with a query."""
    return "?" in value and (value.startswith(("https://", "http://", "/")) or "://" in value[:16])
