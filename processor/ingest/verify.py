"""One delivery's body -> the record to produce (value, key), or a Refusal naming the reason.

Unsigned, the body is the Canvas event JSON and is produced byte for byte. Signed ("Sign Payload"),
it is a compact JWS whose claims are the event: the signature is checked with RS256 only (the
algorithm is ours, never the token's, so `alg: none` and HS256-with-the-public-key tricks fail),
and the JWT's own registered claims (iss, exp, iat, ...) are dropped from the produced value, so
the record is the event alone and a redelivery signed at another time yields the same bytes, hence
the same deterministic Caliper id downstream.

The key is the one the worker gives the event's envelope (the Person actor's id, else the course
or group id): the event is mapped here for nothing else, so one learner's events share a partition
from the input topic on.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any

import orjson
from joserfc import jws
from joserfc.errors import BadSignatureError, ClaimError, ExpiredTokenError, JoseError
from joserfc.jwt import JWTClaimsRegistry

from mappings.decode import loads
from mappings.errors import MappingError, UnmappedEventError
from mappings.transform import Transformer
from processor.ingest.jwks import ALGORITHM, JwksUnavailable, KeySet
from processor.routing import routing_key

# RFC 7519's registered claims: the token's envelope, not the event.
REGISTERED_CLAIMS = ("iss", "sub", "aud", "exp", "nbf", "iat", "jti")


@dataclass(slots=True)
class Refusal(Exception):
    """An answer other than 2xx: status, a bounded reason (a metric label) and a detail for the log."""

    status: int
    reason: str
    detail: str


@dataclass(slots=True)
class Event:
    value: bytes
    key: bytes | None
    signed: bool
    kid: str | None = None
    issuer: str | None = None


class Verifier:
    """Turns bodies into Events; `keys` is None when no JWKS is configured (unsigned only)."""

    def __init__(
        self,
        keys: KeySet | None,
        *,
        require_signature: bool = True,
        issuer: str = "",
        leeway_s: float = 60.0,
        transformer: Transformer | None = None,
    ) -> None:
        self.keys = keys
        self.require_signature = require_signature
        self.issuer = issuer or None
        self._transform = (transformer or Transformer()).transform
        # exp and nbf are checked when present (Canvas's claims are not documented, so none is
        # required), with leeway_s of clock skew either way; iss only when ingest.issuer is set.
        options: dict[str, Any] = {"iss": {"essential": True, "value": issuer}} if issuer else {}
        self._claims = JWTClaimsRegistry(now=lambda: int(time.time()), leeway=int(leeway_s), **options)

    async def event(self, body: bytes) -> Event:
        stripped = body.lstrip()
        if stripped[:1] in (b"{", b"["):
            if self.require_signature:
                raise Refusal(
                    401,
                    "unsigned",
                    "a signature is required (ingest.require_signature) and the body is plain JSON",
                )
            return Event(body, self._key(body), signed=False)
        if not stripped:
            raise Refusal(400, "not_event", "empty body")
        claims, kid = await self._verify(stripped.strip())
        issuer = claims.get("iss")
        for name in REGISTERED_CLAIMS:
            claims.pop(name, None)
        value = orjson.dumps(claims)
        return Event(
            value, self._key(value), signed=True, kid=kid, issuer=issuer if isinstance(issuer, str) else None
        )

    async def _verify(self, token: bytes) -> tuple[dict[str, Any], str]:
        header = _header(token)
        alg = header.get("alg")
        if alg != ALGORITHM:
            raise Refusal(401, "bad_algorithm", f"token alg {alg!r}; only {ALGORITHM} is accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Refusal(401, "unknown_kid", "token has no kid")
        if self.keys is None:
            raise Refusal(401, "unknown_kid", "signed token, but no JWKS is configured")
        try:
            key = await self.keys.key(kid)
        except JwksUnavailable as exc:
            raise Refusal(
                503, "jwks_unavailable", f"cannot fetch the JWKS to verify kid {kid!r}: {exc}"
            ) from None
        if key is None:
            raise Refusal(401, "unknown_kid", f"kid {kid!r} is not in the JWKS (after refresh)")
        try:
            # algorithms: ours, never the token's; a JWS whose alg differs fails here as well.
            payload = jws.deserialize_compact(token, key, algorithms=[ALGORITHM]).payload
        except BadSignatureError:
            raise Refusal(401, "bad_signature", "signature does not verify") from None
        except JoseError as exc:
            raise Refusal(401, "bad_signature", f"token rejected: {exc}") from None
        try:  # mappings.decode: orjson's reading, less what it would change silently
            claims = loads(payload, "signed payload")
        except MappingError as exc:
            raise Refusal(400, "not_event", exc.reason) from None
        if type(claims) is not dict:
            raise Refusal(400, "not_event", "signed payload is not a JSON object")
        try:
            self._claims.validate(claims)
        except ExpiredTokenError:
            raise Refusal(401, "expired", "token expired (exp, beyond the clock-skew allowance)") from None
        except ClaimError as exc:
            claim = getattr(exc, "claim", "")
            if claim == "iss":
                raise Refusal(401, "wrong_issuer", f"iss is not {self.issuer!r}") from None
            if claim == "nbf":
                raise Refusal(401, "not_yet_valid", "token not valid yet (nbf in the future)") from None
            raise Refusal(401, "bad_signature", f"token claims rejected: {exc}") from None
        return claims, kid

    def _key(self, value: bytes) -> bytes | None:
        """The worker's key for this event; 400 for what the worker could never read as an event."""
        try:
            out = self._transform(value)
        except UnmappedEventError:
            return None  # a well-formed event without a mapping: the worker copies it to unmapped
        except MappingError as exc:
            if exc.stage in ("decode", "unwrap"):
                raise Refusal(
                    400, "not_event", f"not a Canvas live event ({exc.stage}): {exc.reason}"
                ) from None
            return None  # the worker dead-letters it with the reason; keep it
        return routing_key(out.event)


def _header(token: bytes) -> dict[str, Any]:
    """The JWS header, only to pick the key: PyJWT parses and checks the whole token again when it
    verifies it (jwt.get_unverified_header decodes the payload too, which cost 40 us a delivery)."""
    head, dot, _rest = token.partition(b".")
    if not dot or _rest.count(b".") != 1:
        raise Refusal(400, "not_event", "body is neither JSON nor a compact JWS (header.payload.signature)")
    try:
        header = orjson.loads(base64.urlsafe_b64decode(head + b"=" * (-len(head) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise Refusal(400, "not_event", "JWS header is not base64url JSON") from None
    if type(header) is not dict:
        raise Refusal(400, "not_event", "JWS header is not a JSON object")
    return header
