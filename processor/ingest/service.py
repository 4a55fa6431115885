"""What happens to one delivery, whatever HTTP library carries it: secret, verify, produce, answer.

`Ingest.deliver` returns the status and JSON body to answer with and counts the outcome. 2xx
means Kafka acknowledged the record; every other answer is one Canvas retries (it retries
anything but a 2xx), so a refusal loses nothing that a fixed configuration would not recover.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Mapping
from typing import Any

import orjson

from processor.config import Config
from processor.ingest.jwks import KeySet
from processor.ingest.kafka import AsyncProducer, ProduceFailed
from processor.ingest.metrics import IngestMetrics
from processor.ingest.verify import Refusal, Verifier

log = logging.getLogger("processor.ingest")

JSON = "application/json"
LOG_EVERY_S = 10.0


def read_secret(settings: Mapping[str, Any]) -> str:
    """ingest.secret (CALIPER_INGEST_SECRET_FILE reads it from a mounted file, like every secret)."""
    return settings["secret"]


class Ingest:
    def __init__(
        self,
        cfg: Config,
        *,
        metrics: IngestMetrics | None = None,
        producer: AsyncProducer | None = None,
    ) -> None:
        s = cfg.ingest
        self.settings = s
        self.topic = cfg.topics["input"]
        self.metrics = metrics or IngestMetrics()
        self.keys = (
            KeySet(
                s["jwks_url"],
                cache_s=s["jwks_cache_s"],
                min_interval_s=s["jwks_refresh_min_interval_s"],
                timeout_s=s["jwks_timeout_s"],
                metrics=self.metrics,
            )
            if s["jwks_url"]
            else None
        )
        self.verifier = Verifier(
            self.keys, require_signature=s["require_signature"], issuer=s["issuer"], leeway_s=s["leeway_s"]
        )
        self.producer = producer or AsyncProducer(
            cfg.producer_config(), self.topic, ack_timeout_s=s["ack_timeout_s"]
        )
        secret = read_secret(s)
        self._secret = secret.encode() if secret else None
        self._secret_header = s["secret_header"]
        self._secret_param = s["secret_param"]
        self._forward = tuple(h.strip().lower() for h in s["forward_headers"].split(",") if h.strip())
        self.max_body_bytes = s["max_body_bytes"]
        self.stopping = False
        self._jwks_task: asyncio.Task | None = None
        self._logged: dict[str, tuple[float, int]] = {}
        self.metrics.queue_depth.set_function(lambda: len(self.producer))
        self.metrics.broker_up.set_function(lambda: 1.0 if self.producer.broker_up else 0.0)

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self.producer.start(asyncio.get_running_loop())
        if self.keys is not None and self.settings["require_signature"]:
            if not await self.keys.refresh():
                # Keep trying in the background; until then signed deliveries get 503 (retried).
                self._jwks_task = asyncio.create_task(self._load_keys())

    async def _load_keys(self) -> None:
        assert self.keys is not None
        while not self.keys.loaded:
            await asyncio.sleep(min(self.keys.min_interval_s, 10.0))
            await self.keys.refresh()

    def close(self, timeout_s: float) -> int:
        if self._jwks_task:
            self._jwks_task.cancel()
        return self.producer.close(timeout_s)

    def healthy(self) -> tuple[bool, str]:
        if not self.producer.alive():
            return False, f"producer failed: {self.producer.fatal or 'poll thread stopped'}"
        return True, "ok"

    def ready(self) -> tuple[bool, str]:
        if self.stopping:
            return False, "shutting down"
        if self.producer.broker_up is False:
            return False, "no Kafka broker reachable"
        if self.settings["require_signature"] and self.keys is not None and not self.keys.loaded:
            return False, f"JWKS not loaded yet: {self.keys.last_error or 'fetching'}"
        return True, "ok"

    # ---- one delivery --------------------------------------------------------------------

    def refuse_too_large(self, started: float, size: int | None) -> tuple[int, bytes]:
        detail = f"body of {size} bytes" if size is not None else "body"
        return self._answer(
            started, 413, "too_large", f"{detail} above ingest.max_body_bytes = {self.max_body_bytes}"
        )

    async def deliver(
        self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str], started: float
    ) -> tuple[int, bytes]:
        """The answer to one POST: (status, JSON body)."""
        if self.stopping:
            return self._answer(started, 503, "shutting_down", "the receiver is shutting down")
        if self._secret is not None:
            given = query.get(self._secret_param) or headers.get(self._secret_header) or ""
            if not hmac.compare_digest(given.encode(), self._secret):
                return self._answer(started, 401, "wrong_secret", "missing or wrong shared secret")
        if len(body) > self.max_body_bytes:
            return self.refuse_too_large(started, len(body))
        try:
            event = await self.verifier.event(body)
        except Refusal as r:
            return self._answer(started, r.status, r.reason, r.detail)
        kafka_headers = [(name, headers[name].encode()) for name in self._forward if name in headers]
        kafka_headers.append(("caliper.ingest.signed", b"true" if event.signed else b"false"))
        if event.kid:
            kafka_headers.append(("caliper.ingest.kid", event.kid.encode()))
        try:
            msg = await self.producer.send(event.value, event.key, kafka_headers)
        except ProduceFailed as exc:
            return self._answer(started, 503, exc.reason, str(exc))
        self.metrics.answered(200, "accepted", time.perf_counter() - started)
        return 200, orjson.dumps({"status": "accepted", "partition": msg.partition(), "offset": msg.offset()})

    def _answer(self, started: float, status: int, reason: str, detail: str) -> tuple[int, bytes]:
        now = time.perf_counter()
        self.metrics.answered(status, reason, now - started)
        # One line per reason per LOG_EVERY_S (a flood of forged tokens must not flood the logs too);
        # the metrics count every one.
        last, quiet = self._logged.get(reason, (-LOG_EVERY_S, 0))
        if now - last >= LOG_EVERY_S:
            self._logged[reason] = (now, 0)
            level = logging.WARNING if status >= 500 else logging.INFO
            fields = {"status": status, "reason": reason, "detail": detail, "same_reason_not_logged": quiet}
            log.log(level, "delivery refused", extra={"fields": fields})
        else:
            self._logged[reason] = (last, quiet + 1)
        return status, orjson.dumps({"error": reason, "detail": detail})
