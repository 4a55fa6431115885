"""The receiver's Prometheus metrics (a registry of its own, like the worker's).

Every answer to a delivery is counted once in `caliper_ingest_requests_total` by status code and
reason; the label sets are fixed here (no request data becomes a label), and created up front so
dashboards and alerts see zeros rather than gaps.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

# (status, reason) of every answer the receiver gives to a delivery.
OUTCOMES: tuple[tuple[int, str], ...] = (
    (200, "accepted"),
    (400, "not_event"),
    (401, "unsigned"),
    (401, "bad_algorithm"),
    (401, "unknown_kid"),
    (401, "bad_signature"),
    (401, "expired"),
    (401, "not_yet_valid"),
    (401, "wrong_issuer"),
    (401, "wrong_secret"),
    (413, "too_large"),
    (503, "kafka_unavailable"),
    (503, "ack_timeout"),
    (503, "queue_full"),
    (503, "kafka_error"),
    (503, "jwks_unavailable"),
    (503, "shutting_down"),
    (500, "internal"),
)
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15)


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.requests = Counter(
            "caliper_ingest_requests",
            "Deliveries answered, by HTTP status code and reason",
            ["code", "reason"],
            registry=r,
        )
        self.duration = Histogram(
            "caliper_ingest_request_duration_seconds",
            "Time from a delivery's arrival to its answer (includes the Kafka acknowledgement)",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "caliper_ingest_in_flight_requests", "Deliveries received and not yet answered", registry=r
        )
        self.jwks_fetches = Counter(
            "caliper_ingest_jwks_fetches", "JWKS fetches, by result (ok, error)", ["result"], registry=r
        )
        self.jwks_keys = Gauge("caliper_ingest_jwks_keys", "RS256 keys in the cached JWKS", registry=r)
        self.broker_up = Gauge(
            "caliper_ingest_broker_up", "1 while a Kafka broker is reachable (librdkafka's view)", registry=r
        )
        self.queue_depth = Gauge(
            "caliper_ingest_producer_queue_depth", "Records produced and not yet acknowledged", registry=r
        )
        self._counters = {}
        for code, reason in OUTCOMES:
            self._counters[(code, reason)] = self.requests.labels(str(code), reason)
        for result in ("ok", "error"):
            self.jwks_fetches.labels(result)

    def answered(self, code: int, reason: str, seconds: float) -> None:
        counter = self._counters.get((code, reason))
        if counter is None:  # an outcome not in the table: still bounded (code x known reasons)
            counter = self._counters[(code, reason)] = self.requests.labels(str(code), reason)
        counter.inc()
        self.duration.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
